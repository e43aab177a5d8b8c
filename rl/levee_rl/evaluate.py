"""Seed 000's comparison table on the held-out workloads, as Markdown and PNG charts, with
every policy's distance from the hindsight oracle (oracle.py).

Every policy sees the same arrivals and the same sequence of upstream latency draws per
workload; the learned policy is the exported ONNX file, evaluated by onnx_eval (not torch), so
what is measured is what levee loads. The oracle knows the future arrivals: its p50 at a
policy's reduction (and its reduction at the policy's p50) is the limit any policy can reach.
"""

import argparse
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from levee_rl import oracle, workloads  # noqa: E402
from levee_rl.latency import LogNormalLatency  # noqa: E402
from levee_rl.metrics import summarise  # noqa: E402
from levee_rl.onnx_eval import OnnxMlp  # noqa: E402
from levee_rl.policies import Adaptive, EnvelopeOnly, Immediate, Learned  # noqa: E402
from levee_rl.simulator import Envelope, simulate  # noqa: E402

# Evaluation seeds are drawn from a stream the training never uses.
EVAL_STREAM = 999_999
TABLE_BEGIN = "<!-- evaluation table: written by levee_rl.evaluate -->"
TABLE_END = "<!-- end of evaluation table -->"


# Seed 000's envelope, the one the oracle's frontier is computed in.
ENVELOPE = Envelope(size_cap=128, max_wait=0.050)


def trace(make, seed, index):
    """The evaluation's arrivals of the index-th workload (`make(rng)`) and a factory of its
    upstream draws: a fresh Generator each call, so every policy and the oracle see the same
    latencies."""
    times = make(np.random.default_rng([seed, EVAL_STREAM, index]))
    return times, lambda: np.random.default_rng([seed, EVAL_STREAM, index, 1])


def policies(model_path):
    """(label, policy, envelope): seed 000's rows; `size` is bounded by a 1 s max_wait."""
    timer = ENVELOPE
    return [
        ("immediate", Immediate(), timer),
        ("timer 50 ms", EnvelopeOnly("timer"), timer),
        ("timer 2 ms", EnvelopeOnly("timer"), Envelope(size_cap=128, max_wait=0.002)),
        ("size 128", EnvelopeOnly("size"), Envelope(size_cap=128, max_wait=1.0)),
        ("adaptive", Adaptive(), timer),
        ("learned", Learned(OnnxMlp(model_path)), timer),
    ]


def evaluate(model_path, latency, seed, workload_list=None):
    """{workload: {policy label: summary with the oracle distances}} over workloads.HELD_OUT."""
    table = {}
    for index, (workload, make) in enumerate(workload_list or workloads.HELD_OUT):
        times, draws = trace(make, seed, index)
        frontier = oracle.Frontier(times, latency, draws, ENVELOPE)
        table[workload] = {}
        for label, policy, envelope in policies(model_path):
            result = simulate(times, policy, latency, draws(), envelope)
            row = summarise(result, times.size)
            row.update(oracle.distance(row, frontier))
            table[workload][label] = row
    return table


def _figure(value, fmt, missing="—"):
    return missing if value is None else fmt.format(value)


def goal_lines(table):
    """Issue 18's goals, as far as the simulation can tell (the live figures are in
    docs/policies.md)."""
    lines = []
    waves = table.get("waves", {}).get("learned")
    if waves is not None:
        met = waves["reduction"] >= 0.979 and waves["p50_ms"] <= 5.0
        lines.append(f"- waves, learned: {waves['reduction'] * 100:.2f} % reduction at p50 "
                     f"{waves['p50_ms']:.2f} ms (goal >= 97.9 % at <= 5 ms): "
                     f"{'met' if met else 'NOT met'}")
    for workload in ("sparse-then-burst", "diurnal"):
        rows = table.get(workload)
        if rows is None:
            continue
        timer, learned, adaptive = rows["timer 50 ms"], rows["learned"], rows["adaptive"]
        gap = (timer["reduction"] - learned["reduction"]) * 100
        cut = 1 - learned["p50_ms"] / timer["p50_ms"]
        met = gap <= 0.5 and cut >= 0.5
        lines.append(f"- {workload}, learned: reduction {gap:+.2f} pt below the 50 ms timer's, "
                     f"p50 {cut * 100:.1f} % lower (goal <= 0.5 pt, >= 50 %): "
                     f"{'met' if met else 'NOT met'}")
        lines.append(f"- {workload}, learned vs adaptive: reduction "
                     f"{(learned['reduction'] - adaptive['reduction']) * 100:+.2f} pt, p50 "
                     f"{learned['p50_ms'] - adaptive['p50_ms']:+.2f} ms")
    for workload, rows in table.items():
        learned = rows["learned"]
        gap = learned.get("p50_gap_pct")
        lines.append(f"- {workload}, learned vs the oracle at equal reduction: p50 "
                     f"{_figure(gap, '{:+.1f} %')} (goal within 10 %): "
                     f"{'met' if gap is not None and gap <= 10.0 else 'NOT met'}")
    return lines


def markdown(table, latency):
    out = [f"Upstream latency per call: lognormal, median {latency.median_s * 1e3:.2f} ms, "
           f"p99 {latency.p99_s * 1e3:.2f} ms. Latency = wait in the group + upstream call. "
           "Oracle: the hindsight-optimal schedule inside the 50 ms / 128 envelope "
           "(rl/levee_rl/oracle.py); its p50 at the policy's reduction, and its reduction at the "
           "policy's p50; — where no schedule in the envelope matches.", ""]
    for workload, rows in table.items():
        requests = next(iter(rows.values()))["requests"]
        out += [f"**{workload}** ({requests} requests)", "",
                "| Policy | Upstream reduction | p50 latency | p99 latency | Forced flush rate "
                "| Avg batch size | Oracle p50 at this reduction | p50 vs oracle "
                "| Oracle reduction at this p50 |",
                "|---|---|---|---|---|---|---|---|---|"]
        for label, r in rows.items():
            out.append(
                f"| {label} | {r['reduction'] * 100:.2f} % | {r['p50_ms']:.2f} ms | "
                f"{r['p99_ms']:.2f} ms | {r['forced_rate'] * 100:.2f} % | {r['mean_batch']:.2f} | "
                f"{_figure(r['p50_at_equal_reduction_ms'], '{:.2f} ms')} | "
                f"{_figure(r['p50_gap_pct'], '{:+.1f} %')} | "
                f"{_figure(r['reduction_at_equal_p50'], '{:.2%}')} |")
        out.append("")
    out += ["Goals (issue 18) in simulation:", ""] + goal_lines(table)
    return "\n".join(out)


def charts(table, charts_dir):
    """policies-latency-vs-reduction.png (p50 and p99 vs reduction) and policies-p50.png."""
    os.makedirs(charts_dir, exist_ok=True)
    workloads_ = list(table)
    fig, axes = plt.subplots(1, len(workloads_), figsize=(5 * len(workloads_), 4))
    for ax, workload in zip(axes, workloads_):
        for label, r in table[workload].items():
            ax.scatter(r["reduction"] * 100, r["p50_ms"], marker="o")
            ax.scatter(r["reduction"] * 100, r["p99_ms"], marker="x", color="grey")
            ax.annotate(label, (r["reduction"] * 100, r["p50_ms"]), fontsize=8)
        ax.set_title(f"{workload} (o p50, x p99)")
        ax.set_xlabel("upstream reduction (%)")
        ax.set_ylabel("latency (ms)")
        ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(os.path.join(charts_dir, "policies-latency-vs-reduction.png"), dpi=110)
    plt.close(fig)

    labels = list(table[workloads_[0]])
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(labels)
    for k, label in enumerate(labels):
        ax.bar(np.arange(len(workloads_)) + k * width, [table[w][label]["p50_ms"] for w in workloads_],
               width, label=label)
    ax.set_xticks(np.arange(len(workloads_)) + 0.4 - width / 2, workloads_)
    ax.set_ylabel("p50 latency (ms)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(charts_dir, "policies-p50.png"), dpi=110)
    plt.close(fig)


def write_table(doc_path, text):
    """Replaces the table between the markers in docs/policies_offline.md (appends it if absent)."""
    block = f"{TABLE_BEGIN}\n{text}\n{TABLE_END}"
    current = open(doc_path, encoding="utf-8").read() if os.path.exists(doc_path) else ""
    if TABLE_BEGIN in current:
        pattern = re.escape(TABLE_BEGIN) + ".*?" + re.escape(TABLE_END)
        current = re.sub(pattern, lambda _: block, current, flags=re.S)
    else:
        current += ("\n" if current else "") + block + "\n"
    with open(doc_path, "w", encoding="utf-8") as out:
        out.write(current)


def run(model_path, docs_dir, latency, seed):
    table = evaluate(model_path, latency, seed)
    text = markdown(table, latency)
    print(text)
    write_table(os.path.join(docs_dir, "policies_offline.md"), text)
    charts(table, os.path.join(docs_dir, "charts"))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="models/flush_policy.onnx")
    parser.add_argument("--docs", default="docs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--telemetry", help="levee flush telemetry (JSONL) to fit the upstream latency")
    args = parser.parse_args()
    latency = (LogNormalLatency.from_telemetry(args.telemetry) if args.telemetry
               else workloads.EVALUATION_LATENCY)
    run(args.model, args.docs, latency, args.seed)


if __name__ == "__main__":
    main()
