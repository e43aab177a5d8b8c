"""Exports a torch MLP (observation [N, W] -> logits [N, 2]) to the ONNX file levee loads.

Input `obs`, output `logits`, opset 13, constants folded; the graph is then checked to use
only the ops levee's interpreter accepts, and refused otherwise. A policy model declares the
observation version it was trained on in the metadata `levee.observation_version`: levee
refuses a model whose version or input width is not the one it computes.
"""

import argparse
import io

import onnx
import onnx.numpy_helper
import torch

from levee_rl.model import ActorCritic
from levee_rl.onnx_eval import ALLOWED_OPS
from levee_rl.signals import OBSERVATION_VERSION

VERSION_KEY = "levee.observation_version"


def input_width(module):
    """The observation width of an MLP: its first Linear layer's inputs."""
    return next(m for m in module.modules() if isinstance(m, torch.nn.Linear)).in_features


def export(module, path, observation_version=None):
    """Writes `module` to `path` and returns the checked onnx.ModelProto; with
    `observation_version`, the model declares it (every flush-policy model does)."""
    module = module.eval()
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, torch.zeros(1, input_width(module)), buffer, input_names=["obs"],
                          output_names=["logits"], dynamic_axes={"obs": {0: "N"}, "logits": {0: "N"}},
                          opset_version=13, do_constant_folding=True)
    model = onnx.load_from_string(buffer.getvalue())
    if observation_version is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = VERSION_KEY, str(observation_version)
    onnx.checker.check_model(model)
    ops = {node.op_type for node in model.graph.node}
    if not ops <= ALLOWED_OPS:
        raise ValueError(f"the exported graph uses ops levee refuses: {sorted(ops - ALLOWED_OPS)}")
    with open(path, "wb") as out:
        out.write(model.SerializeToString())
    return model


def load_actor(module, path):
    """Loads an exported actor's weights back into `module` (the same architecture): the
    starting point for fine-tuning the deployed model on what levee recorded. Refuses a file
    of another observation version or shape."""
    model = onnx.load(path)
    declared = {entry.key: entry.value for entry in model.metadata_props}.get(VERSION_KEY)
    if declared != str(OBSERVATION_VERSION):
        raise ValueError(f"{path}: declares observation version {declared!r}, "
                         f"training uses {OBSERVATION_VERSION}")
    weights = {tensor.name: torch.from_numpy(onnx.numpy_helper.to_array(tensor).copy())
               for tensor in model.graph.initializer}
    state = module.state_dict()
    if set(weights) != set(state) or any(weights[k].shape != state[k].shape for k in state):
        raise ValueError(f"{path}: its weights do not fit this actor "
                         f"({sorted(weights)} against {sorted(state)})")
    module.load_state_dict(weights)


def main():
    parser = argparse.ArgumentParser(description="Export a trained actor checkpoint to ONNX.")
    parser.add_argument("checkpoint", help="a torch file holding the ActorCritic state_dict")
    parser.add_argument("output", help="the .onnx file to write")
    args = parser.parse_args()
    net = ActorCritic()
    net.load_state_dict(torch.load(args.checkpoint))
    export(net.actor, args.output, OBSERVATION_VERSION)


if __name__ == "__main__":
    main()
