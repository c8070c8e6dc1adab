"""bench/results.md and its plots from the results of a run."""

from __future__ import annotations

import platform
from pathlib import Path

from . import engines, fresh, grounding, peers
from .formats import fmt, machine, spread, verdict  # noqa: F401 (report.machine & co. for the callers)

RESULTS_MD = peers.ROOT / "bench" / "results.md"
PLOTS = peers.ROOT / "bench" / "results"
V1, CHAT, LITELLM = "posterchat /v1/chat/completions", "posterchat /chat", "litellm /v1/chat/completions"


def versions() -> dict:
    names = ("posterchat", "litellm", "xllamacpp", "llama-cpp-python", "uvicorn", "fastapi", "starlette", "openai", "httpx",
             "uvloop", "httptools", "sse-starlette")
    return {"python": platform.python_version(), **{name: peers.version(name) for name in names}}


def _at(table: dict, clients) -> dict:
    return table.get(clients, table.get(str(clients), {}))


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, passed) for every target whose benchmark ran."""
    out = []
    gw = results.get("gateway", {}).get("summary")
    if gw and LITELLM in gw:
        lite16 = _at(gw[LITELLM], 16)["rps"]["median"]
        for name in (V1, CHAT):
            ratio = _at(gw[name], 16)["rps"]["median"] / lite16
            out.append((f"{name}: throughput at 16 clients ≥ 5× LiteLLM's", f"{ratio:.1f}×", ratio >= 5))
        for name in (V1, CHAT, LITELLM):
            added = _at(gw[name], 1)["added_p50_ms"]["median"]
            out.append((f"{name}: added p50 latency at 1 client ≤ 1 ms", f"{added:.2f} ms",
                        added <= 1 if name != LITELLM else None))
        share = gw[V1]["rss_mb"] / gw[LITELLM]["rss_mb"]
        out.append(("posterchat memory ≤ ⅓ of LiteLLM's", f"{gw[V1]['rss_mb']:.0f} MB vs "
                    f"{gw[LITELLM]['rss_mb']:.0f} MB ({share:.2f}×)", share <= 1 / 3))
    out += _stream_targets(results) + _embedded_targets(results) + _other_targets(results)
    if "grounding" in results:
        out += grounding.targets(results["grounding"])
    if "engines" in results:
        out += engines.result_targets(results["engines"])
    if "fresh" in results:
        out += fresh.targets(results["fresh"])
    return out


def _stream_targets(results: dict) -> list:
    st = results.get("streaming")
    if not st:
        return []
    runs = _at(st["runs"]["posterchat /chat"], st["streams"])
    done = min(r["completed"] for r in runs)
    p99 = _at(st["summary"]["posterchat /chat"], st["streams"])["added_gap_p99_ms"]["median"]
    return [(f"{st['streams']:,} concurrent streams all complete", f"{done:,}/{st['streams']:,} (worst run)",
             done == st["streams"]),
            ("p99 added delay between tokens < 5 ms", f"{p99:.1f} ms", p99 < 5)]


def _embedded_targets(results: dict) -> list:
    em = results.get("embedded")
    if not em:
        return []
    s = em["summary"]
    ours, theirs = s["posterchat"], s["llama-cpp-python server"]
    ratio = ours["tokens_per_s"]["median"] / theirs["tokens_per_s"]["median"]
    behind = ours["ttft_ms"]["median"] - theirs["ttft_ms"]["median"]
    return [("embedded tokens/s ≥ 0.97× llama-cpp-python's server", f"{ratio:.3f}×", ratio >= 0.97),
            ("embedded time to first token ≤ 3 ms behind it", f"{behind:+.1f} ms", behind <= 3)]


def _other_targets(results: dict) -> list:
    out = []
    cv = results.get("conversation")
    if cv:
        s = cv["summary"]["stored conversation"]
        out.append((f"stored conversation: turn {s['late_turn']} ≤ 1.2× turn 10 in time",
                    f"{s['time_ratio']:.2f}× ({s['turn10_ms']:.1f} → {s['late_ms']:.1f} ms)", s["time_ratio"] <= 1.2))
        out.append((f"stored conversation: turn {s['late_turn']} ≤ 1.2× turn 10 in bytes sent",
                    f"{s['bytes_ratio']:.2f}× ({s['turn10_bytes']:,} → {s['late_bytes']:,} B)", s["bytes_ratio"] <= 1.2))
    sp = results.get("stop")
    if sp:
        up, em = sp["summary"]["upstream_ms"], sp["summary"]["embedded_ms"]
        out.append(("stop reaches the upstream within 100 ms", f"median {up['median']:.1f} ms, max {up['max']:.1f} ms",
                    up["max"] <= 100))
        out.append(("stop halts the embedded model within 100 ms",
                    f"median {em['median']:.1f} ms, max {em['max']:.1f} ms", em["max"] <= 100))
    return out


def headline(results: dict) -> list[str]:
    """The README's table: posterchat against its peers in one glance."""
    lines = ["| | posterchat | peer | target | |", "| --- | --- | --- | --- | --- |"]
    gw = results.get("gateway", {}).get("summary")
    if gw and LITELLM in gw:
        p, lite = gw[V1], gw[LITELLM]
        lines.append(f"| Requests/s at 16 clients (vs LiteLLM proxy) | {fmt(_at(p, 16)['rps']['median'], 0)} | "
                     f"{fmt(_at(lite, 16)['rps']['median'], 0)} | ≥ 5× | {_pass(results, 'throughput at 16', V1)} |")
        lines.append(f"| Added latency p50, 1 client | {fmt(_at(p, 1)['added_p50_ms']['median'], 2)} ms | "
                     f"{fmt(_at(lite, 1)['added_p50_ms']['median'], 2)} ms | ≤ 1 ms | {_pass(results, 'added p50', V1)} |")
        lines.append(f"| Memory (RSS) | {fmt(p['rss_mb'], 0)} MB | {fmt(lite['rss_mb'], 0)} MB | ≤ ⅓ | "
                     f"{_pass(results, 'memory')} |")
    st = results.get("streaming")
    if st:
        s = _at(st["summary"]["posterchat /chat"], st["streams"])
        direct = _at(st["summary"]["direct"], st["streams"])
        lines.append(f"| {st['streams']:,} concurrent streams: completed, p99 added gap | "
                     f"{fmt(s['completed']['median'], 0)}, {fmt(s['added_gap_p99_ms']['median'], 1)} ms | "
                     f"upstream direct: {fmt(direct['added_gap_p99_ms']['median'], 1)} ms | all, < 5 ms | "
                     f"{_pass(results, 'all complete')} {_pass(results, 'p99 added delay')} |")
    em = results.get("embedded")
    if em:
        s = em["summary"]
        lines.append(f"| Embedded SmolLM2: tokens/s, TTFT (vs llama-cpp-python server) | "
                     f"{fmt(s['posterchat']['tokens_per_s']['median'])}, {fmt(s['posterchat']['ttft_ms']['median'])} ms | "
                     f"{fmt(s['llama-cpp-python server']['tokens_per_s']['median'])}, "
                     f"{fmt(s['llama-cpp-python server']['ttft_ms']['median'])} ms | ≥ 0.97×, ≤ +3 ms | "
                     f"{_pass(results, 'tokens/s')} {_pass(results, 'first token')} |")
    cv = results.get("conversation")
    if cv:
        s = cv["summary"]["stored conversation"]
        lines.append(f"| Stored conversation, turn {s['late_turn']} vs turn 10 (time, bytes) | "
                     f"{s['time_ratio']:.2f}×, {s['bytes_ratio']:.2f}× | client history: "
                     f"{cv['summary']['client history']['time_ratio']:.2f}×, "
                     f"{cv['summary']['client history']['bytes_ratio']:.2f}× | ≤ 1.2× | "
                     f"{_pass(results, 'in time')} {_pass(results, 'in bytes')} |")
    sp = results.get("stop")
    if sp:
        s = sp["summary"]
        lines.append(f"| Stop after disconnect: upstream closed, embedded halted (max) | "
                     f"{fmt(s['upstream_ms']['max'])} ms, {fmt(s['embedded_ms']['max'])} ms | | ≤ 100 ms | "
                     f"{_pass(results, 'reaches the upstream')} {_pass(results, 'halts the embedded')} |")
    return lines


def _pass(results: dict, words: str, prefix: str = "") -> str:
    for name, _, ok in targets(results):
        if words in name and name.startswith(prefix):
            return verdict(ok)
    return "–"


def gateway_tables(gw: dict) -> list[str]:
    s = gw["summary"]
    lines = ["## 1. Gateway overhead and throughput", "",
             f"Fast upstream (answers at once), {gw['reps']} repetitions of ≤ {gw['duration']:.0f} s per cell, "
             "targets interleaved in a rotating order. Servers pinned to core 0 "
             "(`taskset`), the load generator and the upstream they call to core 1; the `direct` row is a second "
             "copy of the upstream on core 0. posterchat runs with an API key required "
             f"({'created with `posterchat keys create`' if gw.get('posterchat_keys') else 'NOT available'}), "
             "rate limits on (1,000,000 requests/min, counted but never refusing) and usage tracking; LiteLLM with "
             "its master key. Median (min–max) over repetitions.", "",
             "| target | clients | requests/s | p50 ms | p99 ms | added p50 ms | added p99 ms | errors | generator core |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, table in s.items():
        for clients in (1, 16, 64):
            cell = _at(table, clients)
            if not cell:
                continue
            lines.append(f"| {name} | {clients} | {spread(cell['rps'], 0)} | {spread(cell['p50_ms'], 2)} | "
                         f"{spread(cell['p99_ms'], 2)} | {spread(cell['added_p50_ms'], 2)} | "
                         f"{spread(cell['added_p99_ms'], 2)} | {cell['errors']} | {cell['generator_load'] * 100:.0f}% |")
    lines += ["", "| server | RSS idle MB | RSS max under load MB |", "| --- | --- | --- |"]
    lines += [f"| {name} | {fmt(t['idle_rss_mb'], 0)} | {fmt(t['rss_mb'], 0)} |" for name, t in s.items()]
    return lines + ["", "![throughput](results/gateway_throughput.png) ![latency](results/gateway_latency.png)", ""]


def streaming_tables(st: dict) -> list[str]:
    lines = ["## 2. Streaming at scale", "",
             f"Waves of {', '.join(f'{c:,}' for c in st['counts'])} streamed chats, each wave started within 0.25 s, "
             "each chat 50 tokens 20 ms apart from the slow "
             "upstream (`/chat` with `stream: true` through posterchat; `/v1/chat/completions` on the upstream for "
             f"`direct`). Added gap = time between consecutive tokens at the client − 20 ms. {st['reps']} repetitions. "
             "posterchat runs with `POSTERCHAT_GROUNDING=false` here: the answer guard holds each sentence until it "
             "ends, by design, so with it tokens arrive a sentence at a time.",
             "", "| | completed | added gap p50 ms | added gap p99 ms | added gap max ms | TTFT p50 ms | "
             "most in flight | RSS max MB |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines[-2] = lines[-2].replace("| |", "| | streams |", 1)
    lines[-1] = lines[-1] + " --- |"
    for name, by_count in st["summary"].items():
        for count in st["counts"]:
            s = _at(by_count, count)
            lines.append(f"| {name} | {count:,} | {spread(s['completed'], 0)} | {spread(s['added_gap_p50_ms'], 2)} | "
                     f"{spread(s['added_gap_p99_ms'], 1)} | {spread(s['added_gap_max_ms'], 0)} | "
                     f"{spread(s['ttft_p50_ms'], 1)} | {spread(s['max_in_flight'], 0)} | {spread(s['rss_mb'], 0)} |")
    for name, by_count in st["summary"].items():
        within = [c for c in st["counts"] if _at(by_count, c)["added_gap_p99_ms"]["median"] < 5]
        lines.append(f"\n{name}: p99 added gap under 5 ms up to "
                     f"{f'{max(within):,} streams' if within else 'none of the sizes tried'}.")
    return lines + ["", "![streaming](results/streaming.png)", ""]


def embedded_tables(em: dict) -> list[str]:
    lines = ["## 3. Embedded model", "",
             "SmolLM2-135M-Instruct Q4_1, n_ctx 2048, threads = cores, temperature 0, max_tokens 128, the same system "
             f"and user message; streamed. {em['reps']} interleaved repetitions after a warm-up of each. posterchat "
             "runs with `POSTERCHAT_GROUNDING=false`, so the model gets the same prompt as the peers (its reference "
             "notes make the prompt several times longer, and SmolLM2 decodes it ~20% slower).", "",
             "| | tokens/s | time to first token ms | tokens | RSS MB |", "| --- | --- | --- | --- | --- |"]
    for name, s in em["summary"].items():
        lines.append(f"| {name} | {spread(s['tokens_per_s'])} | {spread(s['ttft_ms'])} | {spread(s['tokens'], 0)} | "
                     f"{fmt(em['rss_mb'].get(name), 0)} |")
    return lines + ["", "![embedded](results/embedded.png)", ""]


def conversation_tables(cv: dict) -> list[str]:
    lines = ["## 4. Long conversations", "",
             f"{cv['turns']} turns of ~400-character messages to the fast upstream with model id `{peers.MODEL}` "
             "(unknown to posterchat: an 8,192-token context window, so trimming starts after a few dozen turns); "
             "three ways, interleaved turn by turn: the spec's client-sent `conversation_history`; a stored "
             "conversation (`conversation_id`) with `include_history: false`, so the answer holds only the new turn "
             "and the server reads only the newest messages the model can see; and a stored conversation whose "
             f"whole history comes back every turn. Times are medians of {WINDOW_TEXT} over {cv['reps']} "
             "conversations each.",
             "", "| | turn 10 ms | last turn ms | time ratio | turn 10 bytes sent | last turn bytes sent | bytes ratio | "
             "messages to the model (last turn) | turns trimmed (last turn) | first trimmed at turn |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in cv["summary"].items():
        lines.append(f"| {name} | {fmt(s['turn10_ms'], 2)} | {fmt(s['late_ms'], 2)} | {s['time_ratio']:.2f}× | "
                     f"{s['turn10_bytes']:,.0f} | {s['late_bytes']:,.0f} | {s['bytes_ratio']:.2f}× | "
                     f"{s['messages_to_model_last']:.0f} | {s['truncated_turns_last']:.0f} | {s['first_trimmed_turn']} |")
    return lines + ["", "![conversation](results/conversation.png)", ""]


WINDOW_TEXT = "5 turns (8–12 and the last 5)"


def stop_tables(sp: dict) -> list[str]:
    s = sp["summary"]
    return ["## 5. Stop", "",
            f"{sp['trials']} trials each: the client reads 3 tokens, then closes its socket. Upstream: the slow "
            "upstream records (CLOCK_MONOTONIC) when posterchat's request to it closes. Embedded: posterchat served "
            "in the bench process, the engine's `requests_processing` counter polled every 0.5 ms.", "",
            "| | median ms | min ms | max ms |", "| --- | --- | --- | --- |",
            f"| client close → upstream request closed | {fmt(s['upstream_ms']['median'])} | "
            f"{fmt(s['upstream_ms']['min'])} | {fmt(s['upstream_ms']['max'])} |",
            f"| client close → embedded model stops decoding | {fmt(s['embedded_ms']['median'])} | "
            f"{fmt(s['embedded_ms']['min'])} | {fmt(s['embedded_ms']['max'])} |",
            f"| tokens decoded after the close | {fmt(s['embedded_tokens_after_close']['median'], 0)} | "
            f"{fmt(s['embedded_tokens_after_close']['min'], 0)} | {fmt(s['embedded_tokens_after_close']['max'], 0)} |",
            "", "![stop](results/stop.png)", ""]


def write(results: dict, notes: list[str], path: Path = RESULTS_MD) -> None:
    """results.md: headline, targets, machine, versions, one section per benchmark, then notes."""
    info, vers = results["machine"], results["versions"]
    lines = ["# posterchat benchmarks", "", f"Generated by `make bench` (`python -m bench {results['argv']}`) on "
             f"{results['started']}, taking {results['elapsed_s'] / 60:.1f} min.", "", "## Headline", ""]
    lines += headline(results) + ["", "## Targets", "", "| target | measured | |", "| --- | --- | --- |"]
    lines += [f"| {name} | {measured} | {verdict(ok)} |" for name, measured, ok in targets(results)]
    lines += ["", "## Machine", "", f"- {info['nproc']} cores (`nproc`), {info['cpu']}, {info['memory']} memory, "
              f"Linux {info['kernel']}",
              f"- 1-minute load average before the run: {results['load_before'][0]:.2f}, after: "
              f"{info['loadavg'][0]:.2f} (other work on the machine shows up as spread)",
              "- Versions: " + ", ".join(f"{name} {value}" for name, value in vers.items()), ""]
    sections = {"gateway": gateway_tables, "streaming": streaming_tables, "embedded": embedded_tables,
                "conversation": conversation_tables, "stop": stop_tables, "grounding": grounding.tables, "engines": engines.tables,
                "fresh": fresh.tables}
    for name, table in sections.items():
        if name in results:
            lines += table(results[name])
    if notes:
        lines += ["## Notes", ""] + notes + [""]
    path.write_text("\n".join(lines))
