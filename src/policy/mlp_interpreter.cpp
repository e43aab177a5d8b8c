#include "policy/mlp_interpreter.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

namespace levee::policy {
namespace {

// The plan's matrices are tiny (the shipped model is 4 -> 64 -> 64 -> 2). Each output is summed
// over k in order, as the reference does; with a contiguous B, 16 outputs at a time stay in
// registers across the whole k loop, which the compiler vectorises without reassociating.
void matmul(const PlanStep& s, const float* a, const float* b, const float* c, float* out) {
  constexpr std::size_t k_block = 16;
  const std::size_t rows = s.rows;
  const std::size_t cols = s.cols;
  const std::size_t inner = s.inner;
  for (std::size_t m = 0; m < rows; ++m) {
    float* o = out + m * cols;
    const float* am = a + m * s.a_row_stride;
    std::size_t n0 = 0;
    if (s.b_col_stride == 1) {
      for (; n0 + k_block <= cols; n0 += k_block) {
        std::array<float, k_block> acc{};
        for (std::size_t k = 0; k < inner; ++k) {
          const float av = am[k * s.a_col_stride];
          const float* bk = b + k * s.b_row_stride + n0;
          for (std::size_t j = 0; j < k_block; ++j) acc[j] += av * bk[j];
        }
        std::copy(acc.begin(), acc.end(), o + n0);
      }
    }
    for (std::size_t n = n0; n < cols; ++n) {
      float acc = 0.0F;
      for (std::size_t k = 0; k < inner; ++k) {
        acc += am[k * s.a_col_stride] * b[k * s.b_row_stride + n * s.b_col_stride];
      }
      o[n] = acc;
    }
    if (s.has_c) {
      const float* cm = c + m * s.c_row_stride;
      for (std::size_t n = 0; n < cols; ++n) {
        o[n] = s.alpha * o[n] + s.beta * cm[n * s.c_col_stride];
      }
    } else if (s.alpha != 1.0F) {
      for (std::size_t n = 0; n < cols; ++n) o[n] *= s.alpha;
    }
  }
}

void add(const PlanStep& s, const float* a, const float* b, float* out) {
  for (std::size_t r = 0; r < s.rows; ++r) {
    for (std::size_t c = 0; c < s.cols; ++c) {
      out[r * s.cols + c] =
          a[r * s.a_row_stride + c * s.a_col_stride] + b[r * s.b_row_stride + c * s.b_col_stride];
    }
  }
}

template <class F>
void unary(const PlanStep& s, const float* a, float* out, F f) {
  const std::size_t n = static_cast<std::size_t>(s.rows) * s.cols;
  for (std::size_t i = 0; i < n; ++i) out[i] = f(a[i]);
}

void softmax(const PlanStep& s, const float* a, float* out) {
  for (std::size_t r = 0; r < s.rows; ++r) {
    const float* in = a + r * s.cols;
    float* o = out + r * s.cols;
    const float top = *std::max_element(in, in + s.cols);
    float sum = 0.0F;
    for (std::size_t c = 0; c < s.cols; ++c) {
      o[c] = std::exp(in[c] - top);
      sum += o[c];
    }
    for (std::size_t c = 0; c < s.cols; ++c) o[c] /= sum;
  }
}

}  // namespace

CompiledModel::CompiledModel(Plan plan) : plan_(std::move(plan)) {
  assert(plan_.scratch_floats >= plan_.input_offset + plan_.input_width);
}

void CompiledModel::run(float* scratch) const {
  const float* constants = plan_.constants.data();
  const auto at = [&](TensorRef ref) -> const float* {
    return (ref.constant ? constants : scratch) + ref.offset;
  };
  for (const PlanStep& s : plan_.steps) {
    float* out = scratch + s.out.offset;
    switch (s.kind) {
      case PlanStep::Kind::matmul:
        matmul(s, at(s.a), at(s.b), s.has_c ? at(s.c) : nullptr, out);
        break;
      case PlanStep::Kind::add:
        add(s, at(s.a), at(s.b), out);
        break;
      case PlanStep::Kind::relu:
        unary(s, at(s.a), out, [](float x) { return x > 0.0F ? x : 0.0F; });
        break;
      case PlanStep::Kind::tanh:
        unary(s, at(s.a), out, [](float x) { return std::tanh(x); });
        break;
      case PlanStep::Kind::sigmoid:
        unary(s, at(s.a), out, [](float x) { return 1.0F / (1.0F + std::exp(-x)); });
        break;
      case PlanStep::Kind::softmax:
        softmax(s, at(s.a), out);
        break;
    }
  }
}

std::array<float, k_logit_count> CompiledModel::evaluate(std::span<const float> obs,
                                                         Scratch& scratch) const {
  if (obs.size() != plan_.input_width) {
    constexpr float nan = std::numeric_limits<float>::quiet_NaN();
    return {nan, nan};
  }
  if (scratch.floats_.size() < plan_.scratch_floats) scratch.floats_.resize(plan_.scratch_floats);
  float* base = scratch.floats_.data();
  std::copy(obs.begin(), obs.end(), base + plan_.input_offset);
  run(base);
  const float* out = (plan_.output.constant ? plan_.constants.data() : base) + plan_.output.offset;
  return {out[0], out[1]};
}

std::array<float, k_logit_count> CompiledModel::evaluate(std::span<const float> obs) const {
  thread_local Scratch scratch;
  return evaluate(obs, scratch);
}

ModelAction CompiledModel::decide(std::span<const float> obs, Scratch& scratch) const {
  const auto logits = evaluate(obs, scratch);
  return logits[1] > logits[0] ? ModelAction::flush : ModelAction::wait;
}

ModelAction CompiledModel::decide(std::span<const float> obs) const {
  const auto logits = evaluate(obs);
  return logits[1] > logits[0] ? ModelAction::flush : ModelAction::wait;
}

}  // namespace levee::policy
