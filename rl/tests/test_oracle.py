"""The oracle: exact DPs (against brute force), the envelope, the p50 searches, replay, distance."""

import itertools
import unittest

import numpy as np

from levee_rl import arrivals, oracle
from levee_rl.latency import LogNormalLatency
from levee_rl.metrics import summarise
from levee_rl.policies import Adaptive, EnvelopeOnly
from levee_rl.simulator import Envelope, simulate

LATENCY = LogNormalLatency(0.001, 0.010)


def partitions(count):
    """Every partition of 0..count-1 into consecutive groups, as group-end index arrays."""
    for cuts in itertools.product((False, True), repeat=count - 1):
        yield np.array([k for k, cut in enumerate(cuts) if cut] + [count - 1])


def legal(times, ends, envelope):
    return oracle.Schedule(ends).respects(times, envelope)


def random_instance(rng):
    count = int(rng.integers(1, 11))
    times = np.sort(rng.uniform(0.0, 0.030, count))
    envelope = Envelope(size_cap=int(rng.integers(1, 6)), max_wait=float(rng.uniform(0.002, 0.040)))
    return times, envelope


class MeanWaitOracleTest(unittest.TestCase):
    def test_two_far_clumps_make_two_groups_without_wait(self):
        times = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
        schedule, total = oracle.mean_wait_schedule(times, 1.0)
        self.assertEqual(schedule.ends.tolist(), [2, 4])
        self.assertEqual(total, 0.0)

    def test_three_arrivals_group_the_close_pair(self):
        # {0,1},{10} costs 1 ms + 2 mu: best for 1 ms < mu < 18 ms (by hand).
        times = np.array([0.0, 0.001, 0.010])
        for mu in (0.002, 0.005, 0.017):
            schedule, total = oracle.mean_wait_schedule(times, mu)
            self.assertEqual(schedule.ends.tolist(), [1, 2])
            self.assertAlmostEqual(total, 0.001, places=12)
        self.assertEqual(oracle.mean_wait_schedule(times, 0.0005)[0].groups, 3)
        self.assertEqual(oracle.mean_wait_schedule(times, 0.030)[0].groups, 1)

    def test_envelope_respected_and_fewest_groups_at_high_price(self):
        times = arrivals.poisson(np.random.default_rng(4), 2000.0, 0.2)
        envelope = Envelope(size_cap=3, max_wait=0.002)
        schedule, _ = oracle.mean_wait_schedule(times, 100.0, envelope)
        self.assertTrue(schedule.respects(times, envelope))
        self.assertEqual(schedule.groups, oracle.min_groups(times, envelope))
        self.assertTrue(np.all(schedule.sizes() <= 3))

    def test_equals_brute_force(self):
        rng = np.random.default_rng(5)
        for _ in range(60):
            times, envelope = random_instance(rng)
            mu = float(rng.uniform(0.0, 0.02))
            schedule, total = oracle.mean_wait_schedule(times, mu, envelope)
            self.assertTrue(schedule.respects(times, envelope))
            best = min(oracle.Schedule(ends).waits(times).sum() + mu * ends.size
                       for ends in partitions(times.size) if legal(times, ends, envelope))
            self.assertAlmostEqual(total + mu * schedule.groups, best, places=12)


class P50OracleTest(unittest.TestCase):
    def test_equals_brute_force(self):
        rng = np.random.default_rng(6)
        for _ in range(60):
            times, envelope = random_instance(rng)
            m, mu = float(rng.uniform(0.0, 0.02)), float(rng.uniform(0.0, 4.0))
            schedule, counted = oracle.p50_schedule(times, m, mu, envelope)
            self.assertTrue(schedule.respects(times, envelope))
            best = max(oracle.counted_within(times, oracle.Schedule(ends), m) - mu * ends.size
                       for ends in partitions(times.size) if legal(times, ends, envelope))
            self.assertAlmostEqual(counted - mu * schedule.groups, best, places=9)

    def test_p50_at_groups_is_an_actual_schedule_never_better_than_brute_force(self):
        rng = np.random.default_rng(7)
        exact = 0
        for _ in range(40):
            times, envelope = random_instance(rng)
            fewest = oracle.min_groups(times, envelope)
            groups = int(rng.integers(fewest, times.size + 1))
            point = oracle.p50_at_groups(times, groups, envelope)
            self.assertLessEqual(point.groups, groups)
            self.assertTrue(point.schedule.respects(times, envelope))
            self.assertEqual(point.wait_p50, point.schedule.wait_p50(times))
            best = min(oracle.Schedule(ends).wait_p50(times) for ends in partitions(times.size)
                       if ends.size <= groups and legal(times, ends, envelope))
            self.assertGreaterEqual(point.wait_p50, best - 1e-12)
            exact += point.wait_p50 <= best + 2 * oracle.M_TOLERANCE_S
        self.assertGreaterEqual(exact, 36)  # hull points: nearly always the optimum here
        self.assertIsNone(oracle.p50_at_groups(np.array([0.0, 1.0]), 1))

    def test_groups_at_p50_never_better_than_brute_force(self):
        rng = np.random.default_rng(8)
        for _ in range(40):
            times, envelope = random_instance(rng)
            m = float(rng.uniform(0.0, 0.01))
            point = oracle.groups_at_p50(times, m, envelope)
            self.assertLessEqual(point.wait_p50, m)
            self.assertTrue(point.schedule.respects(times, envelope))
            best = min(ends.size for ends in partitions(times.size)
                       if legal(times, ends, envelope) and oracle.Schedule(ends).wait_p50(times) <= m)
            self.assertGreaterEqual(point.groups, best)

    def test_p50_oracle_beats_the_mean_wait_oracle_at_its_group_count(self):
        times = arrivals.bursty(np.random.default_rng(9), 40.0, 2500.0, 0.3, 0.2, 1.0)
        for mu in (0.002, 0.01, 0.05):
            mean_schedule, _ = oracle.mean_wait_schedule(times, mu)
            point = oracle.p50_at_groups(times, mean_schedule.groups)
            self.assertLessEqual(point.groups, mean_schedule.groups)
            self.assertLessEqual(point.wait_p50, mean_schedule.wait_p50(times) + 1e-12)

    def test_deterministic(self):
        times = arrivals.poisson(np.random.default_rng(10), 1500.0, 0.5)
        first = oracle.p50_at_groups(times, times.size // 30)
        second = oracle.p50_at_groups(times, times.size // 30)
        self.assertEqual(first.schedule.ends.tolist(), second.schedule.ends.tolist())
        self.assertEqual(first.wait_p50, second.wait_p50)


class ReplayTest(unittest.TestCase):
    def test_accounts_for_every_request_as_oracle_flushes(self):
        times = arrivals.poisson(np.random.default_rng(11), 800.0, 1.0)
        schedule, _ = oracle.mean_wait_schedule(times, 0.01)
        result = oracle.replay(times, schedule, LATENCY, np.random.default_rng(1))
        row = summarise(result, times.size)  # raises if a request is lost or counted twice
        self.assertEqual(row["upstream_calls"], schedule.groups)
        self.assertEqual(row["forced_rate"], 0.0)
        self.assertEqual({f.reason for f in result.flushes}, {"oracle"})
        np.testing.assert_array_equal(result.waits, schedule.waits(times))
        with self.assertRaises(AssertionError):
            summarise(result, times.size + 1)

    def test_reproduces_the_simulator_from_its_flush_times(self):
        times = arrivals.poisson(np.random.default_rng(12), 600.0, 1.0)
        for policy in (EnvelopeOnly("timer"), Adaptive()):
            simulated = simulate(times, policy, LATENCY, np.random.default_rng(3))
            replayed = oracle.replay(times, [f.time for f in simulated.flushes], LATENCY,
                                     np.random.default_rng(3))
            np.testing.assert_allclose(replayed.latencies, simulated.latencies, rtol=0, atol=1e-12)
            self.assertEqual([f.size for f in replayed.flushes], [f.size for f in simulated.flushes])


class FrontierTest(unittest.TestCase):
    def test_distance_of_a_policy(self):
        times = arrivals.poisson(np.random.default_rng(13), 1500.0, 0.6)

        def rng_factory():
            return np.random.default_rng(14)

        timer = summarise(simulate(times, EnvelopeOnly("timer"), LATENCY, rng_factory()), times.size)
        frontier = oracle.Frontier(times, LATENCY, rng_factory)
        gap = oracle.distance(timer, frontier)
        self.assertLessEqual(frontier.at_reduction(timer["reduction"])[1]["upstream_calls"],
                             timer["upstream_calls"])
        self.assertGreater(gap["p50_gap_pct"], 0.0)  # the timer is far from the oracle
        self.assertGreaterEqual(gap["reduction_gap_pt"], 0.0)
        self.assertAlmostEqual(gap["p50_gap_pct"],
                               (timer["p50_ms"] / gap["p50_at_equal_reduction_ms"] - 1) * 100)
        self.assertIsNone(frontier.at_reduction(0.999))  # beyond the envelope

    def test_a_short_timer_is_matched_near_the_upstreams_own_latency(self):
        # A p50 of a couple of ms: the p50 DP alone (half the requests low, half as late as
        # the envelope allows) has a latency p50 far above its wait threshold there; the
        # mean-wait schedules still match the 2 ms timer's reduction at its p50.
        times = arrivals.poisson(np.random.default_rng(21), 2000.0, 0.5)

        def rng_factory():
            return np.random.default_rng(22)

        timer = summarise(simulate(times, EnvelopeOnly("timer"), LATENCY, rng_factory(),
                                   Envelope(size_cap=128, max_wait=0.002)), times.size)
        frontier = oracle.Frontier(times, LATENCY, rng_factory)
        gap = oracle.distance(timer, frontier)
        self.assertGreater(timer["reduction"], 0.5)
        self.assertGreaterEqual(gap["reduction_at_equal_p50"], timer["reduction"] - 0.01)
        self.assertLessEqual(gap["p50_at_equal_reduction_ms"], timer["p50_ms"] * 1.01)


if __name__ == "__main__":
    unittest.main()
