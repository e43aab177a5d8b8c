"""A discrete-event simulator of one route's collapse `window` slot under a flush policy.

Semantics (DESIGN.md "Flush policies"): a request arriving while a group is open joins it; when
the group flushes it makes one upstream call and the next arrival opens a new group. Every
member's latency is its wait in the group plus that call's latency. Decision points are every
arrival (the one that opens the group included) and a timer tick every `tick_s` while a group
is open; at each the envelope is checked first (size >= size_cap, age >= max_wait: a forced
flush) and the policy is asked only inside it. The max_wait deadline itself fires at exactly
open + max_wait, like levee's timer. Ties go deadline, then arrival, then tick.
"""

import math
from dataclasses import dataclass

import numpy as np

from levee_rl.signals import GROWTH_WINDOW_DIVISOR, RouteSignals, make_observation


@dataclass
class Decision:
    """What a policy sees at one decision point (levee's GroupState plus the route signals)."""

    now: float
    size: int
    size_cap: int
    age: float
    max_wait: float
    rate: float
    p99: float | None
    since_last: float = 0.0  # since the group's newest member arrived
    short_rate: float = 0.0  # the route's arrival rate over tau = 10 ms
    recent: int = 0  # members that arrived within the last max_wait / 32
    span: float = 0.0  # from the group's opening to its newest member's arrival

    @property
    def observation(self):
        """The features levee feeds the learned policy (observation version 2)."""
        return make_observation(self.size, self.size_cap, self.age, self.max_wait, self.rate,
                                self.p99, self.since_last, self.short_rate, self.recent,
                                self.span)


@dataclass
class Flush:
    """One flushed group: the telemetry levee's JSONL sink writes for it."""

    time: float
    size: int
    age: float
    reason: str  # "size_cap" or "timeout" (forced by the envelope), or "policy"
    upstream_latency: float

    @property
    def forced(self):
        return self.reason != "policy"


@dataclass
class Envelope:
    """The hard limits checked before the policy, and how often a waiting group is re-asked."""

    size_cap: int = 128
    max_wait: float = 0.050
    tick: float = 0.001


@dataclass
class Result:
    """Every request's latency (wait + upstream), in arrival order, and every flush."""

    latencies: np.ndarray
    waits: np.ndarray
    flushes: list


def simulate(arrivals, policy, latency, rng, envelope=Envelope()):
    """Runs `arrivals` (sorted seconds) through the slot; `policy.decide(Decision) -> bool`.

    `policy.tick` (seconds, 0: arrivals only) says whether it is asked between arrivals; a
    policy with an `on_flush(Flush)` method is told of every flush (training uses it).
    """
    arrivals = np.asarray(arrivals, dtype=float)
    count = arrivals.size
    signals = RouteSignals()
    waits = np.empty(count)
    latencies = np.empty(count)
    flushes = []
    notify = getattr(policy, "on_flush", None)
    tick = envelope.tick if getattr(policy, "tick", 0.0) else 0.0
    i = 0
    first = 0  # index of the open group's first member
    opened = None  # time the open group opened; None: no group open
    ticks = 0  # ticks already taken in the open group

    def flush(now, reason):
        upstream = float(latency.sample(rng))
        signals.record_upstream_call(upstream, now + upstream)
        waits[first:i] = now - arrivals[first:i]
        latencies[first:i] = waits[first:i] + upstream
        record = Flush(now, i - first, now - opened, reason, upstream)
        flushes.append(record)
        if notify is not None:
            notify(record)

    growth_window = envelope.max_wait / GROWTH_WINDOW_DIVISOR

    def ask(now):
        recent_from = max(first, int(np.searchsorted(arrivals, now - growth_window, side="left")))
        decision = Decision(now, i - first, envelope.size_cap, now - opened, envelope.max_wait,
                            signals.arrival_rate(now), signals.upstream_p99(now),
                            since_last=now - arrivals[i - 1],
                            short_rate=signals.short_arrival_rate(now), recent=i - recent_from,
                            span=arrivals[i - 1] - opened)
        return bool(policy.decide(decision))

    while i < count or opened is not None:
        if opened is None:
            now = arrivals[i]
            signals.record_arrival(now)
            opened, first, ticks = now, i, 0
            i += 1
        else:
            deadline = opened + envelope.max_wait
            next_arrival = arrivals[i] if i < count else math.inf
            next_tick = opened + (ticks + 1) * tick if tick > 0.0 else math.inf
            if deadline <= next_arrival and deadline <= next_tick:
                flush(deadline, "timeout")
                opened = None
                continue
            if next_arrival <= next_tick:
                now = next_arrival
                signals.record_arrival(now)
                i += 1
            else:
                now = next_tick
                ticks += 1
        if i - first >= envelope.size_cap:
            reason = "size_cap"
        elif now - opened >= envelope.max_wait:
            reason = "timeout"
        elif ask(now):
            reason = "policy"
        else:
            continue
        flush(now, reason)
        opened = None
    return Result(latencies, waits, flushes)
