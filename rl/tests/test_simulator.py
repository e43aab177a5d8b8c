"""The simulator counts every request once, fires the envelope exactly, and is deterministic."""

import unittest

import numpy as np

from levee_rl import arrivals
from levee_rl.latency import LogNormalLatency
from levee_rl.policies import Adaptive, EnvelopeOnly, Immediate
from levee_rl.simulator import Envelope, simulate

LATENCY = LogNormalLatency(0.001, 0.010)


class Recorder:
    """A policy that never flushes and remembers what it was asked."""

    name = "recorder"
    tick = True

    def __init__(self):
        self.decisions = []

    def decide(self, decision):
        self.decisions.append(decision)
        return False


class SimulatorTest(unittest.TestCase):
    def run_policy(self, times, policy, envelope=Envelope(), seed=1):
        return simulate(times, policy, LATENCY, np.random.default_rng(seed), envelope)

    def test_every_request_counted_once(self):
        times = arrivals.poisson(np.random.default_rng(1), 800.0, 3.0)
        for policy in (Immediate(), EnvelopeOnly("timer"), Adaptive()):
            result = self.run_policy(times, policy)
            self.assertEqual(sum(f.size for f in result.flushes), times.size)
            self.assertEqual(result.latencies.size, times.size)
            self.assertTrue(np.all(result.waits >= 0))
            self.assertTrue(np.all(result.latencies > result.waits))

    def test_immediate_makes_one_call_per_request(self):
        times = arrivals.poisson(np.random.default_rng(2), 100.0, 2.0)
        result = self.run_policy(times, Immediate())
        self.assertEqual(len(result.flushes), times.size)
        self.assertTrue(np.all(result.waits == 0))

    def test_timer_forced_exactly_at_max_wait(self):
        times = arrivals.poisson(np.random.default_rng(3), 200.0, 2.0)
        result = self.run_policy(times, EnvelopeOnly("timer"))
        for flush in result.flushes:
            self.assertEqual(flush.reason, "timeout")
            self.assertAlmostEqual(flush.age, 0.050, places=12)

    def test_size_cap_forced_exactly_at_cap(self):
        times = np.arange(1000) * 1e-5  # 100,000/s: 128 arrive in 1.28 ms
        result = self.run_policy(times, EnvelopeOnly("size"))
        self.assertEqual([f.size for f in result.flushes], [128] * 7 + [1000 - 7 * 128])
        self.assertEqual([f.reason for f in result.flushes], ["size_cap"] * 7 + ["timeout"])

    def test_policy_asked_on_arrivals_and_ticks_within_envelope(self):
        recorder = Recorder()
        self.run_policy(np.array([0.0, 0.0105]), recorder)
        ages = [round(d.age, 6) for d in recorder.decisions]
        # The opening arrival, ticks at 1..10 ms, the arrival at 10.5 ms, ticks 11..49 ms; the
        # deadline at 50 ms is the envelope's, the policy is not asked.
        expected = [0.0] + [k / 1000 for k in range(1, 11)] + [0.0105] + [k / 1000 for k in range(11, 50)]
        self.assertEqual(ages, expected)
        self.assertEqual([d.size for d in recorder.decisions][11], 2)

    def test_observation_from_decision(self):
        recorder = Recorder()
        self.run_policy(np.array([0.0]), recorder)
        first = recorder.decisions[0]
        self.assertEqual(first.observation[:4], [1 / 128, 0.0, 0.0, np.tanh(1.0 / 100)])
        # The opener: it arrived just now, and it is all of the group's recent growth.
        self.assertEqual(first.since_last, 0.0)
        self.assertEqual(first.recent, 1)
        self.assertEqual(first.observation[4], 0.0)
        self.assertEqual(first.observation[6], 1.0)

    def test_a_group_that_stopped_growing_is_seen_as_such(self):
        recorder = Recorder()
        # Three arrivals within 0.2 ms, then nothing: ticks see the time since the last one
        # grow, and the recent members leave the W/32 = 1.5625 ms window.
        self.run_policy(np.array([0.0, 0.0001, 0.0002]), recorder)
        by_age = {round(d.age, 6): d for d in recorder.decisions}
        self.assertAlmostEqual(by_age[0.0002].since_last, 0.0)
        self.assertAlmostEqual(by_age[0.002].span, 0.0002)
        self.assertEqual(by_age[0.0002].recent, 3)
        self.assertAlmostEqual(by_age[0.002].since_last, 0.0018)
        self.assertEqual(by_age[0.001].recent, 3)
        self.assertEqual(by_age[0.002].recent, 0)
        self.assertGreater(by_age[0.002].short_rate, by_age[0.010].short_rate)

    def test_deterministic_per_seed(self):
        times = arrivals.bursty(np.random.default_rng(4), 50.0, 2000.0, 0.2, 0.1, 2.0)
        a = self.run_policy(times, Adaptive(), seed=9)
        b = self.run_policy(times, Adaptive(), seed=9)
        np.testing.assert_array_equal(a.latencies, b.latencies)
        c = self.run_policy(times, Adaptive(), seed=10)
        self.assertFalse(np.array_equal(a.latencies, c.latencies))


if __name__ == "__main__":
    unittest.main()
