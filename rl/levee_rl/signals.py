"""The route signals levee measures, and the observation built from them.

A port of src/policy/route_signals.{hpp,cpp} and src/policy/observation.{hpp,cpp}: the policy was trained on these features, so they
must be computed exactly as levee computes them or the shipped model sees inputs it never saw.
"""

import bisect
import math
from collections import deque

OBS_LATENCY_MS = 500.0
OBS_RATE_PER_S = 100.0
FIRST_BUCKET_NS = 10_000.0
BUCKETS_PER_DOUBLING = 4.0
LATENCY_BUCKETS = 96


def bucket_of(latency_s):
    """The histogram bucket of a latency, as RouteSignals::bucket_of (four per doubling from 10 µs)."""
    ns = latency_s * 1e9
    if not ns > FIRST_BUCKET_NS:
        return 0
    index = math.ceil(BUCKETS_PER_DOUBLING * math.log2(ns / FIRST_BUCKET_NS))
    return int(min(max(index, 1), LATENCY_BUCKETS - 1))


def bucket_upper_bound(bucket):
    """The latency (seconds) a bucket reports: its upper bound, rounded up to whole ns like levee."""
    return math.ceil(FIRST_BUCKET_NS * 2.0 ** (bucket / BUCKETS_PER_DOUBLING)) * 1e-9


def bounded_ratio(amount, bound):
    """amount/bound clamped to [0, 1]; a zero bound counts as reached (levee's bounded_ratio)."""
    if not bound > 0.0:
        return 1.0 if amount > 0.0 else 0.0
    ratio = amount / bound
    if not ratio > 0.0:
        return 0.0
    return min(ratio, 1.0)


def unit_clamp(value):
    """value clamped to [0, 1], NaN to 0."""
    if not value > 0.0:
        return 0.0
    return min(value, 1.0)


OBSERVATION_VERSION = 2
OBSERVATION_SIZE = 9
TIME_RESOLUTION = 1000.0  # max_wait / this maps to 0.1 on the log time scale
SHORT_TAU_S = 0.010
GROWTH_WINDOW_DIVISOR = 32  # GroupArrivals::growth_window: max_wait / 32


def log_time(duration_s, max_wait_s):
    """A duration on the observation's log time scale: log1p(1000 t / W) / log1p(1000), clamped."""
    if not max_wait_s > 0.0:
        return 1.0 if duration_s > 0.0 else 0.0
    scaled = TIME_RESOLUTION * duration_s / max_wait_s
    if not scaled > 0.0:
        return 0.0
    return unit_clamp(math.log1p(scaled) / math.log1p(TIME_RESOLUTION))


def make_observation(size, size_cap, age_s, max_wait_s, rate_per_s, p99_s, since_last_s=0.0,
                     short_rate_per_s=0.0, recent=0, span_s=0.0):
    """The nine features of observation version 2, exactly as levee's make_observation
    (src/policy/observation.cpp); p99_s None: no call in the window."""
    p99_ms = 0.0 if p99_s is None else max(p99_s * 1e3, 0.0)
    measured = short_rate_per_s > 0.0 and math.isfinite(short_rate_per_s)
    remaining = max(max_wait_s - age_s, 0.0)
    expected = short_rate_per_s * remaining if measured else 0.0
    return [
        bounded_ratio(float(size), float(size_cap)),
        bounded_ratio(age_s, max_wait_s),
        unit_clamp(math.log1p(p99_ms) / math.log1p(OBS_LATENCY_MS)),
        unit_clamp(math.tanh(rate_per_s / OBS_RATE_PER_S)),
        log_time(since_last_s, max_wait_s),
        log_time(1.0 / short_rate_per_s, max_wait_s) if measured else 1.0,
        unit_clamp(recent / size) if size > 0 else 0.0,
        unit_clamp(expected / (expected + size)) if expected + size > 0.0 else 0.0,
        log_time(span_s / (size - 1), max_wait_s) if size > 1 else 1.0,
    ]


class DecayedRate:
    """An exponentially weighted arrival rate, kept as (rate at the last arrival, its time)."""

    def __init__(self, tau_s):
        self.tau_s = tau_s
        self.rate = 0.0
        self.last = None

    def record(self, now):
        weight = 1.0 / self.tau_s
        if self.last is None:
            self.rate, self.last = weight, now
        elif now >= self.last:
            self.rate = self.rate * math.exp(-(now - self.last) / self.tau_s) + weight
            self.last = now
        else:
            self.rate += weight * math.exp(-(self.last - now) / self.tau_s)

    def at(self, now):
        if self.last is None:
            return 0.0
        if now <= self.last:
            return self.rate
        return self.rate * math.exp(-(now - self.last) / self.tau_s)


class RouteSignals:
    """Arrival rate (EWMA, time constant tau) and upstream p99 (log histogram over a window).

    The rate is kept as (rate at the last arrival, its time) and decayed exactly, as in levee.
    The p99 window is exact here (levee's is cut into 8 slices, so its window is 7/8 to 1 times
    as long); the value reported is the same bucket upper bound.
    """

    def __init__(self, tau_s=1.0, latency_window_s=10.0, short_tau_s=SHORT_TAU_S):
        self.tau_s = tau_s
        self.window_s = latency_window_s
        self._rate = DecayedRate(tau_s)
        self._short_rate = DecayedRate(short_tau_s)
        self._pending = []  # sorted (completion time, bucket) of calls still in flight
        self._window = deque()  # (completion time, bucket) of completed calls, oldest first
        self._counts = [0] * LATENCY_BUCKETS

    def record_arrival(self, now):
        """One request arrived at `now` (seconds); arrivals come in time order in the simulator."""
        self._rate.record(now)
        self._short_rate.record(now)

    def arrival_rate(self, now):
        """The rate (tau 1 s) at `now`, decayed since the last arrival."""
        return self._rate.at(now)

    def short_arrival_rate(self, now):
        """The short-horizon rate (tau 10 ms) at `now`."""
        return self._short_rate.at(now)

    def record_upstream_call(self, latency_s, completed_at):
        """An upstream call that will complete at `completed_at`; it counts from then on."""
        bisect.insort(self._pending, (completed_at, bucket_of(latency_s)))

    def upstream_p99(self, now):
        """The p99 (seconds) of calls completed in (now - window, now], or None without any."""
        while self._pending and self._pending[0][0] <= now:
            entry = self._pending.pop(0)
            self._window.append(entry)
            self._counts[entry[1]] += 1
        while self._window and self._window[0][0] <= now - self.window_s:
            self._counts[self._window.popleft()[1]] -= 1
        samples = len(self._window)
        if samples == 0:
            return None
        rank = math.ceil(0.99 * samples)
        seen = 0
        for bucket, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                return bucket_upper_bound(bucket)
        return bucket_upper_bound(LATENCY_BUCKETS - 1)
