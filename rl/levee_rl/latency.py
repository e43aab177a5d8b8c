"""Upstream latency distributions: lognormal from a median and p99, or fitted from telemetry."""

import json
import math

import numpy as np

Z99 = 2.3263478740408408  # the standard normal's 0.99 quantile


class LogNormalLatency:
    """Per-call upstream latency (seconds), lognormal, given by its median and p99."""

    def __init__(self, median_s, p99_s):
        if not 0.0 < median_s <= p99_s:
            raise ValueError("need 0 < median <= p99")
        self.median_s = median_s
        self.p99_s = p99_s
        self.mu = math.log(median_s)
        self.sigma = math.log(p99_s / median_s) / Z99

    def sample(self, rng, count=None):
        """One latency, or an array of `count`."""
        return rng.lognormal(self.mu, self.sigma, count)

    @classmethod
    def fit(cls, latencies_s):
        """The lognormal with the sample's log-mean and log-std (maximum likelihood)."""
        logs = np.log(np.maximum(np.asarray(latencies_s, dtype=float), 1e-9))
        median = math.exp(float(logs.mean()))
        return cls(median, median * math.exp(Z99 * float(logs.std())))

    @classmethod
    def from_telemetry(cls, path):
        """Fits levee's JSONL flush telemetry (`upstream_latency_ns` of each flush)."""
        latencies = []
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    if record.get("upstream_latency_ns") is not None:
                        latencies.append(record["upstream_latency_ns"] * 1e-9)
        if len(latencies) < 2:
            raise ValueError(f"{path}: fewer than two flushes with an upstream latency")
        return cls.fit(latencies)
