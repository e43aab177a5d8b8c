"""Trace replay: levee's flush telemetry back into each route's arrival times."""

import json
import os
import tempfile
import unittest
import warnings

import numpy as np

from levee_rl.trace import arrival_traces, read_events, split_trace

# A Unix time in ns beyond float64's exact integers (2**53 ns is about 104 days), so that any
# float arithmetic before the re-basing would show.
T0 = 1_733_558_400_123_456_789
MS = 1_000_000


def event(route, opened, offsets, **extra):
    record = {"ts_unix_ns": T0 + 100 * MS, "route": route,
              "reason": "policy", "size": len(offsets), "age_ns": 5 * MS,
              "upstream_latency_ns": MS, "status": 200, "observation": [0.0] * 8,
              "observation_version": 2, "action": 1, "policy": "learned",
              "opened_unix_ns": opened, "arrivals_ns": offsets}
    record.update(extra)
    return record


def old_event(route):
    """A line from levee before observation v2: no arrivals, four features."""
    return {"ts_unix_ns": T0, "route": route, "reason": "timeout", "size": 3, "age_ns": 50 * MS,
            "upstream_latency_ns": MS, "status": 200, "observation": [0.5, 1.0, 0.0, 0.2],
            "action": None, "policy": "timer"}


class TraceFileTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)

    def write(self, lines):
        path = os.path.join(self.directory.name, "flushes.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            for line in lines:
                out.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
        return path

    def test_two_routes_out_of_order_give_exact_sorted_traces(self):
        # Flush order is not arrival order: a later group can flush first, and the two routes
        # interleave. Groups of one route may also overlap in time (several collapse keys).
        path = self.write([
            event("api", T0 + 20 * MS, [0, 1 * MS, 7 * MS]),
            "",
            event("items", T0 + 3 * MS, [0, 2]),
            event("api", T0, [0, 500_000, 4 * MS]),
            "   ",
            event("api", T0 + 2 * MS, [0, 1]),   # another key's group, overlapping the first
            event("items", T0 + 1 * MS, [0]),
        ])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing to warn about
            traces = arrival_traces(read_events(path))
        self.assertEqual(sorted(traces), ["api", "items"])
        np.testing.assert_array_equal(
            traces["api"],
            np.array([0, 500_000, 2 * MS, 2 * MS + 1, 4 * MS, 20 * MS, 21 * MS, 27 * MS]) * 1e-9)
        np.testing.assert_array_equal(traces["items"], np.array([0, 2 * MS, 2 * MS + 2]) * 1e-9)
        self.assertEqual(traces["api"].dtype, np.float64)
        self.assertEqual((traces.without_arrivals, traces.truncated_groups,
                          traces.truncated_arrivals), (0, 0, 0))

    def test_a_truncated_group_contributes_what_it_lists_and_is_counted(self):
        listed = [i * 1000 for i in range(4096)]
        path = self.write([event("api", T0, listed, size=5000, arrivals_truncated=True),
                           event("api", T0 + 10 * MS, [0, MS])])
        with self.assertWarnsRegex(UserWarning, "1 truncated group"):
            traces = arrival_traces(read_events(path))
        self.assertEqual(traces["api"].size, 4096 + 2)
        self.assertEqual(traces["api"][4095], 4095 * 1000 * 1e-9)
        self.assertEqual(traces["api"][-1], 11 * MS * 1e-9)
        self.assertEqual(traces.truncated_groups, 1)
        self.assertEqual(traces.truncated_arrivals, 5000 - 4096)
        self.assertEqual(traces.without_arrivals, 0)

    def test_old_format_lines_are_tolerated_and_counted(self):
        path = self.write([old_event("api"), event("api", T0 + MS, [0, MS]), old_event("other")])
        with self.assertWarnsRegex(UserWarning, "2 event"):
            traces = arrival_traces(read_events(path))
        self.assertEqual(list(traces), ["api"])  # "other" has no arrivals at all
        np.testing.assert_array_equal(traces["api"], [0.0, 1e-3])
        self.assertEqual(traces.without_arrivals, 2)

    def test_only_old_lines_give_no_traces(self):
        path = self.write([old_event("api")] * 3)
        with self.assertWarns(UserWarning):
            traces = arrival_traces(read_events(path))
        self.assertEqual(dict(traces), {})
        self.assertEqual(traces.without_arrivals, 3)

    def test_a_malformed_line_is_named(self):
        path = self.write([event("api", T0, [0]), "", '{"route": "api", "size": 3',
                           event("api", T0, [0])])
        with self.assertRaisesRegex(ValueError, r"flushes\.jsonl:3: not JSON"):
            read_events(path)

    def test_a_line_that_is_not_an_object_is_named(self):
        path = self.write([event("api", T0, [0]), "[1, 2]"])
        with self.assertRaisesRegex(ValueError, r"flushes\.jsonl:2: not a JSON object"):
            read_events(path)

    def test_wrongly_typed_arrivals_are_refused(self):
        with self.assertRaisesRegex(ValueError, "route 'api': opened_unix_ns"):
            arrival_traces([event("api", float(T0), [0])])
        with self.assertRaisesRegex(ValueError, "route 'api': arrivals_ns is not a list"):
            arrival_traces([event("api", T0, "0,1")])
        with self.assertRaisesRegex(ValueError, "route 'api': an arrivals_ns entry"):
            arrival_traces([event("api", T0, [0, 1.5])])


class SplitTraceTest(unittest.TestCase):
    def test_pieces_are_windows_rebased_to_their_start(self):
        # Windows [0, 1.5) [1.5, 3) [3, 4.5) [4.5, 6).
        pieces = split_trace(np.array([0.0, 0.4, 1.2, 1.9, 4.1, 4.6]), 1.5)
        self.assertEqual(len(pieces), 4)
        np.testing.assert_allclose(pieces[0], [0.0, 0.4, 1.2])
        np.testing.assert_allclose(pieces[1], [0.4])
        np.testing.assert_allclose(pieces[2], [1.1])
        np.testing.assert_allclose(pieces[3], [0.1])

    def test_every_arrival_lands_in_exactly_one_piece(self):
        times = np.sort(np.random.default_rng(3).uniform(0.0, 20.0, 5000))
        pieces = split_trace(times, 1.5)
        self.assertEqual(sum(p.size for p in pieces), times.size)
        for piece in pieces:
            self.assertGreaterEqual(piece[0], 0.0)
            self.assertLess(piece[-1], 1.5)
            self.assertTrue(np.all(np.diff(piece) >= 0))

    def test_empty_windows_are_left_out(self):
        pieces = split_trace([0.1, 0.2, 7.3], 1.0)
        self.assertEqual(len(pieces), 2)
        np.testing.assert_allclose(pieces[0], [0.1, 0.2])
        np.testing.assert_allclose(pieces[1], [0.3])

    def test_edge_cases(self):
        self.assertEqual(split_trace(np.empty(0), 1.0), [])
        with self.assertRaises(ValueError):
            split_trace([0.0, 1.0], 0.0)
        with self.assertRaises(ValueError):
            split_trace([1.0, 0.5], 1.0)


if __name__ == "__main__":
    unittest.main()
