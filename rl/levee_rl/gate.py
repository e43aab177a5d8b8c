"""Whether a newly trained model may replace the one levee serves.

On the traffic levee recorded (the arrival traces of its flush telemetry, trace.py), replayed
in the simulator with the upstream latency fitted to the same telemetry, the candidate must be
at least as good as the served model on both upstream reduction and p50 latency (each the mean
over a few sequences of upstream draws, the same for both). A candidate that only moves along
the trade-off (more reduction for more latency, or the reverse) is not promoted: training
prices an upstream call, and on one recorded workload that price can buy either.

    PYTHONPATH=rl /usr/bin/python3 -m levee_rl.gate --telemetry flushes.jsonl \\
        --served served.onnx --candidate new.onnx [--max-wait 0.05 --size-cap 128]

Exit status 0: promote; 1: keep the served model; 2: the comparison could not be made.
"""

import argparse
import sys
import warnings

import numpy as np

from levee_rl import trace
from levee_rl.latency import LogNormalLatency
from levee_rl.metrics import summarise
from levee_rl.onnx_eval import OnnxMlp
from levee_rl.policies import Learned
from levee_rl.simulator import Envelope, simulate

DRAWS = 5


def score(model_path, traces, latency, envelope, draws=DRAWS):
    """{"reduction", "p50_ms"}: the model on every recorded route, mean over `draws` draws."""
    policy = Learned(OnnxMlp(model_path))
    reductions, p50s = [], []
    for times in traces.values():
        for draw in range(draws):
            row = summarise(simulate(times, policy, latency, np.random.default_rng(draw), envelope),
                            times.size)
            reductions.append(row["reduction"])
            p50s.append(row["p50_ms"])
    return {"reduction": float(np.mean(reductions)), "p50_ms": float(np.mean(p50s))}


def compare(telemetry_path, served_path, candidate_path, envelope, draws=DRAWS):
    """(promote, served score, candidate score) on the recorded traffic."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traces = trace.arrival_traces(trace.read_events(telemetry_path))
    traces = {route: times for route, times in traces.items() if times.size > 1}
    if not traces:
        raise ValueError(f"{telemetry_path}: no recorded arrivals to replay")
    latency = LogNormalLatency.from_telemetry(telemetry_path)
    served = score(served_path, traces, latency, envelope, draws)
    candidate = score(candidate_path, traces, latency, envelope, draws)
    promote = (candidate["reduction"] >= served["reduction"] and
               candidate["p50_ms"] <= served["p50_ms"])
    return promote, served, candidate


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--telemetry", required=True)
    parser.add_argument("--served", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--max-wait", type=float, default=0.050, help="the route's, seconds")
    parser.add_argument("--size-cap", type=int, default=128, help="the route's")
    parser.add_argument("--draws", type=int, default=DRAWS)
    args = parser.parse_args()
    try:
        promote, served, candidate = compare(args.telemetry, args.served, args.candidate,
                                             Envelope(args.size_cap, args.max_wait), args.draws)
    except (OSError, ValueError) as error:
        print(f"gate: {error}", file=sys.stderr)
        return 2
    for name, row in (("served", served), ("candidate", candidate)):
        print(f"gate: {name:9s} reduction {row['reduction'] * 100:.3f} %, p50 {row['p50_ms']:.3f} ms "
              "(recorded traffic, simulated)")
    print(f"gate: {'promote the candidate' if promote else 'keep the served model'}")
    return 0 if promote else 1


if __name__ == "__main__":
    sys.exit(main())
