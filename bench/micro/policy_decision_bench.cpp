// The cost of one `learned` flush decision in-process (issue 7's target: <= 2 us median,
// against seed 000's 5 ms gRPC budget): decide() of a 4 -> 64 -> 64 -> 2 MLP exported the way
// torch exports nn.Linear (Gemm with transB = 1), with ReLU between layers; and the whole
// LearnedPolicy::decide a route makes (observation, model, deadline check, counters).
//
//   policy_decision_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "policy/learned_policy.hpp"
#include "policy/observation.hpp"
#include "policy/onnx_model.hpp"

namespace {

using levee::policy::CompiledModel;

void add_matrix(onnx::GraphProto& graph, const std::string& name, std::vector<int> dims,
                std::mt19937& rng, float scale) {
  auto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto_DataType_FLOAT);
  std::size_t count = 1;
  for (const int d : dims) {
    t->add_dims(d);
    count *= static_cast<std::size_t>(d);
  }
  std::uniform_real_distribution<float> dist(-scale, scale);
  for (std::size_t i = 0; i < count; ++i) t->add_float_data(dist(rng));
}

std::string make_mlp_bytes() {
  std::mt19937 rng(7);
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto& graph = *model.mutable_graph();
  const auto declare = [](onnx::ValueInfoProto* info, const char* name, int cols) {
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    type->mutable_shape()->add_dim()->set_dim_value(cols);
  };
  constexpr int k_width = static_cast<int>(levee::policy::k_observation_size);
  declare(graph.add_input(), "obs", k_width);
  declare(graph.add_output(), "logits", 2);
  auto* version = model.add_metadata_props();
  version->set_key(std::string(levee::policy::k_observation_version_key));
  version->set_value(std::to_string(levee::policy::k_observation_version));
  const std::array<int, 4> widths{k_width, 64, 64, 2};
  std::string x = "obs";
  for (std::size_t layer = 0; layer < 3; ++layer) {
    const std::string w = "w" + std::to_string(layer);
    const std::string b = "b" + std::to_string(layer);
    const float scale = 1.0F / std::sqrt(static_cast<float>(widths[layer]));
    add_matrix(graph, w, {widths[layer + 1], widths[layer]}, rng, scale);
    add_matrix(graph, b, {widths[layer + 1]}, rng, scale);
    auto* gemm = graph.add_node();
    gemm->set_op_type("Gemm");
    gemm->add_input(x);
    gemm->add_input(w);
    gemm->add_input(b);
    auto* trans_b = gemm->add_attribute();
    trans_b->set_name("transB");
    trans_b->set_type(onnx::AttributeProto_AttributeType_INT);
    trans_b->set_i(1);
    const std::string y = layer == 2 ? "logits" : "h" + std::to_string(layer);
    gemm->add_output(y);
    x = y;
    if (layer < 2) {
      auto* relu = graph.add_node();
      relu->set_op_type("Relu");
      relu->add_input(x);
      x += "_relu";
      relu->add_output(x);
    }
  }
  return model.SerializeAsString();
}

std::shared_ptr<const CompiledModel> make_mlp() {
  auto loaded = levee::policy::load_model_from_bytes(make_mlp_bytes());
  if (!loaded) std::abort();
  return std::move(loaded).value();
}

void bm_decide(benchmark::State& state) {
  const auto model = make_mlp();
  const levee::policy::Observation obs{0.3F, 0.5F, 0.2F, 0.7F, 0.4F, 0.1F, 0.9F, 0.6F, 0.2F};
  for (auto _ : state) {
    benchmark::DoNotOptimize(obs);
    benchmark::DoNotOptimize(model->decide(obs));
  }
}
BENCHMARK(bm_decide);

void bm_decide_own_scratch(benchmark::State& state) {
  const auto model = make_mlp();
  CompiledModel::Scratch scratch;
  const levee::policy::Observation obs{0.3F, 0.5F, 0.2F, 0.7F, 0.4F, 0.1F, 0.9F, 0.6F, 0.2F};
  for (auto _ : state) {
    benchmark::DoNotOptimize(obs);
    benchmark::DoNotOptimize(model->decide(obs, scratch));
  }
}
BENCHMARK(bm_decide_own_scratch);

// The whole decision a route makes: the group's arrival figures (GroupArrivals::describe over
// a group of 127), the observation from the route's signals, the model (the same MLP, loaded
// through a ModelSlot), the deadline check and the counters.
void bm_learned_policy_decide(benchmark::State& state) {
  namespace policy = levee::policy;
  const std::string path = "/tmp/levee-policy-bench-" + std::to_string(::getpid()) + ".onnx";
  {
    std::ofstream out(path, std::ios::binary);
    out << make_mlp_bytes();
  }
  auto slot = std::make_shared<policy::ModelSlot>("bench", path, std::chrono::microseconds(100));
  if (slot->refresh(true) != policy::RefreshOutcome::loaded) std::abort();
  std::remove(path.c_str());
  auto signals = std::make_shared<policy::RouteSignals>();
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    signals->record_arrival(now);
    signals->record_upstream_latency(std::chrono::milliseconds(1 + i % 20), now);
  }
  auto adaptive = std::make_shared<policy::AdaptivePolicy>(signals);
  const policy::LearnedPolicy learned(slot, adaptive, policy::LearnedSettings{},
                                      std::make_shared<policy::DecisionCounters>());
  levee::GroupArrivals arrivals(now);
  for (int i = 1; i < 127; ++i) arrivals.add(now + std::chrono::microseconds(40 * i));
  const auto asked = now + std::chrono::milliseconds(7);
  for (auto _ : state) {
    levee::GroupState group{
        127, 128, 0, 0, std::chrono::milliseconds(7), std::chrono::milliseconds(50)};
    arrivals.describe(group, asked);
    benchmark::DoNotOptimize(group);
    benchmark::DoNotOptimize(learned.decide(group));
  }
  if (learned.counters().model_decisions() == 0) state.SkipWithError("every decision fell back");
}
BENCHMARK(bm_learned_policy_decide);

}  // namespace

BENCHMARK_MAIN();
