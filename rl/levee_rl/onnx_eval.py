"""A tiny NumPy evaluator of ONNX graphs made of the ops levee's interpreter accepts.

onnx 1.12 has no onnx.reference, and levee evaluates models with its own interpreter; walking
the graph here, independently of torch, checks the exported file itself (its ops, attributes
and initializers), not just the module it came from.
"""

import numpy as np
import onnx
from onnx import numpy_helper

ALLOWED_OPS = {"Gemm", "MatMul", "Add", "Relu", "Tanh", "Sigmoid", "Softmax", "Flatten",
               "Identity", "Constant"}


def _attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _softmax(x, axis):
    if axis not in (-1, x.ndim - 1):
        raise ValueError("Softmax only over the last axis")
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _run_node(node, inputs):
    op, attrs = node.op_type, _attributes(node)
    if op == "Gemm":
        a, b = inputs[0], inputs[1]
        a = a.T if attrs.get("transA", 0) else a
        b = b.T if attrs.get("transB", 0) else b
        out = attrs.get("alpha", 1.0) * (a @ b)
        if len(inputs) > 2 and inputs[2] is not None:
            out = out + attrs.get("beta", 1.0) * inputs[2]
        return out
    if op == "MatMul":
        return inputs[0] @ inputs[1]
    if op == "Add":
        return inputs[0] + inputs[1]
    if op == "Relu":
        return np.maximum(inputs[0], 0.0)
    if op == "Tanh":
        return np.tanh(inputs[0])
    if op == "Sigmoid":
        return 1.0 / (1.0 + np.exp(-inputs[0]))
    if op == "Softmax":
        return _softmax(inputs[0], attrs.get("axis", -1))
    if op == "Flatten":
        axis = attrs.get("axis", 1)
        x = inputs[0]
        return x.reshape(int(np.prod(x.shape[:axis])), -1)
    if op == "Identity":
        return inputs[0]
    if op == "Constant":
        return numpy_helper.to_array(attrs["value"]).astype(np.float32)
    raise ValueError(f"op {op} is not one levee accepts")


class OnnxMlp:
    """A loaded graph; calling it with a float32 [N, 4] array returns the [N, 2] logits."""

    def __init__(self, path_or_model):
        model = path_or_model if isinstance(path_or_model, onnx.ModelProto) else onnx.load(path_or_model)
        graph = model.graph
        bad = sorted({n.op_type for n in graph.node} - ALLOWED_OPS)
        if bad:
            raise ValueError(f"ops levee does not accept: {bad}")
        self.graph = graph
        self.initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        for name, value in self.initializers.items():
            if value.dtype != np.float32:
                raise ValueError(f"initializer {name} is {value.dtype}, not float32")
        inputs = [i.name for i in graph.input if i.name not in self.initializers]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise ValueError("need exactly one input and one output")
        self.input_name = inputs[0]
        self.output_name = graph.output[0].name

    def __call__(self, obs):
        values = dict(self.initializers)
        values[self.input_name] = np.asarray(obs, dtype=np.float32)
        for node in self.graph.node:  # exported graphs are topologically sorted (ONNX requires it)
            args = [values[name] if name else None for name in node.input]
            values[node.output[0]] = _run_node(node, args).astype(np.float32)
        return values[self.output_name]
