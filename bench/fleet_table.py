#!/usr/bin/env python3
"""bench/fleet_collapse.sh's summary: medians of rounds per configuration, and results.tsv.

Reads the run's results.jsonl (one levee-bench line a run, with the fields the script adds:
part, round, upstream_latency, per_instance_requests, fleet_metrics, redis_cmdstats_delta,
monitor_*), prints the tables docs/benchmarks.md quotes, and writes results.tsv (one row a
run) next to the JSON lines.
"""

import argparse
import collections
import json
import os
import statistics
import sys


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec=".3f"):
    return "-" if value is None else format(value, spec)


def cpu_cell(rs, names=("levee", "redis", "upstream")):
    """Median CPU % of one core of each process over the rounds, "levee/redis/upstream"."""
    return "/".join(fmt(median([r.get("cpu_percent", {}).get(n) for r in rs]), ".0f") for n in names)


def part_a(runs):
    print("A: seed 000's waves through HAProxy round robin (median of rounds)")
    by_latency = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in runs:
        by_latency[r["upstream_latency"]][r["label"]].append(r)
    for latency, configs in by_latency.items():
        single = configs.get("single", [])
        calls_single = median([r["upstream_calls"] for r in single])
        p50_single = median([r["p50_ms"] for r in single])
        print(f"\nupstream latency {latency}")
        print("config     rounds  upstream calls  x single  p50 ms  p50 - single  p99 ms  errors  "
              "CPU % levee/redis/haproxy  per-levee requests (round 1)  fleet counters (median, nonzero)")
        for label in ("single", "fleet3", "nofleet3"):
            rs = configs.get(label, [])
            if not rs:
                continue
            calls = median([r["upstream_calls"] for r in rs])
            p50 = median([r["p50_ms"] for r in rs])
            ratio = calls / calls_single if calls is not None and calls_single else None
            delta = p50 - p50_single if p50 is not None and p50_single is not None else None
            fleet_keys = sorted({k for r in rs for k in r["fleet_metrics"]
                                 if not k.startswith("levee_fleet_redis_commands_total")})
            medians = {k: median([r["fleet_metrics"].get(k, 0) for r in rs]) for k in fleet_keys}
            fleet = ", ".join(f"{k.replace('levee_fleet_', '')}={v:.0f}" for k, v in medians.items() if v)
            print(f"{label:<10} {len(rs):>6}  {fmt(calls, '.0f'):>14}  {fmt(ratio, '.4f'):>8}  "
                  f"{fmt(p50):>6}  {fmt(delta, '+.3f'):>12}  {fmt(median([r['p99_ms'] for r in rs])):>6}  "
                  f"{sum(r['errors'] for r in rs):>6}  {cpu_cell(rs, ('levee', 'redis', 'haproxy')):>24}  "
                  f"{str(rs[0]['per_instance_requests']):<28}  {fleet or '-'}")
        print("per round (upstream calls, p50 ms): " + "; ".join(
            f"{label} " + " ".join(f"{r['upstream_calls']}/{r['p50_ms']:.2f}" for r in sorted(rs, key=lambda r: r["round"]))
            for label, rs in configs.items()))


def part_b(runs):
    print("\nB: a key that never repeats, closed loop, 1 levee (median of rounds)")
    configs = collections.defaultdict(list)
    for r in runs:
        configs[r["label"]].append(r)
    base = median([r["rate_achieved"] for r in configs.get("nofleet", [])])
    print("config   rounds  req/s     x nofleet  p50 ms  p99 ms  errors  levee CPU us/req  "
          "CPU % levee/redis/upstream  levee redis cmds/req  "
          "redis-server calls/req (INFO commandstats, scripts' own calls included)")
    for label in ("fleet", "nofleet"):
        rs = configs.get(label, [])
        if not rs:
            continue
        rate = median([r["rate_achieved"] for r in rs])
        ratio = rate / base if rate is not None and base else None
        commands = sorted({k for r in rs for k in r["redis_calls_per_request"]})
        per_req = ", ".join(f"{k} {median([r['redis_calls_per_request'].get(k, 0) for r in rs]):.3f}" for k in commands)
        print(f"{label:<8} {len(rs):>6}  {fmt(rate, '.0f'):>8}  {fmt(ratio, '.4f'):>9}  "
              f"{fmt(median([r['p50_ms'] for r in rs])):>6}  {fmt(median([r['p99_ms'] for r in rs])):>6}  "
              f"{sum(r['errors'] for r in rs):>6}  {fmt(median([r.get('levee_cpu_us_per_request') for r in rs]), '.1f'):>16}  "
              f"{cpu_cell(rs):>26}  "
              f"{fmt(median([r['levee_redis_commands_per_request'] for r in rs])):>20}  "
              f"{per_req or '-'}")
    print("per round req/s: " + "; ".join(
        f"{label} " + " ".join(f"{r['rate_achieved']:.0f}" for r in sorted(rs, key=lambda r: r["round"]))
        for label, rs in configs.items()))


def part_path(runs, delay_ms):
    print(f"\npath: levee's Redis behind a {delay_ms} ms delay a round trip, 20 req/s (median of rounds)")
    configs = collections.defaultdict(list)
    for r in runs:
        configs[r["label"]].append(r)
    base = median([r["p50_ms"] for r in configs.get("nofleet", [])])
    # The yardstick's one round trip as measured (the delay plus the proxy's own lateness).
    cache = median([r["p50_ms"] for r in configs.get("cache", [])])
    one_trip = cache - base if cache is not None and base is not None and cache > base else None
    print("config   rounds  p50 ms  p99 ms  (p50 - nofleet) / delay  / cache's trip  levee redis cmds/req  "
          "MONITOR: sent by levee a request; run by scripts (totals, round 1)")
    for label in ("fleet", "nofleet", "cache"):
        rs = configs.get(label, [])
        if not rs:
            continue
        p50 = median([r["p50_ms"] for r in rs])
        on_path = (p50 - base) / delay_ms if p50 is not None and base is not None else None
        by_trip = (p50 - base) / one_trip if p50 is not None and one_trip else None
        print(f"{label:<8} {len(rs):>6}  {fmt(p50):>6}  {fmt(median([r['p99_ms'] for r in rs])):>6}  "
              f"{fmt(on_path, '.2f'):>23}  {fmt(by_trip, '.2f'):>13}  {fmt(median([r['levee_redis_commands_per_request'] for r in rs])):>20}  "
              f"{fmt(median([r.get('monitor_sent_per_request') for r in rs]))}; "
              f"sent {rs[0].get('monitor_sent', {})}, scripted {rs[0].get('monitor_scripted', {})}")


def write_tsv(runs, path):
    columns = ["part", "upstream_latency", "label", "round", "instances", "requests", "ok", "errors",
               "mismatches", "upstream_calls", "rate_achieved", "p50_ms", "p99_ms", "cpu_percent",
               "levee_cpu_us_per_request", "levee_redis_commands_per_request", "monitor_sent_per_request", "per_instance_requests",
               "fleet_metrics", "redis_cmdstats_delta"]
    with open(path, "w") as f:
        f.write("\t".join(columns) + "\n")
        for r in runs:
            f.write("\t".join(
                json.dumps(r.get(c), sort_keys=True) if isinstance(r.get(c), (dict, list)) else
                ("" if r.get(c) is None else str(r.get(c))) for c in columns) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--path-delay", type=float, default=10.0)
    args = parser.parse_args()
    runs = [json.loads(line) for line in open(args.results) if line.strip()]
    parts = collections.defaultdict(list)
    for r in runs:
        parts[r["part"]].append(r)
    if parts["A"]:
        part_a(parts["A"])
    if parts["B"]:
        part_b(parts["B"])
    if parts["path"]:
        part_path(parts["path"], args.path_delay)
    write_tsv(runs, os.path.join(os.path.dirname(os.path.abspath(args.results)), "results.tsv"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
