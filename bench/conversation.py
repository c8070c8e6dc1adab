"""Long conversations: per-turn cost from turn 1 to 300, client-sent history against stored conversations."""

from __future__ import annotations

import asyncio
import json
import time

from . import load, peers

WINDOW = 5  # turns either side of 10 and 300 are medians over this many turns
WORDS = ("grid", "margin", "type", "colour", "contrast", "hierarchy", "focal", "balance", "headline", "whitespace")


def message(turn: int) -> str:
    """A user message of about 400 characters, different every turn."""
    words = " ".join(WORDS[(turn + i) % len(WORDS)] for i in range(40))
    return f"Turn {turn}: how should I adjust the {words}?"[:400]


async def _turn(connection: load.Connection, port: int, body: dict, headers: dict, upstream_port: int) -> dict:
    """One /chat turn: its latency, bytes each way, and what reached the model."""
    raw = load.request_bytes("/chat", body, port, headers)
    started = time.perf_counter()
    status, response = await connection.request(raw)
    latency = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"/chat answered {status}: {response[:300]!r}")
    answer = json.loads(response)
    seen = await load.get_json(upstream_port, "/stats")
    return {"ms": latency * 1000, "sent_bytes": len(raw), "received_bytes": len(response),
            "messages_to_model": seen["last_messages"], "truncated_turns": answer.get("truncated_turns", 0),
            "answer": answer}


WAYS = {  # name: how each turn's request continues the conversation
    "client history": "the spec's way: the client sends conversation_history and gets it back",
    "stored conversation": "conversation_id with include_history false: only the new turn comes back",
    "stored, full history back": "conversation_id: the whole stored history comes back every turn",
}


async def _both(posterchat: peers.Posterchat, upstream_port: int, turns: int) -> dict[str, list[dict]]:
    """Every way, turn by turn, rotating which goes first."""
    port, headers = posterchat.port, posterchat.headers
    connections = {way: await load.Connection(port).open() for way in WAYS}
    history: list[dict] = []
    conversations: dict[str, str | None] = dict.fromkeys(WAYS)
    out: dict[str, list[dict]] = {way: [] for way in WAYS}
    names = list(WAYS)
    try:
        for turn in range(1, turns + 1):
            text = message(turn)
            for way in names[turn % 3:] + names[:turn % 3]:
                body = {"message": text, "model": peers.MODEL}
                if way == "client history":
                    body["conversation_history"] = history
                elif conversations[way]:
                    body["conversation_id"] = conversations[way]
                if way == "stored conversation":
                    body["include_history"] = False
                result = await _turn(connections[way], port, body, headers, upstream_port)
                if way == "client history":
                    history = result["answer"]["conversation_history"]
                conversations[way] = result["answer"]["conversation_id"]
                del result["answer"]
                out[way].append(result)
    finally:
        for connection in connections.values():
            connection.close()
    return out


def run(reps: int, turns: int, log=print) -> dict:
    """`reps` fresh conversations of `turns` turns each way."""
    runs: list[dict[str, list[dict]]] = []
    with peers.upstream("fast", {peers.CLIENT_CPU}) as upstream, \
            peers.Posterchat(upstream.port, {peers.SERVER_CPU}) as posterchat:
        load.pin({peers.CLIENT_CPU})
        try:
            for rep in range(reps):
                runs.append(asyncio.run(_both(posterchat, upstream.port, turns)))
                last = {way: results[-1] for way, results in runs[-1].items()}
                log(f"  conversation rep {rep + 1}: turn {turns} " + "; ".join(
                    f"{way} {r['ms']:.1f} ms {r['sent_bytes']} B sent, {r['messages_to_model']} messages to the "
                    f"model, {r['truncated_turns']} turns trimmed" for way, r in last.items()))
        finally:
            load.pin(None)
    return {"runs": runs, "reps": reps, "turns": turns, "summary": summarize(runs, turns)}


def per_turn(runs: list[dict], way: str, key: str) -> list[float]:
    """The median over repetitions of `key` at every turn."""
    turns = len(runs[0][way])
    return [load.summary([run[way][t][key] for run in runs])["median"] for t in range(turns)]


def around(values: list[float], turn: int) -> float:
    """Median of the values in a window of turns ending at `turn` (1-based), or centred on it where possible."""
    end = min(len(values), turn + WINDOW // 2)
    start = max(0, end - WINDOW)
    return load.summary(values[start:end])["median"]


def summarize(runs: list[dict], turns: int) -> dict:
    out = {}
    for way in runs[0]:
        ms, sent = per_turn(runs, way, "ms"), per_turn(runs, way, "sent_bytes")
        late = turns
        out[way] = {"late_turn": late, "turn10_ms": around(ms, 10), "late_ms": around(ms, late),
                    "time_ratio": around(ms, late) / around(ms, 10),
                    "turn10_bytes": sent[9], "late_bytes": sent[late - 1], "bytes_ratio": sent[late - 1] / sent[9],
                    "messages_to_model_last": per_turn(runs, way, "messages_to_model")[-1],
                    "truncated_turns_last": per_turn(runs, way, "truncated_turns")[-1],
                    "first_trimmed_turn": next((i + 1 for i, v in enumerate(per_turn(runs, way, "truncated_turns"))
                                                if v), None)}
    return out
