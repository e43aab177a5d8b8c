"""Arrival processes of one route: sorted arrays of request times (seconds), seeded.

Each takes a numpy Generator so a trace is a pure function of its seed. The held-out
evaluation workloads (waves, sparse-then-burst, diurnal) are shaped after seed 000's k6 tests;
training uses the others.
"""

import numpy as np


def poisson(rng, rate_per_s, duration_s):
    """Homogeneous Poisson arrivals."""
    count = rng.poisson(rate_per_s * duration_s)
    return np.sort(rng.uniform(0.0, duration_s, count))


def inhomogeneous(rng, rate_fn, peak_per_s, duration_s):
    """Poisson arrivals with rate rate_fn(t) <= peak_per_s, by thinning."""
    candidates = poisson(rng, peak_per_s, duration_s)
    keep = rng.uniform(0.0, peak_per_s, candidates.size) < rate_fn(candidates)
    return candidates[keep]


def bursty(rng, low_per_s, high_per_s, mean_low_s, mean_high_s, duration_s):
    """A two-state Markov-modulated Poisson process: quiet and busy spells of exponential length."""
    pieces, t, busy = [], 0.0, False
    while t < duration_s:
        spell = min(rng.exponential(mean_high_s if busy else mean_low_s), duration_s - t)
        pieces.append(t + poisson(rng, high_per_s if busy else low_per_s, spell))
        t += spell
        busy = not busy
    return np.concatenate(pieces)


def spike(rng, base_per_s, spike_per_s, spike_every_s, spike_len_s, duration_s):
    """A base rate with short spikes at a fixed period, each starting at a random phase."""
    phase = rng.uniform(0.0, spike_every_s)

    def rate(t):
        in_spike = ((t - phase) % spike_every_s) < spike_len_s
        return np.where(in_spike, spike_per_s, base_per_s)

    return inhomogeneous(rng, rate, max(base_per_s, spike_per_s), duration_s)


def diurnal(rng, low_per_s, high_per_s, period_s, duration_s):
    """A slowly varying rate: a sinusoid between low and high with the given period."""

    def rate(t):
        return low_per_s + (high_per_s - low_per_s) * 0.5 * (1.0 - np.cos(2.0 * np.pi * t / period_s))

    return inhomogeneous(rng, rate, high_per_s, duration_s)


def waves(rng, wave_size=50, every_s=0.050, spread_s=0.001, duration_s=10.0):
    """Seed 000's waves: wave_size concurrent requests every every_s, arriving within spread_s."""
    starts = np.arange(0.0, duration_s, every_s)
    times = starts[:, None] + rng.uniform(0.0, spread_s, (starts.size, wave_size))
    return np.sort(times.ravel())


def periodic_clients(rng, clients, period_s, start_s, duration_s, jitter=0.1):
    """k6-style clients: each sends one request per period (period jittered by ±jitter)."""
    pieces = []
    for _ in range(clients):
        gaps = period_s * (1.0 + rng.uniform(-jitter, jitter, int(duration_s / period_s) + 2))
        times = start_s + rng.uniform(0.0, period_s) + np.concatenate(([0.0], np.cumsum(gaps)))
        pieces.append(times[times < start_s + duration_s])
    return np.sort(np.concatenate(pieces))


def sparse_then_burst(rng):
    """Seed 000 k6 #4: 5 clients x 1 req/s for 30 s, then 200 clients x 1 req/100 ms for 10 s."""
    sparse = periodic_clients(rng, 5, 1.0, 0.0, 30.0)
    burst = periodic_clients(rng, 200, 0.1, 30.0, 10.0)
    return np.concatenate((sparse, burst))


def clumped(rng, clump_rate_per_s, min_size, max_size, min_spread_s, max_spread_s, duration_s):
    """Compound Poisson bursts: clumps at Poisson times, each of a uniform random size whose
    requests arrive within a uniform random spread (the shape of fan-out or retry storms)."""
    starts = poisson(rng, clump_rate_per_s, duration_s)
    sizes = rng.integers(min_size, max_size + 1, starts.size)
    spreads = rng.uniform(min_spread_s, max_spread_s, starts.size)
    pieces = [start + rng.uniform(0.0, spread, size) for start, size, spread in zip(starts, sizes, spreads)]
    return np.sort(np.concatenate(pieces)) if pieces else np.empty(0)
