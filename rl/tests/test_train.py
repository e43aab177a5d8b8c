"""`make train TELEMETRY=...`: recorded arrival traces become training episodes."""

import json
import os
import tempfile
import unittest

import numpy as np

from levee_rl import train


def event(route, opened_ns, offsets):
    return {"route": route, "reason": "policy", "size": len(offsets), "opened_unix_ns": opened_ns,
            "arrivals_ns": offsets}


class ReplayWorkloadsTest(unittest.TestCase):
    def write(self, events):
        handle, path = tempfile.mkstemp(suffix=".jsonl")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for e in events:
                out.write(json.dumps(e) + "\n")
        self.addCleanup(os.remove, path)
        return path

    def test_pieces_of_the_recorded_traces_are_drawn_per_episode(self):
        base = 1_765_000_000_000_000_000
        # Two groups 2 s apart on one route: two pieces of 1.5 s, three arrivals each.
        path = self.write([event("api", base, [0, 1_000_000, 2_000_000]),
                           event("api", base + 2_000_000_000, [0, 500_000, 600_000])])
        extra = train.replay_workloads(path)
        self.assertEqual(len(extra), train.REPLAY_EPISODES)
        seen = {tuple(np.round(make(np.random.default_rng(k)), 6)) for k in range(20)
                for _, make in extra}
        self.assertEqual(seen, {(0.0, 0.001, 0.002), (0.5, 0.5005, 0.5006)})

    def test_pieces_are_drawn_in_proportion_to_their_requests(self):
        base = 1_765_000_000_000_000_000
        # A piece of two requests and a piece of eight (2 s apart).
        path = self.write([event("api", base, [0, 1_000]),
                           event("api", base + 2_000_000_000, [k * 1_000 for k in range(8)])])
        make = train.replay_workloads(path)[0][1]
        sizes = [make(np.random.default_rng(k)).size for k in range(400)]
        self.assertAlmostEqual(sizes.count(8) / len(sizes), 0.8, delta=0.05)

    def test_a_file_without_arrivals_adds_nothing(self):
        path = self.write([{"route": "api", "size": 3, "observation": [0, 0, 0, 0]}])
        with self.assertWarns(UserWarning):
            self.assertEqual(train.replay_workloads(path), [])


if __name__ == "__main__":
    unittest.main()
