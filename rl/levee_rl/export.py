"""Exports a torch MLP (observation [N, 4] -> logits [N, 2]) to the ONNX file levee loads.

Input `obs`, output `logits`, opset 13, constants folded; the graph is then checked to use
only the ops levee's interpreter accepts, and refused otherwise.
"""

import argparse
import io

import onnx
import torch

from levee_rl.model import ActorCritic
from levee_rl.onnx_eval import ALLOWED_OPS


def export(module, path):
    """Writes `module` to `path` and returns the checked onnx.ModelProto."""
    module = module.eval()
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, torch.zeros(1, 4), buffer, input_names=["obs"],
                          output_names=["logits"], dynamic_axes={"obs": {0: "N"}, "logits": {0: "N"}},
                          opset_version=13, do_constant_folding=True)
    model = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(model)
    ops = {node.op_type for node in model.graph.node}
    if not ops <= ALLOWED_OPS:
        raise ValueError(f"the exported graph uses ops levee refuses: {sorted(ops - ALLOWED_OPS)}")
    with open(path, "wb") as out:
        out.write(model.SerializeToString())
    return model


def main():
    parser = argparse.ArgumentParser(description="Export a trained actor checkpoint to ONNX.")
    parser.add_argument("checkpoint", help="a torch file holding the ActorCritic state_dict")
    parser.add_argument("output", help="the .onnx file to write")
    args = parser.parse_args()
    net = ActorCritic()
    net.load_state_dict(torch.load(args.checkpoint))
    export(net.actor, args.output)


if __name__ == "__main__":
    main()
