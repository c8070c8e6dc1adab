"""`python -m bench`: run the benchmarks against the peers and write bench/results.md and its plots."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime

from . import conversation, embedded, engines, fresh, gateway, grounding, load, plots, report, stop, streaming

ALL = ("gateway", "streaming", "embedded", "conversation", "stop", "grounding", "engines", "fresh")
RESULTS_JSON = report.PLOTS / "results.json"
NOTES = report.peers.ROOT / "bench" / "notes.md"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {', '.join(ALL)}")
    parser.add_argument("--quick", action="store_true", help="short runs (~2 min): fewer repetitions, streams, turns")
    parser.add_argument("--reps", type=int, help="repetitions per measurement (default 5; quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per gateway run, at most (default 4; quick 1)")
    parser.add_argument("--streams", help="comma-separated numbers of concurrent streams (default 100,250,500,1000; "
                                          "quick 100,300); the largest is the one the target is judged at")
    parser.add_argument("--turns", type=int, help="conversation turns (default 300; quick 60)")
    parser.add_argument("--trials", type=int, help="stop trials (default 10; quick 3)")
    parser.add_argument("--cold", action="store_true", help="fresh: install with no pip cache")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM proxy")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite results.md and the plots from bench/results/results.json (and notes.md)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="MINUTES",
                        help="first wait up to this long for the 1-minute load average to drop below 1.0")
    args = parser.parse_args(argv)
    quick = args.quick
    args.reps = args.reps or (1 if quick else 5)
    args.duration = args.duration or (1.0 if quick else 4.0)
    args.streams = sorted(int(n) for n in (args.streams or ("100,300" if quick else "100,250,500,1000")).split(","))
    args.turns = max(12, args.turns or (60 if quick else 300))
    args.trials = args.trials or (3 if quick else 10)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def wait_quiet(minutes: float) -> None:
    """Poll every 30 s until the 1-minute load average is below 1.0, for at most `minutes`."""
    deadline = time.monotonic() + minutes * 60
    while os.getloadavg()[0] >= 1.0 and time.monotonic() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f}: waiting for a quieter machine", flush=True)
        time.sleep(30)


def run_one(name: str, args: argparse.Namespace) -> dict:
    log = lambda line: print(line, flush=True)  # noqa: E731
    if name == "gateway":
        return gateway.run(args.reps, args.duration, with_litellm=not args.no_litellm, log=log)
    if name == "streaming":
        return streaming.run(max(1, min(args.reps, 3)), args.streams, log=log)
    if name == "embedded":
        return embedded.run(args.reps, log=log)
    if name == "conversation":
        return conversation.run(max(1, min(args.reps, 3)), args.turns, log=log)
    if name == "grounding":
        return grounding.run(args.reps, log=log)
    if name == "engines":
        reps = max(1, min(args.reps, 3))
        return engines.run(reps, args.trials, argv=f"--reps {reps}", log=log)
    if name == "fresh":
        return fresh.run(cold=args.cold, log=log)
    return stop.run(args.trials, log=log)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.report_only:
        return write(json.loads(RESULTS_JSON.read_text()))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers started are stopped (atexit)
    load.fast_loop()
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    previous = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() and len(args.only) < len(ALL) else {}
    results = {name: previous[name] for name in ALL if name in previous}
    results.update(started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), argv=" ".join(argv),
                   load_before=os.getloadavg())
    started = time.monotonic()
    for name in args.only:
        print(f"== {name}", flush=True)
        try:
            results[name] = run_one(name, args)
        except Exception as exc:  # one broken peer must not lose the other results
            print(f"   {name} failed: {exc!r}", flush=True)
            results.pop(name, None)
    results.update(elapsed_s=time.monotonic() - started, machine=report.machine(), versions=report.versions())
    report.PLOTS.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=1, default=str))
    return write(results)


def write(results: dict) -> int:
    """results.md and the plots; the verdicts on stdout."""
    plots.draw(results)
    notes = NOTES.read_text().splitlines() if NOTES.exists() else []
    report.write(results, notes)
    print(f"wrote {report.RESULTS_MD.relative_to(report.peers.ROOT)} in {results['elapsed_s'] / 60:.1f} min")
    for target, measured, ok in report.targets(results):
        print(f"  {report.verdict(ok).strip('*'):5s} {target}: {measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
