"""PNG plots of a run's results, in bench/results/."""

from __future__ import annotations

from pathlib import Path

from . import conversation
from .report import PLOTS, _at


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(ax, groups: list[str], series: dict[str, list[float]], ylabel: str, log: bool = False) -> None:
    """Grouped bars: one group per label, one bar per series."""
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, values, width, label=name)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def gateway(gw: dict, out: Path) -> None:
    plt = _pyplot()
    s = gw["summary"]
    clients = ["1", "16", "64"]
    fig, ax = plt.subplots(figsize=(8, 4))
    _bars(ax, [f"{c} clients" for c in clients],
          {name: [_at(t, int(c))["rps"]["median"] for c in clients] for name, t in s.items()}, "requests/s", log=True)
    ax.set_title("Gateway throughput (fast upstream; higher is better)")
    fig.tight_layout()
    fig.savefig(out / "gateway_throughput.png", dpi=110)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("p50_ms", "p99_ms"), strict=True):
        _bars(ax, [f"{c} clients" for c in clients],
              {name: [_at(t, int(c))[key]["median"] for c in clients] for name, t in s.items()}, f"{key[:3]} ms",
              log=True)
        ax.set_title(f"Latency {key[:3]} (lower is better)")
    fig.tight_layout()
    fig.savefig(out / "gateway_latency.png", dpi=110)
    plt.close("all")


def streaming(st: dict, out: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, by_count in st["summary"].items():
        for key, style in (("added_gap_p99_ms", "o-"), ("added_gap_p50_ms", "x:")):
            ax.plot(st["counts"], [max(0.01, abs(_at(by_count, c)[key]["median"])) for c in st["counts"]], style,
                    label=f"{name} {key[10:13]}")
    ax.axhline(5, color="red", linestyle="--", linewidth=1, label="target p99 5 ms")
    ax.set_xlabel("concurrent streams")
    ax.set_ylabel("|added gap between tokens|, ms")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title("Streaming: gap between tokens beyond the upstream's 20 ms")
    fig.tight_layout()
    fig.savefig(out / "streaming.png", dpi=110)
    plt.close("all")


def embedded(em: dict, out: Path) -> None:
    plt = _pyplot()
    s = em["summary"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    names = list(s)
    axes[0].bar(names, [s[n]["tokens_per_s"]["median"] for n in names], color=["C0", "C1", "C2"])
    axes[0].set_ylabel("tokens/s (higher is better)")
    axes[1].bar(names, [s[n]["ttft_ms"]["median"] for n in names], color=["C0", "C1", "C2"])
    axes[1].set_ylabel("time to first token, ms (lower is better)")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Embedded SmolLM2-135M, streaming")
    fig.tight_layout()
    fig.savefig(out / "embedded.png", dpi=110)
    plt.close("all")


def conversation_plot(cv: dict, out: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for way in cv["runs"][0]:
        turns = range(1, len(cv["runs"][0][way]) + 1)
        for ax, key in zip(axes, ("ms", "sent_bytes", "messages_to_model"), strict=True):
            ax.plot(turns, conversation.per_turn(cv["runs"], way, key), label=way, linewidth=1)
    for ax, label in zip(axes, ("latency per turn, ms", "bytes sent by the client", "messages sent to the model"),
                         strict=True):
        ax.set_xlabel("turn")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle("Long conversations: client-sent history vs stored conversation")
    fig.tight_layout()
    fig.savefig(out / "conversation.png", dpi=110)
    plt.close("all")


def stop(sp: dict, out: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(1, len(sp["upstream_ms"]) + 1), sp["upstream_ms"], "o-", label="upstream request closed")
    ax.plot(range(1, len(sp["embedded"]) + 1), [r["ms"] for r in sp["embedded"]], "s-", label="embedded model halted")
    ax.axhline(100, color="red", linestyle="--", linewidth=1, label="target 100 ms")
    ax.set_xlabel("trial")
    ax.set_ylabel("ms after the client closed")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("Stop: client disconnect to work stopped")
    fig.tight_layout()
    fig.savefig(out / "stop.png", dpi=110)
    plt.close("all")


def draw(results: dict, out: Path = PLOTS) -> list[str]:
    """Every plot whose benchmark ran; returns their file names."""
    out.mkdir(parents=True, exist_ok=True)
    drawn = []
    for name, draw_one in (("gateway", gateway), ("streaming", streaming), ("embedded", embedded),
                           ("conversation", conversation_plot), ("stop", stop)):
        if name in results:
            draw_one(results[name], out)
            drawn.append(name)
    return drawn
