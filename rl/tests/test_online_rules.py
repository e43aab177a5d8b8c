"""Online rules next to the oracle: Wald's hold on hand-checked figures, the identity itself in
the simulator, the rules' flushes, and the choice of the closest rule."""

import unittest

import numpy as np

from levee_rl import arrivals, online_rules
from levee_rl.latency import LogNormalLatency
from levee_rl.policies import EnvelopeOnly
from levee_rl.simulator import Envelope, simulate

LATENCY = LogNormalLatency(0.001, 0.010)


class WaldHoldTest(unittest.TestCase):
    def test_the_shipped_models_poisson_80_reduction_needs_a_hold_of_49_6_ms(self):
        # 1 / (1 - 0.7988) = 4.97018 members a group, 3.97018 of them gained at 80/s.
        self.assertAlmostEqual(online_rules.wald_hold(0.7988, 80.0), 0.0496272, places=6)

    def test_no_reduction_needs_no_hold(self):
        self.assertEqual(online_rules.wald_hold(0.0, 80.0), 0.0)

    def test_a_reduction_of_one_or_no_rate_is_refused(self):
        with self.assertRaises(ValueError):
            online_rules.wald_hold(1.0, 80.0)
        with self.assertRaises(ValueError):
            online_rules.wald_hold(0.5, 0.0)


class WaldIdentityInTheSimulatorTest(unittest.TestCase):
    """A group's mean size is 1 + rate * its mean hold, whatever online rule ends it."""

    def check(self, policy, envelope):
        rate = 200.0
        times = arrivals.poisson(np.random.default_rng(11), rate, 200.0)
        result = simulate(times, policy, LATENCY, np.random.default_rng(12), envelope)
        sizes = np.array([flush.size for flush in result.flushes])
        holds = np.array([flush.age for flush in result.flushes])
        self.assertAlmostEqual(sizes.mean() / (1.0 + rate * holds.mean()), 1.0, delta=0.02)
        return sizes.mean()

    def test_a_fixed_timer(self):
        mean = self.check(EnvelopeOnly("timer"), Envelope(size_cap=128, max_wait=0.020))
        self.assertAlmostEqual(mean, 5.0, delta=0.1)

    def test_a_rule_that_cuts_at_quiet_gaps(self):
        self.check(online_rules.SizeOrGap(10**9, gap=0.005, min_size=2), online_rules.ENVELOPE)


class RulesTest(unittest.TestCase):
    def test_size_k_flushes_at_k_and_the_rest_at_max_wait(self):
        times = np.array([0.0, 0.001, 0.002, 0.003, 0.004])
        result = simulate(times, online_rules.SizeOrGap(2), LATENCY, np.random.default_rng(1),
                          online_rules.ENVELOPE)
        self.assertEqual([flush.size for flush in result.flushes], [2, 2, 1])
        self.assertEqual([flush.reason for flush in result.flushes],
                         ["policy", "policy", "timeout"])

    def test_a_quiet_gap_ends_a_group_only_once_it_holds_min_size(self):
        times = np.array([0.0, 0.020, 0.021, 0.040])
        rule = online_rules.SizeOrGap(10**9, gap=0.005, min_size=2)
        result = simulate(times, rule, LATENCY, np.random.default_rng(1), online_rules.ENVELOPE)
        # The first member alone waits through its 20 ms gap; with the third the group holds
        # 3 and the next 5 ms of quiet end it; the last member waits out max_wait alone.
        self.assertEqual([flush.size for flush in result.flushes], [3, 1])
        self.assertAlmostEqual(result.flushes[0].time, 0.026, places=6)

    def test_best_at_takes_the_smallest_gap_at_or_above_the_reduction(self):
        rows = [("a", {"reduction": 0.90, "p50_gap_pct": 5.0}),
                ("b", {"reduction": 0.95, "p50_gap_pct": 30.0}),
                ("c", {"reduction": 0.97, "p50_gap_pct": 12.0}),
                ("d", {"reduction": 0.99, "p50_gap_pct": None})]
        self.assertEqual(online_rules.best_at(rows, 0.0)[0], "a")
        self.assertEqual(online_rules.best_at(rows, 0.93)[0], "c")
        self.assertIsNone(online_rules.best_at(rows, 0.98))


if __name__ == "__main__":
    unittest.main()
