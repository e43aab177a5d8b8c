"""`make train`: trains the learned flush policy with PPO, exports it, writes fixtures and the table.

Deterministic for a given --seed (and telemetry file): every random stream is derived from it,
torch runs on two threads. Training traffic is workloads.TRAINING, plus, with --telemetry,
pieces of the arrival traces levee recorded (trace.py), REPLAY_EPISODES of them per
iteration; the evaluation is on workloads.HELD_OUT.
"""

import argparse
import time

import numpy as np
import torch

from levee_rl import evaluate, make_fixtures, ppo, trace, workloads
from levee_rl.export import export, load_actor
from levee_rl.latency import LogNormalLatency
from levee_rl.model import ActorCritic, NumpyActorCritic
from levee_rl.signals import OBSERVATION_VERSION
from levee_rl.simulator import simulate


# Replayed episodes per iteration next to the synthetic ones, and how long each piece is.
REPLAY_EPISODES = 3
REPLAY_PIECE_S = 1.5


def replay_workloads(telemetry_path, episodes=REPLAY_EPISODES):
    """[(name, function(rng) -> arrival times)] * episodes: one random piece of a recorded
    trace per call (every route's pieces together, drawn in proportion to their requests),
    or [] when the file has no replayable arrivals."""
    pieces = []
    for route, times in sorted(trace.arrival_traces(trace.read_events(telemetry_path)).items()):
        pieces += [piece for piece in trace.split_trace(times, REPLAY_PIECE_S) if piece.size > 1]
    if not pieces:
        return []
    # A piece is drawn in proportion to its requests: training sees the recorded traffic as the
    # requests saw it (30 s of a handful of requests do not outweigh 10 s of a burst).
    weights = np.array([piece.size for piece in pieces], dtype=float)
    weights /= weights.sum()
    pick = lambda rng: pieces[int(rng.choice(len(pieces), p=weights))]  # noqa: E731
    return [(f"replay-{k}", pick) for k in range(episodes)]


def train(seed, iterations, price, log=print, extra_workloads=(), init=None, lr=1e-3):
    """Returns the trained ActorCritic; `extra_workloads` join workloads.TRAINING; `init`: an
    exported model whose actor is the starting point (fine-tuning; the critic starts fresh)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = ActorCritic()
    if init is not None:
        load_actor(net.actor, init)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    mix = list(workloads.TRAINING) + list(extra_workloads)
    trackers = {name: ppo.RatioTracker() for name, _ in mix}
    for iteration in range(iterations):
        started = time.monotonic()
        snapshot = NumpyActorCritic(net)
        buffer = ppo.Buffer(lam=0.95)
        sizes = []
        for index, (name, make) in enumerate(mix):
            rng = np.random.default_rng([seed, iteration, index])
            median = rng.choice(workloads.TRAINING_LATENCY_MEDIANS)
            policy = ppo.RolloutPolicy(snapshot, rng, price, trackers[name], buffer)
            result = simulate(make(rng), policy, LogNormalLatency(median, 10 * median), rng)
            sizes.append(np.mean([f.size for f in result.flushes]))
        stats = ppo.update(net, optimiser, buffer, generator)
        log(f"iteration {iteration + 1}/{iterations}: {len(buffer.actions)} decisions, "
            f"mean return {np.mean(buffer.episode_returns):.3f}, entropy {stats['entropy']:.3f}, "
            f"mean batch per workload {' '.join(f'{s:.0f}' for s in sizes)}, "
            f"{time.monotonic() - started:.1f} s")
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--price", type=float, default=0.8,
                        help="seconds of request latency one upstream call is worth")
    parser.add_argument("--model", default="models/flush_policy.onnx")
    parser.add_argument("--fixtures", default="tests/data/policy")
    parser.add_argument("--docs", default="docs")
    parser.add_argument("--telemetry",
                        help="levee flush telemetry (JSONL): its arrival traces join the training "
                             "mix, and it fits the evaluation's upstream latency")
    parser.add_argument("--replay-episodes", type=int, default=REPLAY_EPISODES,
                        help="with --telemetry: recorded pieces per iteration next to the "
                             f"{len(workloads.TRAINING)} synthetic episodes")
    parser.add_argument("--init", help="an exported model to start from (fine-tuning it)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--no-evaluation", action="store_true",
                        help="export the model only: no fixtures, table or charts (the live loop)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    started = time.monotonic()
    extra = replay_workloads(args.telemetry, args.replay_episodes) if args.telemetry else []
    if args.telemetry:
        print(f"{args.telemetry}: {len(extra)} replayed episodes per iteration")
    net = train(args.seed, args.iterations, args.price, extra_workloads=extra, init=args.init,
                lr=args.lr)
    export(net.actor, args.model, OBSERVATION_VERSION)
    print(f"trained and exported {args.model} in {time.monotonic() - started:.0f} s")
    if args.no_evaluation:
        return
    make_fixtures.write_shipped_reference(net.actor, args.model, args.fixtures, args.seed)
    make_fixtures.write_random_fixtures(args.fixtures, args.seed)
    latency = (LogNormalLatency.from_telemetry(args.telemetry) if args.telemetry
               else workloads.EVALUATION_LATENCY)
    evaluate.run(args.model, args.docs, latency, args.seed)
    print(f"make train done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
