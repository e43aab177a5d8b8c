"""The promotion gate of the live loop: only a model at least as good on both figures."""

import json
import os
import tempfile
import unittest

import numpy as np
import torch

from levee_rl import arrivals, gate
from levee_rl.export import export
from levee_rl.signals import OBSERVATION_SIZE, OBSERVATION_VERSION
from levee_rl.simulator import Envelope


def constant_policy(flush):
    """A model that always answers FLUSH (flush=True) or always WAIT."""
    net = torch.nn.Sequential(torch.nn.Linear(OBSERVATION_SIZE, 2))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.copy_(torch.tensor([0.0, 1.0] if flush else [1.0, 0.0]))
    return net


class GateTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        times = arrivals.poisson(np.random.default_rng(3), 400.0, 1.0)
        ns = np.round(times * 1e9).astype(np.int64)
        path = os.path.join(self.dir.name, "t.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            # Recorded one request per group (levee's own flushes do not matter for replay).
            for k, t in enumerate(ns):
                out.write(json.dumps({"route": "api", "size": 1, "upstream_latency_ns": 1_000_000 + k,
                                      "opened_unix_ns": int(t), "arrivals_ns": [0]}) + "\n")
        self.telemetry = path
        self.always = self.model("always.onnx", True)
        self.never = self.model("never.onnx", False)

    def model(self, name, flush):
        path = os.path.join(self.dir.name, name)
        export(constant_policy(flush), path, OBSERVATION_VERSION)
        return path

    def test_a_trade_along_the_frontier_is_not_promoted(self):
        # Always flushing has the lower p50, waiting for the envelope the higher reduction:
        # neither is at least as good on both, in either direction.
        envelope = Envelope(128, 0.05)
        promote, always, never = gate.compare(self.telemetry, self.always, self.never, envelope, 2)
        self.assertFalse(promote)
        self.assertLess(always["p50_ms"], never["p50_ms"])
        self.assertLess(always["reduction"], never["reduction"])
        self.assertFalse(gate.compare(self.telemetry, self.never, self.always, envelope, 2)[0])

    def test_the_same_model_is_at_least_as_good(self):
        promote, served, candidate = gate.compare(self.telemetry, self.never, self.never,
                                                  Envelope(128, 0.05), 2)
        self.assertTrue(promote)
        self.assertEqual(served, candidate)

    def test_telemetry_without_arrivals_cannot_be_compared(self):
        path = os.path.join(self.dir.name, "old.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            out.write(json.dumps({"route": "api", "size": 3, "upstream_latency_ns": 5}) + "\n")
        with self.assertRaises(ValueError):
            gate.compare(path, self.never, self.never, Envelope(128, 0.05), 1)


if __name__ == "__main__":
    unittest.main()
