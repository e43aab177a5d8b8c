"""Seed 000's table row for one simulated run: every request is counted once."""

import numpy as np


def summarise(result, requests):
    """Upstream reduction, latency p50/p99 (ms, wait + upstream), forced flush rate, mean batch."""
    flushes = result.flushes
    sizes = np.array([f.size for f in flushes])
    if sizes.sum() != requests or result.latencies.size != requests:
        raise AssertionError("a request was lost or counted twice")
    return {
        "requests": requests,
        "upstream_calls": len(flushes),
        "reduction": 1.0 - len(flushes) / requests,
        "p50_ms": float(np.percentile(result.latencies, 50) * 1e3),
        "p99_ms": float(np.percentile(result.latencies, 99) * 1e3),
        "forced_rate": sum(f.forced for f in flushes) / len(flushes),
        "mean_batch": float(sizes.mean()),
    }
