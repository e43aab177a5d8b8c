"""Observation features computed like levee's route_signals.cpp, on hand-checked cases."""

import math
import unittest

from levee_rl.signals import (RouteSignals, bucket_of, bucket_upper_bound, log_time,
                              make_observation)


class ObservationTest(unittest.TestCase):
    def test_hand_checked_features(self):
        obs = make_observation(64, 128, 0.025, 0.050, 100.0, 0.5)
        self.assertAlmostEqual(obs[0], 0.5)
        self.assertAlmostEqual(obs[1], 0.5)
        self.assertAlmostEqual(obs[2], 1.0)  # log1p(500) / log1p(500)
        self.assertAlmostEqual(obs[3], math.tanh(1.0))

    def test_clamps_and_edges(self):
        obs = make_observation(300, 128, 0.2, 0.050, 1e6, 10.0, since_last_s=1.0,
                               short_rate_per_s=0.001, recent=500, span_s=600.0)
        self.assertEqual(obs, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0])
        # An empty group with nothing measured: no arrival rate and no gap of its own mean
        # the widest gap (1).
        self.assertEqual(make_observation(0, 128, 0.0, 0.050, 0.0, None),
                         [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0])
        self.assertEqual(make_observation(1, 0, 0.0, 0.0, 0.0, None)[:2], [1.0, 0.0])
        # A zero max_wait: any time is a bound already reached.
        self.assertEqual(make_observation(1, 8, 0.0, 0.0, 0.0, None, since_last_s=0.001)[4], 1.0)

    def test_log_time_scale(self):
        self.assertEqual(log_time(0.0, 0.050), 0.0)
        self.assertAlmostEqual(log_time(0.050, 0.050), 1.0)
        self.assertAlmostEqual(log_time(0.00005, 0.050), math.log1p(1.0) / math.log1p(1000.0))
        self.assertAlmostEqual(log_time(0.005, 0.050), math.log1p(100.0) / math.log1p(1000.0))
        self.assertEqual(log_time(9.0, 0.050), 1.0)

    def test_version_2_features_hand_checked(self):
        # A wave of 40 that stopped 2 ms ago, 10 of them in the last W/32, on a route whose
        # short-horizon rate is 4000/s, at age 3 ms of a 50 ms window.
        obs = make_observation(40, 128, 0.003, 0.050, 100.0, None, since_last_s=0.002,
                               short_rate_per_s=4000.0, recent=10, span_s=0.00078)
        self.assertAlmostEqual(obs[4], math.log1p(40.0) / math.log1p(1000.0))
        self.assertAlmostEqual(obs[5], math.log1p(5.0) / math.log1p(1000.0))  # 0.25 ms gap
        self.assertAlmostEqual(obs[6], 0.25)
        expected = 4000.0 * 0.047
        self.assertAlmostEqual(obs[7], expected / (expected + 40))
        self.assertAlmostEqual(obs[8], math.log1p(0.4) / math.log1p(1000.0))  # 20 µs apart

    def test_p99_feature_of_10ms(self):
        self.assertAlmostEqual(make_observation(1, 128, 0, 0.05, 0, 0.010)[2],
                               math.log1p(10.0) / math.log1p(500.0))


class RouteSignalsTest(unittest.TestCase):
    def test_rate_is_exponentially_weighted(self):
        signals = RouteSignals(tau_s=1.0)
        self.assertEqual(signals.arrival_rate(0.0), 0.0)
        signals.record_arrival(0.0)
        signals.record_arrival(1.0)
        self.assertAlmostEqual(signals.arrival_rate(1.0), math.exp(-1.0) + 1.0)
        self.assertAlmostEqual(signals.arrival_rate(2.0), (math.exp(-1.0) + 1.0) * math.exp(-1.0))

    def test_short_rate_has_a_10ms_time_constant(self):
        signals = RouteSignals()
        signals.record_arrival(0.0)
        self.assertAlmostEqual(signals.short_arrival_rate(0.0), 100.0)
        self.assertAlmostEqual(signals.short_arrival_rate(0.010), 100.0 * math.exp(-1.0))
        signals.record_arrival(0.010)
        self.assertAlmostEqual(signals.short_arrival_rate(0.010), 100.0 * math.exp(-1.0) + 100.0)
        self.assertAlmostEqual(signals.arrival_rate(0.010), math.exp(-0.01) + 1.0)

    def test_steady_rate_converges(self):
        signals = RouteSignals()
        for k in range(10_000):
            signals.record_arrival(k * 0.001)
        self.assertAlmostEqual(signals.arrival_rate(9.999), 1000.0, delta=2.0)

    def test_buckets_like_levee(self):
        self.assertEqual(bucket_of(10e-6), 0)
        self.assertEqual(bucket_of(20e-6), 4)
        self.assertEqual(bucket_of(21e-6), 5)
        self.assertAlmostEqual(bucket_upper_bound(4), 20e-6)
        self.assertEqual(bucket_of(1e6), 95)

    def test_p99_window(self):
        signals = RouteSignals(latency_window_s=10.0)
        self.assertIsNone(signals.upstream_p99(0.0))
        signals.record_upstream_call(0.020, 1.0)
        self.assertIsNone(signals.upstream_p99(0.5))  # still in flight
        self.assertAlmostEqual(signals.upstream_p99(1.0), bucket_upper_bound(bucket_of(0.020)))
        self.assertGreaterEqual(signals.upstream_p99(1.0), 0.020)
        self.assertIsNone(signals.upstream_p99(11.0))  # out of the window

    def test_p99_rank(self):
        signals = RouteSignals()
        for k in range(99):
            signals.record_upstream_call(0.001, 0.0)
        signals.record_upstream_call(0.100, 0.0)
        self.assertAlmostEqual(signals.upstream_p99(0.0), bucket_upper_bound(bucket_of(0.001)))
        signals.record_upstream_call(0.100, 0.0)
        self.assertAlmostEqual(signals.upstream_p99(0.0), bucket_upper_bound(bucket_of(0.100)))


if __name__ == "__main__":
    unittest.main()
