"""The training mix and the held-out evaluation workloads, kept apart on purpose.

Training sees only Poisson, bursty (MMPP), spike and clumped (compound Poisson) traffic at
varied rates. The evaluation
workloads (seed 000's waves and sparse-then-burst, a diurnal ramp, Poisson at three rates
and MMPP bursts the training does not use) are never trained on, and are generated from
their own seeds.
"""

from levee_rl import arrivals
from levee_rl.latency import LogNormalLatency

# (name, function(rng) -> arrival times) of the training mix.
TRAINING = [
    ("poisson-30", lambda rng: arrivals.poisson(rng, 30.0, 1.5)),
    ("poisson-150", lambda rng: arrivals.poisson(rng, 150.0, 1.5)),
    ("poisson-500", lambda rng: arrivals.poisson(rng, 500.0, 1.0)),
    ("poisson-1200", lambda rng: arrivals.poisson(rng, 1200.0, 1.0)),
    ("poisson-2500", lambda rng: arrivals.poisson(rng, 2500.0, 0.8)),
    ("poisson-5000", lambda rng: arrivals.poisson(rng, 5000.0, 0.5)),
    ("bursty", lambda rng: arrivals.bursty(rng, 40.0, 2500.0, 0.3, 0.2, 1.5)),
    ("spike", lambda rng: arrivals.spike(rng, 80.0, 4000.0, 0.4, 0.05, 1.5)),
    ("clumps", lambda rng: arrivals.clumped(rng, 15.0, 10, 100, 0.0005, 0.002, 1.5)),
]

# Upstream latency medians (seconds) the training draws from, p99 = 10 x median.
TRAINING_LATENCY_MEDIANS = [0.0005, 0.001, 0.005, 0.02]

# (name, function(rng) -> arrival times) of the held-out evaluation. Waves, sparse-then-burst
# and diurnal are processes the training never sees; the Poisson rates and the MMPP's
# parameters are ones it never sees either, and every trace comes from the evaluation's own
# seed stream (evaluate.EVAL_STREAM).
HELD_OUT = [
    ("waves", lambda rng: arrivals.waves(rng, wave_size=50, every_s=0.050, spread_s=0.001,
                                          duration_s=10.0)),
    ("sparse-then-burst", arrivals.sparse_then_burst),
    ("diurnal", lambda rng: arrivals.diurnal(rng, 20.0, 1500.0, 10.0, 20.0)),
    ("poisson-80", lambda rng: arrivals.poisson(rng, 80.0, 30.0)),
    ("poisson-700", lambda rng: arrivals.poisson(rng, 700.0, 10.0)),
    ("poisson-3500", lambda rng: arrivals.poisson(rng, 3500.0, 5.0)),
    ("mmpp-bursts", lambda rng: arrivals.bursty(rng, 20.0, 4000.0, 0.5, 0.1, 20.0)),
]

# The evaluation's upstream: median 1 ms (seed 000's no-batching p50 was 1.06 ms), p99 10 ms.
EVALUATION_LATENCY = LogNormalLatency(0.001, 0.010)
