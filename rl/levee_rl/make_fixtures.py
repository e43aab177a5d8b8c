"""Reference inputs and logits for levee's C++ model tests (tests/data/policy/).

The shipped model's outputs on ~500 observations (random in [0,1]^8 plus every corner), and two
small random-weight nets using the other activations levee accepts, each with its outputs, so
the C++ interpreter is checked against torch on more than Gemm + Tanh.
"""

import argparse
import itertools
import json
import os

import numpy as np
import torch
from torch import nn

from levee_rl.export import export, input_width


def reference_inputs(seed, width=4, count=240):
    """Random points of [0,1]^width plus its corners (the edges 0 and 1 of every feature)."""
    rng = np.random.default_rng([seed, 424242])
    corners = np.array(list(itertools.product([0.0, 1.0], repeat=width)))
    return np.concatenate((rng.uniform(0.0, 1.0, (count, width)), corners)).astype(np.float32)


def write_reference(module, model_rel_path, json_path, inputs):
    with torch.no_grad():
        logits = module.eval()(torch.from_numpy(inputs)).numpy()
    with open(json_path, "w", encoding="utf-8") as out:
        json.dump({"model": model_rel_path, "inputs": inputs.tolist(), "logits": logits.tolist()}, out)
        out.write("\n")


def write_shipped_reference(actor, model_rel_path, fixtures_dir, seed):
    """flush_policy_reference.json for the model `make train` just exported."""
    os.makedirs(fixtures_dir, exist_ok=True)
    write_reference(actor, model_rel_path, os.path.join(fixtures_dir, "flush_policy_reference.json"),
                    reference_inputs(seed, input_width(actor)))


def random_nets(seed):
    """{name: module}: a (Relu, Softmax) net and a (Sigmoid, Tanh) net, random weights."""
    torch.manual_seed(seed)
    net_a = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2),
                          nn.Softmax(dim=-1))
    net_b = nn.Sequential(nn.Linear(4, 12), nn.Sigmoid(), nn.Linear(12, 2), nn.Tanh())
    return {"random_mlp_a": net_a, "random_mlp_b": net_b}


def write_random_fixtures(fixtures_dir, seed):
    os.makedirs(fixtures_dir, exist_ok=True)
    for name, net in random_nets(seed).items():
        path = os.path.join(fixtures_dir, f"{name}.onnx")
        export(net, path)
        write_reference(net, f"tests/data/policy/{name}.onnx",
                        os.path.join(fixtures_dir, f"{name}_reference.json"), reference_inputs(seed + 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixtures", default="tests/data/policy")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(2)
    write_random_fixtures(args.fixtures, args.seed)


if __name__ == "__main__":
    main()
