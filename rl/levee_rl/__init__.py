"""Offline training pipeline of levee's `learned` flush policy (DESIGN.md "Flush policies", issue 7).

A discrete-event simulator of one route's collapse-window slot, the fixed policies levee ships
(ported so the comparison runs on identical traffic), PPO that trains the `learned` policy,
its ONNX export and the evaluation table.
"""
