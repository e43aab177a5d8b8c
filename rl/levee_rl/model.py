"""The actor-critic network, and a NumPy copy of its actor for fast rollouts.

The actor is what ships: 8 (observation version 2) -> 64 -> 64 -> 2 with Tanh, whose export uses only Gemm and Tanh.
The critic is a separate MLP of the same shape (training only).
"""

import numpy as np
import torch
from torch import nn

from levee_rl.signals import OBSERVATION_SIZE

HIDDEN = 64
# The initial FLUSH-logit offset: a fresh actor flushes with probability ~2 % per decision, so
# early groups last long enough for waiting to be tried at all.
INITIAL_FLUSH_BIAS = -4.0


def mlp(outputs):
    return nn.Sequential(nn.Linear(OBSERVATION_SIZE, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, HIDDEN), nn.Tanh(),
                         nn.Linear(HIDDEN, outputs))


class ActorCritic(nn.Module):
    """actor(obs) -> logits [WAIT, FLUSH]; critic(obs) -> the value of the group's remaining return."""

    def __init__(self):
        super().__init__()
        self.actor = mlp(2)
        self.critic = mlp(1)
        with torch.no_grad():
            self.actor[-1].weight.mul_(0.01)
            self.actor[-1].bias.copy_(torch.tensor([0.0, INITIAL_FLUSH_BIAS]))

    def forward(self, obs):
        return self.actor(obs), self.critic(obs).squeeze(-1)


class NumpyActorCritic:
    """A frozen float64 copy of both networks: one decision costs microseconds, not a torch call."""

    def __init__(self, net):
        def layers(seq):
            return [(m.weight.detach().double().numpy().T.copy(), m.bias.detach().double().numpy().copy())
                    for m in seq if isinstance(m, nn.Linear)]

        self.actor = layers(net.actor)
        self.critic = layers(net.critic)

    @staticmethod
    def _run(layers, x):
        for index, (weight, bias) in enumerate(layers):
            x = x @ weight + bias
            if index < len(layers) - 1:
                x = np.tanh(x)
        return x

    def __call__(self, obs):
        """(logits [2], value) of one observation."""
        x = np.asarray(obs, dtype=np.float64)
        return self._run(self.actor, x), float(self._run(self.critic, x)[0])
