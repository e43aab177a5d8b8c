"""The Python adaptive policy follows src/policy/adaptive_policy.cpp's rule (reduction_slack)."""

import unittest

from levee_rl.policies import Adaptive
from levee_rl.simulator import Decision


def decision(size, age=0.0, rate=100.0, max_wait=0.050, size_cap=128):
    return Decision(now=0.0, size=size, size_cap=size_cap, age=age, max_wait=max_wait, rate=rate,
                    p99=0.010)


class AdaptiveTest(unittest.TestCase):
    def setUp(self):
        self.policy = Adaptive()

    def test_empty_group_waits(self):
        self.assertEqual(self.policy.verdict(decision(0, rate=0.0)), "wait")

    def test_no_traffic(self):
        self.assertEqual(self.policy.verdict(decision(1, rate=0.0)), "no_traffic")
        self.assertEqual(self.policy.verdict(decision(1, rate=float("inf"))), "no_traffic")

    def test_too_late(self):
        # 1/rate = 10 ms between arrivals; 5 ms left of the window.
        self.assertEqual(self.policy.verdict(decision(1, age=0.045, rate=100.0)), "too_late")
        self.assertEqual(self.policy.verdict(decision(1, age=0.060, rate=1e6)), "too_late")

    def test_enough_against_what_the_window_would_bring(self):
        # 2,000/s: at 25 ms, 50 members would become 100: 1/50 - 1/100 = 0.01 > 0.0075.
        self.assertEqual(self.policy.verdict(decision(50, age=0.025, rate=2000.0)), "wait")
        # At 28 ms, 60 would become 104: 1/60 - 1/104 = 0.00705 <= 0.0075.
        self.assertEqual(self.policy.verdict(decision(60, age=0.028, rate=2000.0)), "enough")
        self.assertEqual(Adaptive(reduction_slack=0.005).verdict(decision(60, age=0.028, rate=2000.0)),
                         "wait")

    def test_size_cap_bounds_the_window(self):
        # 120 now, the cap allows 128: 1/120 - 1/128 = 0.00052.
        self.assertEqual(self.policy.verdict(decision(120, rate=2000.0)), "enough")
        # No cap (0): the window would bring 100 more.
        self.assertEqual(self.policy.verdict(decision(20, rate=2000.0, size_cap=0)), "wait")

    def test_monotone_in_size_and_age(self):
        for rate in (50.0, 500.0, 5000.0):
            previous = False
            for size in range(1, 129):
                flush = self.policy.decide(decision(size, age=0.010, rate=rate))
                self.assertTrue(flush or not previous)
                previous = flush
            previous = False
            for age_ms in range(0, 50):
                flush = self.policy.decide(decision(10, age=age_ms / 1000, rate=rate))
                self.assertTrue(flush or not previous)
                previous = flush


if __name__ == "__main__":
    unittest.main()
