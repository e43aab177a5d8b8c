#pragma once
// The evaluator of the `learned` flush policy (DESIGN.md "Flush policies"): a compiled plan of
// a small feed-forward network (an exported MLP) that maps an observation (a row of floats) to
// two logits, WAIT and FLUSH. onnx_model.hpp builds a plan from an ONNX file and validates it; this
// file only runs it.
//
// Threading and ownership: a CompiledModel is immutable once built and is shared, behind a
// shared_ptr<const CompiledModel>, by every worker thread of a route; evaluate() and decide()
// are const and thread-safe. Intermediate values live in a Scratch that the caller owns (one
// per thread), or in a thread_local one: after a thread's first call, a call allocates nothing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace levee::policy {

// The widest observation a model may take (a bound on what a hostile file declares); which
// width and version levee's own observation has is the policy's business (route_signals.hpp).
inline constexpr std::size_t k_max_input_width = 64;
inline constexpr std::size_t k_logit_count = 2;  // [WAIT, FLUSH]

enum class ModelAction : std::uint8_t { wait, flush };

// Where a tensor's floats are: in the model's constants or in the caller's scratch.
struct TensorRef {
  std::uint32_t offset = 0;
  bool constant = false;
};

// One operation of the plan. Matrices are row-major [rows, cols]; a stride of 0 broadcasts.
struct PlanStep {
  enum class Kind : std::uint8_t { matmul, add, relu, tanh, sigmoid, softmax };
  Kind kind = Kind::relu;
  TensorRef out;

  // matmul: out[m, n] = alpha * sum_k a[m, k] * b[k, n] + beta * c[m, n] (c optional).
  // add: out[r, c] = a[r, c] + b[r, c], both broadcast by their strides.
  // unary and softmax (over each row): out = f(a), `rows` x `cols` floats.
  TensorRef a;
  TensorRef b;
  TensorRef c;
  bool has_c = false;
  std::uint32_t rows = 0;   // M for matmul
  std::uint32_t cols = 0;   // N for matmul
  std::uint32_t inner = 0;  // K for matmul
  std::uint32_t a_row_stride = 0, a_col_stride = 0;
  std::uint32_t b_row_stride = 0, b_col_stride = 0;
  std::uint32_t c_row_stride = 0, c_col_stride = 0;
  float alpha = 1.0F;
  float beta = 1.0F;
};

// A validated plan: the builder (onnx_model.cpp) guarantees every reference is in bounds, every
// scratch tensor is written before it is read, and the input and output have the sizes above.
struct Plan {
  std::vector<float> constants;
  std::vector<PlanStep> steps;
  std::size_t scratch_floats = 0;
  std::uint32_t input_offset = 0;  // in scratch: the observation is copied there
  std::uint32_t input_width = 0;   // floats in one observation
  // What the file declares of its observation (metadata "levee.observation_version"); 0:
  // nothing declared.
  std::uint32_t observation_version = 0;
  TensorRef output;  // two floats
  std::size_t parameter_count = 0;
};

class CompiledModel {
 public:
  // Per-thread working memory for evaluate(); reusable across models (it grows once to the
  // largest one it has served).
  class Scratch {
   public:
    Scratch() = default;

   private:
    friend class CompiledModel;
    std::vector<float> floats_;
  };

  explicit CompiledModel(Plan plan);

  // An observation of another width than input_width() gives NaN logits (never a read out of
  // bounds).
  [[nodiscard]] std::array<float, k_logit_count> evaluate(std::span<const float> obs,
                                                          Scratch& scratch) const;
  // With a thread_local scratch.
  [[nodiscard]] std::array<float, k_logit_count> evaluate(std::span<const float> obs) const;

  // FLUSH when logit[FLUSH] > logit[WAIT]; a NaN logit means WAIT (callers that must tell a
  // broken model apart check evaluate()'s logits with std::isfinite).
  [[nodiscard]] ModelAction decide(std::span<const float> obs, Scratch& scratch) const;
  [[nodiscard]] ModelAction decide(std::span<const float> obs) const;

  [[nodiscard]] std::size_t parameter_count() const noexcept { return plan_.parameter_count; }
  [[nodiscard]] std::size_t step_count() const noexcept { return plan_.steps.size(); }
  [[nodiscard]] std::size_t scratch_floats() const noexcept { return plan_.scratch_floats; }
  [[nodiscard]] std::size_t input_width() const noexcept { return plan_.input_width; }
  [[nodiscard]] std::uint32_t observation_version() const noexcept {
    return plan_.observation_version;
  }

 private:
  void run(float* scratch) const;

  Plan plan_;
};

}  // namespace levee::policy
