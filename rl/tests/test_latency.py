"""Upstream latency: the lognormal has the median and p99 it is given, and fits telemetry."""

import json
import os
import tempfile
import unittest

import numpy as np

from levee_rl.latency import LogNormalLatency


class LatencyTest(unittest.TestCase):
    def test_quantiles_match_parameters(self):
        samples = LogNormalLatency(0.002, 0.030).sample(np.random.default_rng(1), 200_000)
        self.assertAlmostEqual(np.median(samples), 0.002, delta=0.00005)
        self.assertAlmostEqual(np.percentile(samples, 99), 0.030, delta=0.0015)

    def test_fit_from_levee_telemetry(self):
        latencies = LogNormalLatency(0.005, 0.050).sample(np.random.default_rng(2), 5000)
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "flushes.jsonl")
            with open(path, "w", encoding="utf-8") as out:
                for ns in latencies * 1e9:
                    out.write(json.dumps({"ts_unix_ns": 0, "route": "r", "reason": "timeout", "size": 3,
                                          "age_ns": 50_000_000, "upstream_latency_ns": int(ns),
                                          "status": 200, "observation": [0, 1, 0, 0], "action": None,
                                          "policy": "timer"}) + "\n")
            fitted = LogNormalLatency.from_telemetry(path)
        self.assertAlmostEqual(fitted.median_s, 0.005, delta=0.0002)
        self.assertAlmostEqual(fitted.p99_s, 0.050, delta=0.004)


if __name__ == "__main__":
    unittest.main()
