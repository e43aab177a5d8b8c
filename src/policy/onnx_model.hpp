#pragma once
// Loads the `learned` flush policy's model (DESIGN.md "Flush policies"): an ONNX file, parsed
// with libonnx's protobuf types, validated, and compiled into a CompiledModel
// (mlp_interpreter.hpp) that evaluates it in-process.
//
// What is accepted, and nothing else: one graph input of shape [1,W] or [N,W] (N symbolic,
// 1 <= W <= k_max_input_width) float32, the observation; one graph output of shape [1,2] float32,
// the logits [WAIT, FLUSH]; nodes of the default domain among Gemm, MatMul (2-D), Add
// (broadcasting), Relu, Tanh, Sigmoid, Softmax (last axis), Flatten, Identity and Constant, forming
// a DAG; float32 initializers (float_data or raw_data) of rank 0 to 2. Anything else is refused
// with a message that names the node, tensor or field and why, so a bad file can be logged and the
// previous model kept. The limits below bound what a hostile file can make levee allocate or
// compute.
//
// Threading: load_* are plain functions with no shared state, safe from any thread; they do
// file I/O and allocate, so they belong on a reload path, never on a decision.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "policy/mlp_interpreter.hpp"

namespace levee::policy {

// The ONNX metadata_props key under which a model declares the observation version it was
// trained on (rl/levee_rl/export.py writes it); whether it fits is the policy's check
// (route_signals.hpp: check_observation_contract).
inline constexpr std::string_view k_observation_version_key = "levee.observation_version";

inline constexpr std::size_t k_max_model_bytes = std::size_t{16} << 20;
inline constexpr std::size_t k_max_model_parameters = std::size_t{1} << 20;
inline constexpr std::size_t k_max_model_nodes = 256;
inline constexpr std::size_t k_max_model_scratch_floats = std::size_t{1} << 20;
inline constexpr std::size_t k_max_model_multiply_adds = std::size_t{1} << 24;

using ModelLoadResult = core::Result<std::shared_ptr<const CompiledModel>, std::string>;

[[nodiscard]] ModelLoadResult load_model_from_bytes(std::string_view bytes);
// Reads the file (refused unread if larger than k_max_model_bytes), then as above; an error
// names the path.
[[nodiscard]] ModelLoadResult load_model(const std::filesystem::path& path);

}  // namespace levee::policy
