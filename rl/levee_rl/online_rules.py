"""What a policy that decides online can reach, next to the hindsight oracle (issue 18).

The oracle (oracle.py) knows every future arrival. Issue 18 asks the learned policy to come
within 10 % of the oracle's p50 at equal reduction on every held-out workload. This module asks
how close simple online rules come on the same traces, and gives the bound that Wald's identity
puts on any online policy on a Poisson stream:

- Rules: fixed timers, "size k or max_wait", and "a quiet gap of g once the group holds m"
  (the last is what the oracle does with hindsight: it cuts where arrivals pause). Each rule is
  replayed in the simulator with the evaluation's arrivals and upstream draws, and its distance
  from the oracle is read off the same Frontier as the evaluation table's.
- Wald: on a Poisson stream of rate lambda, a group that a policy holds until a stopping time T
  (T depends only on what has arrived so far) gains lambda * E[T] members in expectation, so a
  group's mean size is 1 + lambda * E[T]. A reduction r needs a mean size of 1 / (1 - r): every
  policy at that reduction holds its groups `wald_hold(r, lambda)` on average, however it decides.

CLI: `PYTHONPATH=rl /usr/bin/python3 -m levee_rl.online_rules [--workload poisson-80 ...]`
prints every rule's reduction, p50 and distance from the oracle, then the best rule at or above
the shipped model's reduction (docs/policies_offline.md "What an online rule reaches").
"""

import argparse

from levee_rl import evaluate, oracle, workloads
from levee_rl.metrics import summarise
from levee_rl.policies import EnvelopeOnly
from levee_rl.simulator import Envelope, simulate

ENVELOPE = evaluate.ENVELOPE


class SizeOrGap:
    """Flushes once the group holds `size` members, or once it holds `min_size` and nothing has
    arrived for `gap` seconds; the envelope (max_wait, size_cap) still binds."""

    tick = True

    def __init__(self, size, gap=None, min_size=1):
        self.size = size
        self.gap = gap
        self.min_size = min_size
        self.name = "size-or-gap"

    def decide(self, decision):
        if decision.size >= self.size:
            return True
        return (self.gap is not None and decision.size >= self.min_size
                and decision.since_last >= self.gap)


def rules():
    """(label, policy, envelope) of every rule compared."""
    found = []
    for wait_ms in (2, 5, 10, 20, 30, 40, 45, 48, 50):
        found.append((f"timer {wait_ms} ms", EnvelopeOnly("timer"),
                      Envelope(size_cap=128, max_wait=wait_ms / 1000)))
    for size in (2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64, 96):
        found.append((f"size {size} or 50 ms", SizeOrGap(size), ENVELOPE))
    for gap_ms in (2, 5, 10, 20, 30):
        for min_size in (1, 2, 3, 5, 8, 16, 32):
            found.append((f"gap {gap_ms} ms once {min_size}",
                          SizeOrGap(10**9, gap_ms / 1000, min_size), ENVELOPE))
    return found


def wald_hold(reduction, rate):
    """The mean time (seconds) a policy must hold each group to reach `reduction` on a Poisson
    stream of `rate` per second: (1 / (1 - reduction) - 1) / rate."""
    if not 0.0 <= reduction < 1.0 or rate <= 0.0:
        raise ValueError("reduction must be in [0, 1) and rate positive")
    return (1.0 / (1.0 - reduction) - 1.0) / rate


def compare(workload, seed, latency=workloads.EVALUATION_LATENCY):
    """[(label, summary with the oracle distances)] of every rule on one held-out workload, on
    the evaluation's own trace and upstream draws (evaluate.evaluate's)."""
    names = [name for name, _ in workloads.HELD_OUT]
    index = names.index(workload)
    times, draws = evaluate.trace(workloads.HELD_OUT[index][1], seed, index)
    frontier = oracle.Frontier(times, latency, draws, ENVELOPE)
    rows = []
    for label, policy, envelope in rules():
        row = summarise(simulate(times, policy, latency, draws(), envelope), times.size)
        row.update(oracle.distance(row, frontier))
        rows.append((label, row))
    return rows


def best_at(rows, reduction):
    """The row with the smallest p50 gap among those reaching at least `reduction`, or None."""
    reaching = [(label, row) for label, row in rows
                if row["reduction"] >= reduction and row.get("p50_gap_pct") is not None]
    return min(reaching, key=lambda item: item[1]["p50_gap_pct"], default=None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="the evaluation's seed (make train's)")
    parser.add_argument("--workload", action="append",
                        help="a held-out workload (repeatable; default: all)")
    parser.add_argument("--at", type=float, action="append",
                        help="also print the best rule at or above this reduction (0..1), one "
                             "per --workload, in order")
    args = parser.parse_args()
    chosen = args.workload or [name for name, _ in workloads.HELD_OUT]
    for position, workload in enumerate(chosen):
        rows = compare(workload, args.seed)
        for label, row in rows:
            gap = row.get("p50_gap_pct")
            print(f"{workload:18s} {label:22s} reduction {row['reduction'] * 100:6.2f} %  "
                  f"p50 {row['p50_ms']:6.2f} ms  oracle p50 at it "
                  f"{row.get('p50_at_equal_reduction_ms') or float('nan'):6.2f} ms  "
                  f"gap {'—' if gap is None else f'{gap:+.1f} %'}")
        best = best_at(rows, 0.0)
        print(f"{workload}: closest to the oracle at any reduction: {best[0]} "
              f"({best[1]['reduction'] * 100:.2f} %, {best[1]['p50_gap_pct']:+.1f} %)")
        if args.at and position < len(args.at):
            found = best_at(rows, args.at[position])
            where = "none" if found is None else (
                f"{found[0]} ({found[1]['reduction'] * 100:.2f} %, "
                f"{found[1]['p50_gap_pct']:+.1f} %)")
            print(f"{workload}: closest at or above {args.at[position] * 100:.2f} %: {where}")


if __name__ == "__main__":
    main()
