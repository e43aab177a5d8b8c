#!/usr/bin/python3
"""Charts and a summary table from levee-bench's JSON lines (one object per run).

    bench/plot.py RESULTS.jsonl [MORE.jsonl...] --out-dir DIR   # PNG charts
    bench/plot.py --table RESULTS.jsonl                        # text table, no matplotlib

Runs are grouped by scenario and by label (the system or policy measured); each figure is
the median over that group's runs (the rounds of bench/side_by_side.sh). Per scenario:

  latency_vs_reduction-SCENARIO.png  p50 and p99 latency against upstream reduction, one
                                     colour and marker per label (faint: the single runs)
  percentiles-SCENARIO.png           p50/p90/p99/p999 latency as grouped bars per label

Lines that are not JSON objects with a label and a scenario are skipped with a warning.
--max-generator-lag MS keeps only the runs in which levee-bench itself released requests
late by at most MS at p99 (its dispatch_lag_p99_ms): on a shared machine a run whose load
generator was descheduled measured the neighbours, not the system under test.
Runs with Debian's python3 (apt-get install python3-matplotlib python3-numpy, or
scripts/install-deps.sh --bench); --table needs neither.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys

# Known systems first, in this order, so that their colours stay the same from chart to
# chart and run to run; other labels (policies) follow in order of appearance.
PREFERRED_ORDER = ["levee", "levee-collapse", "nginx", "varnish", "haproxy"]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*", "<", ">"]
PERCENTILES = [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("p999_ms", "p99.9")]


def warn(message):
    print(f"plot.py: warning: {message}", file=sys.stderr)


def load_runs(paths):
    runs = []
    for path in paths:
        try:
            handle = open(path, encoding="utf-8")
        except OSError as error:
            warn(f"{path}: {error.strerror}")
            continue
        with handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    run = json.loads(line)
                except json.JSONDecodeError as error:
                    warn(f"{path}:{number}: not JSON ({error.msg}), skipped")
                    continue
                if not isinstance(run, dict) or not run.get("label") or not run.get("scenario"):
                    warn(f"{path}:{number}: no label or scenario, skipped")
                    continue
                runs.append(run)
    return runs


def number(run, key):
    """The value as a float, or None when it is missing, null or not a finite number."""
    value = run.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def median_of(runs, key):
    values = [v for v in (number(r, key) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def max_of(runs, key):
    values = [v for v in (number(r, key) for r in runs) if v is not None]
    return max(values) if values else None


def ordered_unique(values):
    seen = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def label_order(runs):
    labels = ordered_unique(r["label"] for r in runs)
    known = [l for l in PREFERRED_ORDER if l in labels]
    return known + [l for l in labels if l not in known]


def group(runs):
    """{scenario: {label: [runs]}} in order of first appearance (labels: label_order)."""
    labels = label_order(runs)
    groups = {}
    for scenario in ordered_unique(r["scenario"] for r in runs):
        of_scenario = [r for r in runs if r["scenario"] == scenario]
        groups[scenario] = {
            label: [r for r in of_scenario if r["label"] == label]
            for label in labels
            if any(r["label"] == label for r in of_scenario)
        }
    return groups


def print_table(runs):
    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    def count(by_label, key):
        med, top = median_of(by_label, key), max_of(by_label, key)
        if med is None:
            return "-"
        # Medians hide a single bad round: show the worst one too when it differs.
        return f"{med:.0f}" if top == med else f"{med:.0f} (max {top:.0f})"

    header = ["system", "scenario", "runs", "p50 ms", "p99 ms", "upstream red.", "req/s",
              "errors", "mismatches"]
    rows = []
    for scenario, by_label in group(runs).items():
        for label, of_label in by_label.items():
            rows.append([
                label, scenario, str(len(of_label)),
                fmt(median_of(of_label, "p50_ms"), ".3f"),
                fmt(median_of(of_label, "p99_ms"), ".3f"),
                fmt(median_of(of_label, "upstream_reduction"), ".4f"),
                fmt(median_of(of_label, "rate_achieved"), ".0f"),
                count(of_label, "errors"),
                count(of_label, "mismatches"),
            ])
    if not rows:
        print("no runs")
        return
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    left = {0, 1}  # text columns; numbers align right
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) if i in left else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    print("(medians over runs; a count's worst run is shown when it differs)")


def file_stem(scenario):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", scenario).strip("_") or "scenario"


def plot(runs, out_dir):
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def log_latency_axis(ax):
        # Ticks at 1, 2 and 5 of each decade, written as plain numbers (0.2, 5, 100): the
        # values sit within a decade or two, where 10^x ticks alone would leave the axis bare.
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())

    os.makedirs(out_dir, exist_ok=True)
    labels = label_order(runs)
    palette = plt.get_cmap("tab10")
    colour = {label: palette(i % 10) for i, label in enumerate(labels)}
    marker = {label: MARKERS[i % len(MARKERS)] for i, label in enumerate(labels)}
    written = []

    for scenario, by_label in group(runs).items():
        stem = file_stem(scenario)

        # (a) latency vs upstream reduction.
        fig, ax = plt.subplots(figsize=(8, 5.5))
        without_stats = []
        for label, of_label in by_label.items():
            reduction = median_of(of_label, "upstream_reduction")
            p50, p99 = median_of(of_label, "p50_ms"), median_of(of_label, "p99_ms")
            if reduction is None:
                without_stats.append(label)
                continue
            c, m = colour[label], marker[label]
            for run in of_label:  # the single runs, faint, to show the spread
                x = number(run, "upstream_reduction")
                for key, filled in (("p50_ms", True), ("p99_ms", False)):
                    y = number(run, key)
                    if x is not None and y is not None and y > 0:
                        ax.scatter(x, y, s=14, marker=m, alpha=0.25, linewidths=0.8,
                                   facecolors=c if filled else "none", edgecolors=c)
            if p50 is not None and p99 is not None and p50 > 0 and p99 > 0:
                ax.plot([reduction, reduction], [p50, p99], color=c, linewidth=1, alpha=0.6)
            if p50 is not None and p50 > 0:
                ax.scatter(reduction, p50, s=70, marker=m, color=c, edgecolors="black",
                           linewidths=0.5, label=f"{label} (n={len(of_label)})", zorder=3)
            if p99 is not None and p99 > 0:
                ax.scatter(reduction, p99, s=70, marker=m, facecolors="none", edgecolors=c,
                           linewidths=1.5, zorder=3)
        log_latency_axis(ax)
        ax.set_xlabel("upstream reduction (1 - upstream calls / requests)")
        ax.set_ylabel("latency (ms, log scale)")
        title = f"{scenario}: latency vs upstream reduction (medians)"
        if without_stats:
            title += f"\nno upstream stats, not shown: {', '.join(without_stats)}"
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        handles, names = ax.get_legend_handles_labels()
        if handles:
            handles += [
                Line2D([], [], linestyle="none", marker="o", color="grey", label="filled: p50"),
                Line2D([], [], linestyle="none", marker="o", markerfacecolor="none",
                       color="grey", label="hollow: p99"),
            ]
            ax.legend(handles=handles, fontsize=8, loc="best")
        else:
            ax.text(0.5, 0.5, "no run with upstream stats", transform=ax.transAxes,
                    ha="center", va="center")
        fig.tight_layout()
        path = os.path.join(out_dir, f"latency_vs_reduction-{stem}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)

        # (b) latency percentiles per label.
        fig, ax = plt.subplots(figsize=(max(7.0, 1.0 + 0.55 * len(PERCENTILES) * len(by_label)), 5))
        x = np.arange(len(PERCENTILES))
        width = 0.8 / max(1, len(by_label))
        for i, (label, of_label) in enumerate(by_label.items()):
            values = [median_of(of_label, key) for key, _ in PERCENTILES]
            heights = [v if v is not None and v > 0 else np.nan for v in values]
            offsets = x - 0.4 + width * (i + 0.5)
            bars = ax.bar(offsets, heights, width, color=colour[label],
                          label=f"{label} (n={len(of_label)})")
            for bar, value in zip(bars, values):
                if value is not None and value > 0:
                    ax.annotate(f"{value:.3g}", (bar.get_x() + bar.get_width() / 2, value),
                                ha="center", va="bottom", fontsize=7, rotation=90,
                                xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(x, [name for _, name in PERCENTILES])
        log_latency_axis(ax)
        ax.set_xlabel("latency percentile")
        ax.set_ylabel("latency (ms, log scale)")
        ax.set_title(f"{scenario}: latency percentiles (medians over runs)")
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.margins(y=0.15)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(out_dir, f"percentiles-{stem}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="levee-bench JSON lines (--json-out files)")
    parser.add_argument("--out-dir", help="write the PNG charts here")
    parser.add_argument("--table", action="store_true", help="print the summary table")
    parser.add_argument("--max-generator-lag", type=float, metavar="MS",
                        help="drop runs whose dispatch_lag_p99_ms is above MS")
    args = parser.parse_args()
    if not args.out_dir and not args.table:
        parser.error("give --out-dir DIR, --table, or both")

    runs = load_runs(args.results)
    if args.max_generator_lag is not None:
        kept = [run for run in runs
                if isinstance(run.get("dispatch_lag_p99_ms"), (int, float))
                and run["dispatch_lag_p99_ms"] <= args.max_generator_lag]
        print(f"kept {len(kept)} of {len(runs)} runs (levee-bench's dispatch lag p99 <= "
              f"{args.max_generator_lag} ms)", file=sys.stderr)
        runs = kept
    if args.table:
        print_table(runs)
    if args.out_dir:
        if not runs:
            warn("no runs to plot")
            return 1
        for path in plot(runs, args.out_dir):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
