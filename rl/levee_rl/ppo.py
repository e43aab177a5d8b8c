"""PPO (clipped objective, GAE, entropy bonus) over episodes that are waiting groups.

The reward (docs/policies_offline.md): a group's return is
    R = rho * n  -  sum_i wait_i  -  price,        all divided by `price`,
paid as it accrues: each decision interval costs (members waiting) x (its length), each new
member earns rho, the flush costs the price of one upstream call. The upstream latency is left
out: the policy cannot change it. rho is the running cost per request under the current
policy on that workload (sum of costs / sum of members over recent groups), which makes
maximising each group's return the same as minimising the long-run cost per request
  (sum of waits + price x upstream calls) / requests
(renewal reward plus Dinkelbach's ratio trick): without it, every group would flush at once.
"""

import numpy as np
import torch


class RatioTracker:
    """The running cost per request (rho) of one workload: exponentially weighted over groups."""

    def __init__(self, weight=0.05):
        self.weight = weight
        self.cost = 0.0
        self.members = 0.0

    @property
    def rho(self):
        return self.cost / self.members if self.members > 0 else 0.0

    def update(self, cost, members):
        if not self.members:  # the first group sets the ratio
            self.cost, self.members = cost, members
            return
        self.cost += self.weight * (cost - self.cost)
        self.members += self.weight * (members - self.members)


class RolloutPolicy:
    """A stochastic policy the simulator asks; it records each decision and its reward.

    Decisions of one group form one episode; rewards are settled when the group flushes.
    """

    name = "ppo-rollout"
    tick = True

    def __init__(self, snapshot, rng, price, tracker, buffer):
        self.snapshot = snapshot
        self.rng = rng
        self.price = price
        self.tracker = tracker
        self.buffer = buffer
        self.group = []  # (obs, action, logp, value, time, size) of the open group

    def decide(self, decision):
        obs = decision.observation
        logits, value = self.snapshot(obs)
        shifted = logits - logits.max()
        logp_all = shifted - np.log(np.exp(shifted).sum())
        action = int(self.rng.random() < np.exp(logp_all[1]))
        self.group.append((obs, action, logp_all[action], value, decision.now, decision.size))
        return action == 1

    def on_flush(self, flush):
        if not self.group:
            return
        rho = self.tracker.rho
        rewards, waited = [], 0.0
        for k, (_, _, _, _, now, size) in enumerate(self.group):
            end, end_size = ((self.group[k + 1][4], self.group[k + 1][5]) if k + 1 < len(self.group)
                             else (flush.time, flush.size))
            wait = size * (end - now)
            waited += wait
            rewards.append((rho * (end_size - size) - wait) / self.price)
        rewards[0] += rho * self.group[0][5] / self.price
        rewards[-1] -= 1.0
        self.tracker.update(waited + self.price, flush.size)
        self.buffer.add_episode(self.group, rewards)
        self.group = []


class Buffer:
    """Transitions with their GAE advantages and returns (gamma = 1 within a group)."""

    def __init__(self, lam):
        self.lam = lam
        self.obs, self.actions, self.logps, self.advantages, self.returns = [], [], [], [], []
        self.episode_returns = []

    def add_episode(self, steps, rewards):
        values = [s[3] for s in steps] + [0.0]
        gae = 0.0
        advantages = [0.0] * len(steps)
        for k in reversed(range(len(steps))):
            delta = rewards[k] + values[k + 1] - values[k]
            gae = delta + self.lam * gae
            advantages[k] = gae
        for k, step in enumerate(steps):
            self.obs.append(step[0])
            self.actions.append(step[1])
            self.logps.append(step[2])
            self.advantages.append(advantages[k])
            self.returns.append(advantages[k] + values[k])
        self.episode_returns.append(sum(rewards))

    def tensors(self):
        return tuple(torch.from_numpy(np.asarray(values, dtype=dtype))
                     for values, dtype in ((self.obs, np.float32), (self.actions, np.int64),
                                           (self.logps, np.float32), (self.advantages, np.float32),
                                           (self.returns, np.float32)))

def update(net, optimiser, buffer, generator, epochs=4, minibatch=2048, clip=0.2,
           entropy_coef=0.01, value_coef=0.5):
    """Clipped-surrogate PPO epochs over the buffer; returns the last minibatch's losses."""
    obs, actions, old_logps, advantages, returns = buffer.tensors()
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    count = obs.shape[0]
    stats = {}
    for _ in range(epochs):
        order = torch.randperm(count, generator=generator)
        for start in range(0, count, minibatch):
            index = order[start:start + minibatch]
            logits, values = net(obs[index])
            dist = torch.distributions.Categorical(logits=logits)
            ratio = torch.exp(dist.log_prob(actions[index]) - old_logps[index])
            adv = advantages[index]
            policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
            value_loss = (values - returns[index]).pow(2).mean()
            entropy = dist.entropy().mean()
            loss = policy_loss + value_coef * value_loss - entropy_coef * entropy
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
            optimiser.step()
            stats = {"policy": policy_loss.item(), "value": value_loss.item(), "entropy": entropy.item()}
    return stats

