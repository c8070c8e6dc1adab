"""`python -m bench.eval`: ask posterchat the design questions in questions.toml, with grounding on and off, and
write bench/eval.md and bench/eval.json."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from . import report, runner
from .questions import CATEGORIES, QUESTIONS_FILE, QuestionsError, load, select
from .server import ROOT, Server, ServerError

DEFAULT_MODEL = "smollm2-135m-instruct"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__)
    parser.add_argument("--model", action="extend", nargs="+", default=[], metavar="ID",
                        help="also evaluate these model ids on the OpenAI-compatible upstream "
                             "(needs OPENAI_API_KEY or OPENAI_BASE_URL)")
    parser.add_argument("--gguf", action="extend", nargs="+", default=[], metavar="PATH", type=Path,
                        help="also evaluate these local GGUF files, each as the model id of its file stem")
    parser.add_argument("--no-ablation", action="store_true", help="grounding on only (default: on and off)")
    parser.add_argument("--only", metavar="CATEGORY,...", help=f"only these categories: {','.join(CATEGORIES)}")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="at most N questions, taken in turn from each category")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "eval.md",
                        help="the report (default bench/eval.md; the JSON goes beside it)")
    parser.add_argument("--questions", type=Path, default=QUESTIONS_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        args.only = {c.strip() for c in args.only.split(",") if c.strip()}
        unknown = args.only - set(CATEGORIES)
        if unknown:
            parser.error(f"unknown categor{'y' if len(unknown) == 1 else 'ies'}: {', '.join(sorted(unknown))} "
                         f"(choose from {', '.join(CATEGORIES)})")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    for path in args.gguf:
        if not path.is_file():
            parser.error(f"--gguf {path}: no such file")
    return args


def models_to_run(args: argparse.Namespace, log=print) -> tuple[list[str], dict[str, str]]:
    """The model ids in run order, and POSTERCHAT_LOCAL_MODELS for the --gguf files."""
    local = {path.stem: str(path.resolve()) for path in args.gguf}
    upstream = list(dict.fromkeys(args.model))
    if upstream and not (os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")):
        for model in upstream:
            log(f"skipping --model {model}: no upstream configured (set OPENAI_API_KEY and/or OPENAI_BASE_URL)")
        upstream = []
    return list(dict.fromkeys([DEFAULT_MODEL, *local, *upstream])), local


def commit() -> str:
    """`git rev-parse --short HEAD`, marked when tracked files have uncommitted changes."""
    def git(*command: str) -> str:
        return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD") or "unknown"
        return head + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> str:
    """Cores, CPU model and OS, for the report's header."""
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores, {cpu}, {system}, Python {platform.python_version()}"


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    try:
        questions = select(load(args.questions), args.only, args.limit)
    except QuestionsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    models, local = models_to_run(args)
    modes = [True] if args.no_ablation else [True, False]
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even where started with SIGINT ignored
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    answers: list[runner.Answer] = []
    asked_of = commit()  # the code the servers run, even if the tree changes while they answer
    try:
        for grounding in modes:
            with Server(grounding, local) as server:
                print(f"posterchat with grounding {'on' if grounding else 'off'} at {server.url}", flush=True)
                answers += runner.run(server.url, questions, models, grounding,
                                      log=lambda line: print(line, flush=True))
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: server stopped, no report written", file=sys.stderr)
        return 130
    meta = {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine(),
            "commit": asked_of, "models": models, "modes": ["on" if m else "off" for m in modes],
            "questions": len(questions), "max_tokens": runner.MAX_TOKENS,
            "command": shlex.join(["python", "-m", "bench.eval", *argv])}
    json_path = report.write(args.out, meta, answers)
    for row in report.summarise(answers):
        print(f"{row.model} grounding {'on' if row.grounding else 'off'}: {row.percent:.1f}% "
              f"({row.passed}/{row.asked}), contradictions {row.contradictions}/{row.poster_asked}, "
              f"errors {row.errors}")
    print(f"wrote {args.out} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
