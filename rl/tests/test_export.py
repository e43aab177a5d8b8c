"""The exported ONNX graph uses only levee's ops and computes what torch computes (1e-5)."""

import json
import os
import tempfile
import unittest

import numpy as np
import onnx
import torch

from levee_rl import make_fixtures
from levee_rl.export import VERSION_KEY, export, input_width, load_actor
from levee_rl.model import ActorCritic, NumpyActorCritic
from levee_rl.onnx_eval import ALLOWED_OPS, OnnxMlp
from levee_rl.signals import OBSERVATION_SIZE, OBSERVATION_VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ExportTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(3)
        self.inputs = np.random.default_rng(3).uniform(0, 1, (200, 16)).astype(np.float32)
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def check(self, module, observation_version=None):
        path = os.path.join(self.dir.name, "m.onnx")
        model = export(module, path, observation_version)
        self.assertLessEqual({n.op_type for n in model.graph.node}, ALLOWED_OPS)
        self.assertEqual([i.name for i in model.graph.input], ["obs"])
        evaluator = OnnxMlp(path)
        inputs = np.ascontiguousarray(self.inputs[:, :input_width(module)])
        with torch.no_grad():
            expected = module(torch.from_numpy(inputs)).numpy()
        np.testing.assert_allclose(evaluator(inputs), expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(evaluator(inputs[:1]), expected[:1], atol=1e-5, rtol=0)
        return model

    @staticmethod
    def metadata(model):
        return {entry.key: entry.value for entry in model.metadata_props}

    def test_actor(self):
        net = ActorCritic()
        for p in net.parameters():  # weights far from the initial near-zero output layer
            torch.nn.init.normal_(p, std=0.5)
        model = self.check(net.actor, OBSERVATION_VERSION)
        self.assertEqual(input_width(net.actor), OBSERVATION_SIZE)
        self.assertEqual(self.metadata(model), {VERSION_KEY: str(OBSERVATION_VERSION)})
        dims = model.graph.input[0].type.tensor_type.shape.dim
        self.assertEqual(dims[1].dim_value, OBSERVATION_SIZE)

    def test_an_exported_actor_loads_back_for_fine_tuning(self):
        net = ActorCritic()
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.5)
        path = os.path.join(self.dir.name, "m.onnx")
        export(net.actor, path, OBSERVATION_VERSION)
        fresh = ActorCritic()
        load_actor(fresh.actor, path)
        obs = torch.from_numpy(np.ascontiguousarray(self.inputs[:, :OBSERVATION_SIZE]))
        with torch.no_grad():
            np.testing.assert_allclose(fresh.actor(obs).numpy(), net.actor(obs).numpy(), atol=1e-6)
        export(net.actor, path)  # no declared version: refused
        with self.assertRaises(ValueError):
            load_actor(fresh.actor, path)

    def test_a_net_exported_without_a_version_declares_none(self):
        model = self.check(make_fixtures.random_nets(11)["random_mlp_a"])
        self.assertNotIn(VERSION_KEY, self.metadata(model))

    def test_random_nets_with_other_activations(self):
        for module in make_fixtures.random_nets(11).values():
            self.check(module)

    def test_numpy_snapshot_matches_torch(self):
        net = ActorCritic()
        snapshot = NumpyActorCritic(net)
        obs = np.ascontiguousarray(self.inputs[:1, :OBSERVATION_SIZE])
        logits, value = snapshot(obs[0])
        with torch.no_grad():
            t_logits, t_value = net(torch.from_numpy(obs))
        np.testing.assert_allclose(logits, t_logits.numpy()[0], atol=1e-5)
        self.assertAlmostEqual(value, float(t_value[0]), places=5)

    def test_evaluator_refuses_other_ops(self):
        node = onnx.helper.make_node("Exp", ["obs"], ["logits"])
        graph = onnx.helper.make_graph(
            [node], "g", [onnx.helper.make_tensor_value_info("obs", onnx.TensorProto.FLOAT, [1, 4])],
            [onnx.helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [1, 2])])
        with self.assertRaises(ValueError):
            OnnxMlp(onnx.helper.make_model(graph))

    def test_shipped_fixtures_match_their_models(self):
        fixtures = os.path.join(ROOT, "tests", "data", "policy")
        names = ["flush_policy_reference.json", "random_mlp_a_reference.json", "random_mlp_b_reference.json"]
        for name in names:
            path = os.path.join(fixtures, name)
            if not os.path.exists(path):
                self.skipTest(f"{path} not generated yet (make train)")
            with open(path, encoding="utf-8") as f:
                reference = json.load(f)
            evaluator = OnnxMlp(os.path.join(ROOT, reference["model"]))
            inputs = np.asarray(reference["inputs"], dtype=np.float32)
            self.assertGreaterEqual(len(inputs), 256)
            np.testing.assert_allclose(evaluator(inputs), np.asarray(reference["logits"]), atol=1e-5, rtol=0)


if __name__ == "__main__":
    unittest.main()
