"""The flush policies levee ships, in Python, so they are compared on identical traffic.

A policy has `name`, `tick` (truthy: asked between arrivals too) and `decide(Decision) -> bool`
(True: flush now). The envelope is the simulator's, checked before `decide`.
"""

import math

import numpy as np


class Immediate:
    """`immediate`: every group goes at once (singleflight)."""

    name = "immediate"
    tick = False

    def decide(self, decision):
        return True


class EnvelopeOnly:
    """`timer` and `size`: never earlier than the envelope; they differ only in their envelope."""

    tick = False

    def __init__(self, name):
        self.name = name

    def decide(self, decision):
        return False


class Adaptive:
    """`adaptive`, ported from src/policy/adaptive_policy.cpp (see its header for the rule).

    Ported from the working-tree version of 2026-11-23 12:42 (the reduction_slack rule).
    """

    name = "adaptive"
    tick = True

    def __init__(self, reduction_slack=0.0075):
        self.reduction_slack = reduction_slack

    def verdict(self, decision):
        """Which part of the rule decides: wait, no_traffic, too_late or enough."""
        if decision.size == 0:
            return "wait"
        rate = decision.rate
        if not (rate > 0.0 and math.isfinite(rate)):
            return "no_traffic"
        remaining = max(0.0, decision.max_wait - decision.age)
        if 1.0 / rate > remaining:
            return "too_late"
        n = float(decision.size)
        at_deadline = n + rate * remaining
        if decision.size_cap != 0:
            at_deadline = min(at_deadline, float(decision.size_cap))
        at_deadline = max(at_deadline, n)
        if 1.0 / n - 1.0 / at_deadline <= self.reduction_slack:
            return "enough"
        return "wait"

    def decide(self, decision):
        return self.verdict(decision) != "wait"


class Learned:
    """`learned`: a model mapping the observation to logits [WAIT, FLUSH]; flush iff FLUSH > WAIT.

    `logits_fn` maps a float32 [1, 4] array to [1, 2] logits: the exported ONNX file evaluated
    by onnx_eval (what levee ships), or an actor snapshot.
    """

    name = "learned"
    tick = True

    def __init__(self, logits_fn):
        self.logits_fn = logits_fn

    def decide(self, decision):
        logits = self.logits_fn(np.asarray([decision.observation], dtype=np.float32))
        return bool(logits[0, 1] > logits[0, 0])
