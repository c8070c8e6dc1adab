"""`python -m bench.engines [--quick]`: the embedded engine (xllamacpp) against llama-cpp-python, in one run.

Three ways to run the same GGUF with the same threads and context per chat: posterchat's EmbeddedProvider
(xllamacpp, in-process), llama-cpp-python in-process (one chat at a time, as the provider it replaces ran it) and
llama-cpp-python's own server over HTTP. Each in-process engine lives in a worker process of its own, so memory and
threads are its own; measurements rotate between the three every repetition, so load from elsewhere hits all alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.support.engine import decoded

from . import embedded, formats, load, peers

N_CTX = 2048  # per chat
MAX_TOKENS = 200
PARALLEL = (1, 2, 4, 8)
TOKENS_BEFORE_STOP = 5
SINGLES_PER_REP = 2
STOP_MAX_TOKENS = 400  # what a chat closed after TOKENS_BEFORE_STOP would have gone on to generate
PROMPTS = [embedded.PROMPT, "Write a long story about a designer who makes a festival poster.",
           "Explain, step by step and at length, how to choose fonts for a poster.",
           "Write a detailed essay on colour theory for poster design.",
           "List twenty poster ideas for a science fair, with a sentence on each.",
           "Tell me the history of poster art, decade by decade.",
           "Explain grid layouts for posters in detail, with examples.",
           "Describe how to print a large poster at home, covering paper, ink and settings."]
WAYS = ("xllamacpp in-process", "llama-cpp-python in-process", "llama-cpp-python server")
# A designer coming back to a conversation after others have used the engine: CONVERSATIONS long chats, one after
# another (more than the slots), then the first one's next turn. Its prompt starts with all of the first chat's.
CONVERSATIONS = 5
RETURN_MAX_TOKENS = 16
NOTES = ("Posters are read from a distance, so the headline must be legible from across the room. A clear hierarchy "
         "leads the eye from the title to the date, the place and the details. Leave generous margins and align text "
         "to a grid. Limit the palette to two or three colours with strong contrast between text and background. "
         ) * 6  # ~500 tokens: a grounded system prompt's reference notes
RESULTS_MD = peers.ROOT / "bench" / "results" / "engines.md"


def body(prompt: str, max_tokens: int = MAX_TOKENS, fresh: str = "") -> dict:
    """A chat; `fresh` goes first in the system prompt, so no engine has any of it cached."""
    return {"model": "local", "messages": [{"role": "system", "content": fresh + embedded.SYSTEM},
                                           {"role": "user", "content": prompt}],
            "temperature": 0, "seed": 0, "max_tokens": max_tokens}


def conversation(run: str, k: int) -> list[dict]:
    """Conversation k's first turn: a long system prompt of its own (`run` makes it new to every engine)."""
    return [{"role": "system", "content": f"{run} Conversation {k}. {embedded.SYSTEM} {NOTES}"},
            {"role": "user", "content": PROMPTS[k % len(PROMPTS)]}]


def returning(run: str) -> list[dict]:
    """The chats of one returning-conversation trial: the first chat's next turn comes last."""
    firsts = [conversation(run, k) for k in range(CONVERSATIONS)]
    again = [*firsts[0], {"role": "assistant", "content": "Here are some ideas."},
             {"role": "user", "content": "Which of them matters most?"}]
    return [{"model": "local", "messages": m, "temperature": 0, "seed": 0, "max_tokens": RETURN_MAX_TOKENS}
            for m in (*firsts, again)]


def generation_threads(threads: int) -> int:
    """Threads for steps of one token, as EmbeddedProvider splits them, so every engine runs alike."""
    return max(1, threads - 1)


def _rate(tokens: list[float], since: float) -> float:
    return len(tokens) / (tokens[-1] - since) if tokens else float("nan")


# Worker side: one engine in this process, measured on request (a JSON line in, a RESULT line out).


class Xllamacpp:
    """posterchat's EmbeddedProvider, driven from an event loop as the server drives it."""

    def __init__(self, threads: int, slots: int):
        from posterchat.providers.embedded import EmbeddedProvider

        self.provider = EmbeddedProvider(Path(peers.gguf_path()), n_ctx=N_CTX, threads=threads, parallel=slots)

    async def _one(self, request: dict) -> load.Stream:
        result = load.Stream(sent=time.perf_counter())
        async for chunk in self.provider.stream(request, timeout=120):
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                result.tokens.append(time.perf_counter())
        return result

    def streams(self, n: int, fresh: str = "") -> list[load.Stream]:
        async def all_at_once():
            return await asyncio.gather(*(self._one(body(PROMPTS[i % len(PROMPTS)], fresh=fresh)) for i in range(n)))
        return asyncio.run(all_at_once())

    def sequence(self, bodies: list[dict]) -> list[load.Stream]:
        async def one_by_one():
            return [await self._one(request) for request in bodies]
        return asyncio.run(one_by_one())

    def stop(self) -> dict:
        """Close the stream after a few tokens; the engine has stopped once its decode counter stays put."""
        async def trial() -> float:
            chunks = self.provider.stream(body(PROMPTS[2], STOP_MAX_TOKENS), timeout=120)
            seen = 0
            async for chunk in chunks:
                seen += bool(chunk["choices"] and chunk["choices"][0]["delta"].get("content"))
                if seen >= TOKENS_BEFORE_STOP:
                    break
            await chunks.aclose()
            return time.perf_counter()
        closed = asyncio.run(trial())
        return _settle(lambda: decoded(self.provider), closed)


class LlamaCppPython:
    """llama-cpp-python's Llama, one chat at a time (it is not thread-safe), as posterchat's old provider ran it."""

    def __init__(self, threads: int, slots: int):
        from llama_cpp import Llama

        self.llama = Llama(model_path=peers.gguf_path(), n_ctx=N_CTX, n_threads=generation_threads(threads),
                           n_threads_batch=threads, verbose=False)
        self.lock = threading.Lock()

    def _one(self, request: dict, out: list, stop: threading.Event | None = None,
             started: threading.Event | None = None) -> None:
        result = load.Stream(sent=time.perf_counter())
        with self.lock:
            for event in self.llama.create_chat_completion(**request, stream=True):
                if event["choices"][0]["delta"].get("content"):
                    result.tokens.append(time.perf_counter())
                if started is not None and len(result.tokens) >= TOKENS_BEFORE_STOP:
                    started.set()
                if stop is not None and stop.is_set():
                    break
        out.append(result)

    def streams(self, n: int, fresh: str = "") -> list[load.Stream]:
        out: list[load.Stream] = []
        threads = [threading.Thread(target=self._one, args=(body(PROMPTS[i % len(PROMPTS)], fresh=fresh), out))
                   for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return out

    def sequence(self, bodies: list[dict]) -> list[load.Stream]:
        out: list[load.Stream] = []
        for request in bodies:
            self._one(request, out)
        return out

    def stop(self) -> dict:
        """Decoding runs on a thread that checks a stop flag after every token, as the old provider's did."""
        out: list[load.Stream] = []
        stop, started = threading.Event(), threading.Event()
        thread = threading.Thread(target=self._one, args=(body(PROMPTS[2], STOP_MAX_TOKENS), out, stop, started))
        thread.start()
        started.wait()
        closed = time.perf_counter()
        stop.set()
        thread.join()
        return {"ms": (time.perf_counter() - closed) * 1000,
                "tokens_after": sum(t > closed for t in out[0].tokens)}


def _settle(counter, closed: float, quiet: float = 0.1) -> dict:
    """Poll `counter` until it has not moved for `quiet` s: when it last moved, relative to `closed`, in ms."""
    value = start_value = counter()
    moved = time.perf_counter()  # if it never moves again, the engine had stopped by the first reading
    while time.perf_counter() - moved < quiet:
        time.sleep(0.001)
        if (now := counter()) != value:
            value, moved = now, time.perf_counter()
    return {"ms": max(0.0, moved - closed) * 1000, "tokens_after": value - start_value}


def worker(way: str, threads: int, slots: int) -> None:
    """Serve measurements for one engine over stdin/stdout."""
    engine = (Xllamacpp if way == WAYS[0] else LlamaCppPython)(threads, slots)
    for line in sys.stdin:
        ask = json.loads(line)
        if ask["op"] == "streams":
            answer = [vars(stream) for stream in engine.streams(ask["n"], ask["fresh"])]
        elif ask["op"] == "sequence":
            answer = [vars(stream) for stream in engine.sequence(ask["bodies"])]
        elif ask["op"] == "stop":
            answer = engine.stop()
        else:
            answer = {"rss_mb": int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024}
        print("RESULT " + json.dumps(answer), flush=True)


# Parent side: the workers, llama-cpp-python's server, the interleaved run and the table.


class Worker:
    """An engine in a child process of its own."""

    def __init__(self, way: str, threads: int, slots: int):
        peers.OUT.mkdir(parents=True, exist_ok=True)
        self.log = open(peers.OUT / f"engines-{way.split()[0]}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.engines", "--worker", way, "--threads", str(threads), "--slots", str(slots)],
            cwd=peers.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)

    def ask(self, op: str, **args):
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        while line := self.process.stdout.readline():
            if line.startswith("RESULT "):
                return json.loads(line[7:])
        raise RuntimeError(f"engine worker exited with {self.process.wait()}; see {self.log.name}")

    def streams(self, n: int, fresh: str = "") -> list[load.Stream]:
        return [load.Stream(**stream) for stream in self.ask("streams", n=n, fresh=fresh)]

    def sequence(self, bodies: list[dict]) -> list[load.Stream]:
        return [load.Stream(**stream) for stream in self.ask("sequence", bodies=bodies)]

    def stop(self) -> dict:
        return self.ask("stop")

    def rss_mb(self) -> float:
        return self.ask("rss")["rss_mb"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)
        self.log.close()


class Server:
    """llama-cpp-python's own server, streaming over HTTP (`--interrupt_requests False`: else a second chat
    cancels the first)."""

    def __init__(self, threads: int):
        self.peer = peers.llama_server(N_CTX, generation_threads(threads))
        self.peer.argv += ["--interrupt_requests", "False", "--n_threads_batch", str(threads)]
        self.peer.start()

    def streams(self, n: int, fresh: str = "") -> list[load.Stream]:
        async def all_at_once():
            return await asyncio.gather(*(embedded._stream_http(
                self.peer.port, "/v1/chat/completions", {**body(PROMPTS[i % len(PROMPTS)], fresh=fresh),
                                                         "stream": True}, {}) for i in range(n)))
        return asyncio.run(all_at_once())

    def sequence(self, bodies: list[dict]) -> list[load.Stream]:
        async def one_by_one():
            return [await embedded._stream_http(self.peer.port, "/v1/chat/completions", {**request, "stream": True},
                                                {}) for request in bodies]
        return asyncio.run(one_by_one())

    def stop(self) -> dict:
        """Hang up after a few tokens; the server has stopped once its CPU time (all threads) stays put."""
        request = {**body(PROMPTS[2], STOP_MAX_TOKENS), "stream": True}
        raw = load.request_bytes("/v1/chat/completions", request, self.peer.port)
        asyncio.run(load.stream_once(self.peer.port, raw, b'"content": "', b"[DONE]", stop_after=TOKENS_BEFORE_STOP))
        return {**_settle(lambda: _cpu_ns(self.peer.process.pid), time.perf_counter()), "tokens_after": None}

    def rss_mb(self) -> float:
        return self.peer.rss() / 2**20

    def close(self) -> None:
        self.peer.stop()


def _cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid`, in ns (schedstat: finer than the 10 ms of cpu_times)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            pass
    return total


def measure(engines: dict, reps: int, trials: int, log=print) -> dict:
    """Every measurement rotating through the engines; one warm-up chat each first."""
    runs = {name: {"single": [], "ttft_new": [], "ttft_again": [], "ttft_return": [],
                   "parallel": {n: [] for n in PARALLEL}, "stop": []} for name in engines}
    names = list(engines)
    for engine in engines.values():
        engine.streams(1)
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for single in range(SINGLES_PER_REP):
            for name in order:  # a prompt no engine has seen, then the same again (its prefix cached)
                new, again = (embedded.describe(engines[name].streams(1, f"Chat {rep}.{single}. ")[0]) for _ in "12")
                runs[name]["single"] += [new, again]
                runs[name]["ttft_new"].append(new["ttft_ms"])
                runs[name]["ttft_again"].append(again["ttft_ms"])
                log(f"  rep {rep + 1} {name:28s} one chat: {new['tokens_per_s']:6.1f}, {again['tokens_per_s']:6.1f} "
                    f"tok/s, TTFT {new['ttft_ms']:6.1f} ms new, {again['ttft_ms']:6.1f} ms again")
        for name in order:
            back = embedded.describe(engines[name].sequence(returning(f"Run {rep}."))[-1])
            runs[name]["ttft_return"].append(back["ttft_ms"])
            log(f"  rep {rep + 1} {name:28s} back to the first of {CONVERSATIONS} conversations: "
                f"TTFT {back['ttft_ms']:6.1f} ms")
        for n in PARALLEL:
            for name in order:
                streams = engines[name].streams(n)
                started = min(s.sent for s in streams)
                rate = _rate(sorted(t for s in streams for t in s.tokens), started)
                runs[name]["parallel"][n].append(rate)
                log(f"  rep {rep + 1} {name:28s} {n} chats: {rate:6.1f} tok/s in all "
                    f"({sum(len(s.tokens) for s in streams)} tokens)")
    for trial in range(trials):
        for name in names:
            runs[name]["stop"].append(engines[name].stop())
            log(f"  stop {trial + 1} {name:28s}: {runs[name]['stop'][-1]['ms']:6.1f} ms")
    return runs


def summarize(runs: dict, rss: dict) -> dict:
    out = {}
    for name, r in runs.items():
        out[name] = {"tokens_per_s": load.summary([x["tokens_per_s"] for x in r["single"]]),
                     "ttft_new_ms": load.summary(r["ttft_new"]), "ttft_again_ms": load.summary(r["ttft_again"]),
                     "ttft_return_ms": load.summary(r["ttft_return"]),
                     "parallel": {n: load.summary(v) for n, v in r["parallel"].items()},
                     "stop_ms": load.summary([x["ms"] for x in r["stop"]]), "rss_mb": rss[name]}
    out[WAYS[0]]["paired"] = paired(runs)
    return out


def paired(runs: dict) -> dict:
    """xllamacpp against its peers chat by chat: each chat was measured right after or before the same chat on the
    peer, so a change in the machine's speed during the run (up to 3× here) touches both sides of each pair alike."""
    new, old, server = (runs[name] for name in WAYS)
    speed = [a["tokens_per_s"] / b["tokens_per_s"] for a, b in zip(new["single"], old["single"], strict=True)]
    behind = {kind: [a - b for a, b in zip(new[f"ttft_{kind}"], server[f"ttft_{kind}"], strict=True)]
              for kind in ("new", "again", "return")}
    return {"tokens_per_s_ratio": load.summary(speed),
            **{f"ttft_{kind}_behind_ms": load.summary(diffs) for kind, diffs in behind.items()}}


def targets(s: dict) -> list[tuple[str, str, bool]]:
    new, paired = s[WAYS[0]], s[WAYS[0]]["paired"]
    scale = new["parallel"][4]["median"] / new["parallel"][1]["median"]
    ratio = paired["tokens_per_s_ratio"]["median"]
    behind = {kind: paired[f"ttft_{kind}_behind_ms"]["median"] for kind in ("new", "again")}
    return [("4 parallel chats ≥ 1.5× the tokens/s of one chat", f"{scale:.2f}×", scale >= 1.5),
            ("one chat ≥ 0.95× llama-cpp-python's tokens/s (in-process), chat by chat", f"{ratio:.2f}×",
             ratio >= 0.95),
            ("time to first token ≤ 3 ms behind llama-cpp-python's server, new prompt", f"{behind['new']:+.1f} ms",
             behind["new"] <= 3),
            ("… and the same prompt again", f"{behind['again']:+.1f} ms", behind["again"] <= 3),
            ("stop within 100 ms", f"max {new['stop_ms']['max']:.1f} ms", new["stop_ms"]["max"] <= 100)]


def table(s: dict, meta: dict) -> str:
    """The markdown formats."""
    head = " | ".join(f"{n} chat{'s' if n > 1 else ''}" for n in PARALLEL)
    lines = [f"# Embedded engines ({meta['started']})", "",
             f"`python -m bench.engines {meta['argv']}`: {meta['machine']['nproc']} cores ({meta['machine']['cpu']}), "
             f"load average before {meta['load_before'][0]:.2f}, after {meta['load_after'][0]:.2f}; "
             f"{meta['threads']} threads ({generation_threads(meta['threads'])} for steps of one token), "
             f"{N_CTX} tokens of context per chat, {meta['slots']} slots (xllamacpp), "
             f"temperature 0, up to {MAX_TOKENS} tokens per answer; medians (min–max) of {meta['reps']} "
             f"repetitions ({2 * SINGLES_PER_REP} single chats each), stop: {meta['trials']} trials. "
             f"{meta['versions']}. *Back to a chat*: {CONVERSATIONS} chats with a ~500-token system prompt each, one "
             "after another, then the first chat's next turn: its time to first token.", "",
             f"| engine | one chat: tok/s | TTFT ms, new prompt | TTFT ms, same again | TTFT ms, back to a chat "
             f"| {head} (tok/s in all) | 4 vs 1 | RSS MB | stop ms |",
             "| --- | --- | --- | --- | --- | " + "--- | " * len(PARALLEL) + "--- | --- | --- |"]
    for name, r in s.items():
        scale = r["parallel"][4]["median"] / r["parallel"][1]["median"]
        cells = " | ".join(formats.spread(r["parallel"][n]) for n in PARALLEL)
        lines.append(f"| {name} | {formats.spread(r['tokens_per_s'])} | {formats.spread(r['ttft_new_ms'])} | "
                     f"{formats.spread(r['ttft_again_ms'])} | {formats.spread(r['ttft_return_ms'])} | {cells} | "
                     f"{scale:.2f}× | {formats.fmt(r['rss_mb'], 0)} | {formats.spread(r['stop_ms'])} |")
    paired = s[WAYS[0]]["paired"]
    lines += ["", "Chat by chat (each measured next to the same chat on the peer; median, min–max): xllamacpp's "
              f"tokens/s over llama-cpp-python's in-process {formats.spread(paired['tokens_per_s_ratio'], 2)}×; "
              "time to first token behind llama-cpp-python's server: new prompt "
              f"{formats.spread(paired['ttft_new_behind_ms'])} ms, same again "
              f"{formats.spread(paired['ttft_again_behind_ms'])} ms, back to a chat "
              f"{formats.spread(paired['ttft_return_behind_ms'])} ms."]
    lines += ["", "| target (xllamacpp) | measured | |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {formats.verdict(ok)} |" for t, m, ok in targets(s)]
    return "\n".join(lines) + "\n"


def run(reps: int, trials: int, *, threads: int | None = None, slots: int = 4, argv: str = "", log=print) -> dict:
    """Measure the three engines; write bench/results/engines.md; return its numbers for `make bench`."""
    threads = threads or peers.cores()
    meta = {"started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "argv": argv,
            "load_before": os.getloadavg(), "machine": formats.machine(), "threads": threads,
            "slots": slots, "reps": reps, "trials": trials,
            "versions": ", ".join(f"{p} {peers.version(p)}" for p in ("xllamacpp", "llama-cpp-python"))}
    engines = {WAYS[0]: Worker(WAYS[0], threads, slots), WAYS[1]: Worker(WAYS[1], threads, slots),
               WAYS[2]: Server(threads)}
    try:
        runs = measure(engines, reps, trials, log=log)
        rss = {name: engine.rss_mb() for name, engine in engines.items()}
    finally:
        for engine in engines.values():
            engine.close()
    meta["load_after"] = os.getloadavg()
    result = {"summary": summarize(runs, rss), "meta": meta}
    RESULTS_MD.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_MD.write_text(table(result["summary"], meta))
    return json.loads(json.dumps(result))  # as results.json will hold it: parallel counts as strings


def tables(result: dict) -> list[str]:
    """The section of bench/results.md."""
    text = table({name: {**s, "parallel": {int(n): v for n, v in s["parallel"].items()}}
                      for name, s in result["summary"].items()}, result["meta"])
    return ["## 7. Embedded engines", "", *text.splitlines()[2:], ""]


def result_targets(result: dict) -> list[tuple[str, str, bool]]:
    summary = {name: {**s, "parallel": {int(n): v for n, v in s["parallel"].items()}}
               for name, s in result["summary"].items()}
    return [(f"engine: {t}", m, ok) for t, m, ok in targets(summary)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, two stop trials (~3 min)")
    parser.add_argument("--reps", type=int, help="repetitions (default 3; quick 1)")
    parser.add_argument("--threads", type=int, default=peers.cores())
    parser.add_argument("--slots", type=int, default=4, help="xllamacpp's parallel slots")
    parser.add_argument("--worker", choices=WAYS[:2], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.threads, args.slots)
        return 0
    run(args.reps or (1 if args.quick else 3), 2 if args.quick else 5, threads=args.threads, slots=args.slots,
        argv=" ".join(argv or sys.argv[1:]), log=lambda line: print(line, flush=True))
    print(RESULTS_MD.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
