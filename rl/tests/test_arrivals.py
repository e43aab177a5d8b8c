"""Arrival processes produce the counts and rates their parameters promise."""

import math
import unittest

import numpy as np

from levee_rl import arrivals


class ArrivalTest(unittest.TestCase):
    def test_poisson_count_matches_rate(self):
        times = arrivals.poisson(np.random.default_rng(1), 1000.0, 10.0)
        self.assertLess(abs(times.size - 10_000), 5 * math.sqrt(10_000))
        self.assertTrue(np.all(np.diff(times) >= 0))

    def test_bursty_mean_rate(self):
        # Quiet 100/s for mean 0.5 s, busy 1000/s for mean 0.5 s: 550/s on average.
        times = arrivals.bursty(np.random.default_rng(2), 100.0, 1000.0, 0.5, 0.5, 200.0)
        self.assertAlmostEqual(times.size / 200.0, 550.0, delta=55.0)

    def test_spike_mean_rate(self):
        # 50 ms of 2000/s every 500 ms over a 100/s base: 100 + 0.1 * 1900 = 290/s.
        times = arrivals.spike(np.random.default_rng(3), 100.0, 2000.0, 0.5, 0.05, 100.0)
        self.assertAlmostEqual(times.size / 100.0, 290.0, delta=15.0)

    def test_waves_are_exact(self):
        times = arrivals.waves(np.random.default_rng(4), wave_size=50, every_s=0.05, spread_s=0.001,
                               duration_s=1.0)
        self.assertEqual(times.size, 20 * 50)
        offsets = times.reshape(20, 50) - (np.arange(20) * 0.05)[:, None]
        self.assertTrue(np.all((offsets >= 0) & (offsets < 0.001)))

    def test_sparse_then_burst_phases(self):
        times = arrivals.sparse_then_burst(np.random.default_rng(5))
        sparse, burst = times[times < 30.0], times[times >= 30.0]
        self.assertAlmostEqual(sparse.size, 150, delta=10)  # 5 clients x 1/s x 30 s
        self.assertAlmostEqual(burst.size, 20_000, delta=300)  # 200 clients x 10/s x 10 s
        self.assertLess(times.max(), 40.0)

    def test_clumped_sizes_and_spread(self):
        times = arrivals.clumped(np.random.default_rng(7), 20.0, 10, 30, 0.001, 0.001, 50.0)
        # About 1000 clumps of 20 on average.
        self.assertAlmostEqual(times.size / 20_000, 1.0, delta=0.1)

    def test_same_seed_same_trace(self):
        a = arrivals.diurnal(np.random.default_rng(6), 10.0, 500.0, 5.0, 10.0)
        b = arrivals.diurnal(np.random.default_rng(6), 10.0, 500.0, 5.0, 10.0)
        np.testing.assert_array_equal(a, b)


if __name__ == "__main__":
    unittest.main()
