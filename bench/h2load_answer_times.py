#!/usr/bin/env python3
"""When a burst's answers arrived, from h2load's --log-file (one line per request: start
time in µs since the epoch, status, time to the answer in µs). For each file: the span over
which h2load started the requests, the latency's min/p50/p99, and when the first, median and
last answers arrived, counted from the burst's first request. A burst whose first answer
comes late spent the time before any answer was written (bench/grpc_collapse_burst.sh's
logs; docs/benchmarks.md, issue 20).

    bench/h2load_answer_times.py RUN_DIR/h2load-*-h2load-levee*.log
"""
import sys


def describe(path):
    rows = [line.split() for line in open(path, encoding="ascii") if line.strip()]
    if not rows:
        return f"{path}: no requests"
    starts = [int(r[0]) for r in rows]
    latencies = sorted(int(r[2]) for r in rows)
    t0 = min(starts)
    ends = sorted(s + int(r[2]) - t0 for s, r in zip(starts, rows))
    n = len(rows)
    ms = lambda us: us / 1000  # noqa: E731
    return (f"{path}: {n} requests, started over {ms(max(starts) - t0):.2f} ms; latency "
            f"min {ms(latencies[0]):.2f} p50 {ms(latencies[n // 2]):.2f} "
            f"p99 {ms(latencies[max(0, int(n * 0.99) - 1)]):.2f} ms; answers at "
            f"{ms(ends[0]):.2f} (first) {ms(ends[n // 2]):.2f} (median) {ms(ends[-1]):.2f} (last) ms")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for log in sys.argv[1:]:
        print(describe(log))
