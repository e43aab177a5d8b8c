#!/usr/bin/env python3
"""One PNG of flush policies measured live: upstream reduction against p50 latency, one panel
per scenario, the median of each policy's rounds (bench/collapse_policies.sh's JSON lines).

    /usr/bin/python3 bench/policy_chart.py --out docs/charts/policies-live.png \
        docs/data/policies-live-waves-2026-12-07.jsonl ...
"""

import argparse
import json
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def medians(path):
    """{label: (median reduction %, median p50 ms, median p99 ms)} of one scenario's runs."""
    runs = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                run = json.loads(line)
                runs.setdefault(run["label"], []).append(run)
    return {label: (statistics.median(r["upstream_reduction"] for r in rs) * 100,
                    statistics.median(r["p50_ms"] for r in rs),
                    statistics.median(r["p99_ms"] for r in rs))
            for label, rs in runs.items()}, next(iter(runs.values()))[0]["scenario"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("results", nargs="+")
    args = parser.parse_args()
    fig, axes = plt.subplots(1, len(args.results), figsize=(5 * len(args.results), 4))
    for ax, path in zip(axes if len(args.results) > 1 else [axes], args.results):
        points, scenario = medians(path)
        for label, (reduction, p50, p99) in sorted(points.items()):
            ax.scatter(reduction, p50, marker="o")
            ax.scatter(reduction, p99, marker="x", color="grey")
            ax.annotate(label.replace("window-", ""), (reduction, p50), fontsize=8)
        ax.set_title(f"{scenario} (o p50, x p99; medians)")
        ax.set_xlabel("upstream reduction (%)")
        ax.set_ylabel("latency (ms)")
        ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
