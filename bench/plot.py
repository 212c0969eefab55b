"""PNGs from the bench CSVs: generation time and routing overhead against operations.

    python bench/plot.py RESULTS_DIR OUT_DIR    (bench/run-all.sh runs it in a venv)

RESULTS_DIR holds gen_scaling.csv (gen_report) and routing_scaling.csv
(overhead_report); a missing CSV skips its plot.
"""

import csv
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path):
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def generation(data, out):
    ops = [r["operations"] for r in data]
    med = [r["median_ms"] for r in data]
    low = [r["median_ms"] - r["min_ms"] for r in data]
    high = [r["max_ms"] - r["median_ms"] for r in data]
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    ax.errorbar(ops, med, yerr=[low, high], fmt="o-", capsize=3, label="keygate generate (median, min-max)")
    if "parse_ms" in data[0]:
        ax.plot(ops, [r["parse_ms"] for r in data], "s:", label="serde_yaml parse alone (median)")
    # Linear through the largest size: what "no worse than linear" allows below it.
    ref = [med[-1] * o / ops[-1] for o in ops]
    ax.plot(ops, ref, "--", color="grey", label="linear (through the largest size)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operations in the document")
    ax.set_ylabel("time per generate (ms)")
    ax.set_title("Generation time vs document size (synthetic documents)")
    for o, m, r in zip(ops, med, data):
        ax.annotate(f"{r['us_per_operation']:.0f} µs/op", (o, m), textcoords="offset points", xytext=(-6, 8), ha="right", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


def routing(data, out):
    ops = [r["operations"] for r in data]
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for key, label in (("last", "last operation"), ("middle", "middle operation")):
        med = [r[f"{key}_median_ns"] for r in data]
        low = [r[f"{key}_median_ns"] - r[f"{key}_min_ns"] for r in data]
        high = [r[f"{key}_max_ns"] - r[f"{key}_median_ns"] for r in data]
        ax.errorbar(ops, med, yerr=[low, high], fmt="o-", capsize=3, label=f"{label} (median, min-max)")
    # overhead_report's bound: the 10-operation figure, +1/3 of it per tenfold.
    base = data[0]["last_median_ns"]
    xs = [10 ** (1 + i / 20) for i in range(61)]
    ax.plot(xs, [base * (1 + math.log10(x / 10) / 3) for x in xs], "--", color="grey", label="log bound (2x at 10,000)")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("operations in the spec table")
    ax.set_ylabel("added time per request (ns)")
    ax.set_title("Routing overhead of the layer vs operations")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


def main():
    results, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for name, plot, png in (
        ("gen_scaling.csv", generation, "generation_scaling.png"),
        ("routing_scaling.csv", routing, "routing_scaling.png"),
    ):
        path = results / name
        if path.exists():
            plot(rows(path), out / png)
        else:
            print(f"{path} missing: {png} not drawn")


if __name__ == "__main__":
    main()
