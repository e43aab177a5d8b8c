#include "policy/onnx_model.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/onnx_model_builder.hpp"
#include "policy/mlp_interpreter.hpp"

namespace levee::policy {
namespace {

using Obs = std::array<float, 4>;  // the width of the models these tests build
using test::Mat;
using test::ModelBuilder;

Mat random_mat(std::size_t rows, std::size_t cols, std::mt19937& rng) {
  const float scale = 1.0F / std::sqrt(static_cast<float>(std::max(rows, cols)));
  std::uniform_real_distribution<float> dist(-scale, scale);
  Mat m{rows, cols, std::vector<float>(rows * cols)};
  for (auto& x : m.v) x = dist(rng);
  return m;
}

Mat transpose(const Mat& m) {
  Mat t{m.cols, m.rows, std::vector<float>(m.v.size())};
  for (std::size_t r = 0; r < m.rows; ++r) {
    for (std::size_t c = 0; c < m.cols; ++c) t.v[c * m.rows + r] = m.at(r, c);
  }
  return t;
}

// y[1,n] = x[1,k] . w[k,n] + bias[n]
std::vector<float> ref_affine(const std::vector<float>& x, const Mat& w, const Mat& bias,
                              float alpha = 1.0F, float beta = 1.0F) {
  std::vector<float> y(w.cols);
  for (std::size_t n = 0; n < w.cols; ++n) {
    double acc = 0;
    for (std::size_t k = 0; k < w.rows; ++k) acc += static_cast<double>(x[k]) * w.at(k, n);
    y[n] = static_cast<float>(alpha * acc + beta * bias.v[n]);
  }
  return y;
}

template <class F>
std::vector<float> ref_map(std::vector<float> x, F f) {
  for (auto& v : x) v = f(v);
  return x;
}

float ref_relu(float x) { return x > 0 ? x : 0; }
float ref_sigmoid(float x) { return 1.0F / (1.0F + std::exp(-x)); }

std::vector<float> ref_softmax(std::vector<float> x) {
  const float top = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (auto& v : x) {
    v = std::exp(v - top);
    sum += v;
  }
  for (auto& v : x) v = static_cast<float>(v / sum);
  return x;
}

std::shared_ptr<const CompiledModel> load_ok(const ModelBuilder& b) {
  auto r = load_model_from_bytes(b.bytes());
  if (!r) {
    ADD_FAILURE() << r.error();
    return nullptr;
  }
  return std::move(r).value();
}

std::string load_error(const std::string& bytes) {
  auto r = load_model_from_bytes(bytes);
  if (r) {
    ADD_FAILURE() << "the model was accepted";
    return {};
  }
  return r.error();
}

std::vector<Obs> random_observations(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.0F, 1.0F);
  std::vector<Obs> out(n);
  for (auto& o : out) {
    for (auto& x : o) x = dist(rng);
  }
  return out;
}

std::vector<float> as_vector(const Obs& o) { return {o.begin(), o.end()}; }

void expect_logits(const std::array<float, 2>& got, const std::vector<float>& want) {
  ASSERT_EQ(want.size(), 2U);
  EXPECT_NEAR(got[0], want[0], 1e-5);
  EXPECT_NEAR(got[1], want[1], 1e-5);
}

// The shipped shape: 4 -> 64 -> 64 -> 2, as torch exports nn.Linear (Gemm, transB = 1).
struct Mlp {
  Mat w0, b0, w1, b1, w2, b2;  // w as [in, out]
  explicit Mlp(std::uint32_t seed) {
    std::mt19937 rng(seed);
    w0 = random_mat(4, 64, rng);
    b0 = random_mat(1, 64, rng);
    w1 = random_mat(64, 64, rng);
    b1 = random_mat(1, 64, rng);
    w2 = random_mat(64, 2, rng);
    b2 = random_mat(1, 2, rng);
  }
  template <class Act>
  [[nodiscard]] std::vector<float> reference(const Obs& obs, Act act) const {
    auto h = ref_map(ref_affine(as_vector(obs), w0, b0), act);
    h = ref_map(ref_affine(h, w1, b1), act);
    return ref_affine(h, w2, b2);
  }
  // Gemm(transB = 1) layers with `act` between them.
  [[nodiscard]] ModelBuilder gemm_model(const std::string& act, bool raw = false) const {
    ModelBuilder b;
    b.input("obs", {-1, 4}).output("logits");
    const std::array<const Mat*, 3> ws{&w0, &w1, &w2};
    const std::array<const Mat*, 3> bs{&b0, &b1, &b2};
    std::string x = "obs";
    for (std::size_t i = 0; i < 3; ++i) {
      const std::string w = "w" + std::to_string(i);
      const std::string bias = "b" + std::to_string(i);
      b.init(w, transpose(*ws[i]), false, raw).init(bias, *bs[i], true, raw);
      const std::string y = i == 2 ? "logits" : "h" + std::to_string(i);
      ModelBuilder::attr_int(b.node("Gemm", {x, w, bias}, y), "transB", 1);
      x = y;
      if (i < 2) {
        b.node(act, {x}, x + "_act");
        x += "_act";
      }
    }
    return b;
  }
};

TEST(OnnxModel, GemmReluMlpMatchesReference) {
  const Mlp mlp(1);
  const auto model = load_ok(mlp.gemm_model("Relu"));
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->parameter_count(), 4U * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2);
  for (const auto& obs : random_observations(200, 11)) {
    expect_logits(model->evaluate(obs), mlp.reference(obs, ref_relu));
  }
}

TEST(OnnxModel, GemmTanhMlpWithRawDataMatchesReference) {
  const Mlp mlp(2);
  const auto model = load_ok(mlp.gemm_model("Tanh", /*raw=*/true));
  ASSERT_NE(model, nullptr);
  for (const auto& obs : random_observations(200, 12)) {
    expect_logits(model->evaluate(obs), mlp.reference(obs, [](float x) { return std::tanh(x); }));
  }
}

TEST(OnnxModel, GemmAlphaBetaAndUntransposedWeights) {
  std::mt19937 rng(3);
  const Mat w = random_mat(4, 2, rng);
  const Mat bias = random_mat(1, 2, rng);
  ModelBuilder b;
  b.input("x", {1, 4}).output("y").init("w", w).init("c", bias);
  auto& gemm = b.node("Gemm", {"x", "w", "c"}, "y");
  ModelBuilder::attr_float(gemm, "alpha", 0.5F);
  ModelBuilder::attr_float(gemm, "beta", 2.0F);
  ModelBuilder::attr_int(gemm, "transB", 0);
  const auto model = load_ok(b);
  ASSERT_NE(model, nullptr);
  for (const auto& obs : random_observations(50, 13)) {
    expect_logits(model->evaluate(obs), ref_affine(as_vector(obs), w, bias, 0.5F, 2.0F));
  }
}

TEST(OnnxModel, MatMulAddSigmoidVariantMatchesReference) {
  std::mt19937 rng(4);
  const Mat w0 = random_mat(4, 16, rng);
  const Mat b0 = random_mat(1, 16, rng);
  const Mat w1 = random_mat(16, 2, rng);
  const Mat b1 = random_mat(1, 2, rng);
  ModelBuilder b;
  b.input("obs", {1, 4}).output("logits");
  b.init("w0", w0).init("b0", b0, true).init("w1", w1).init("b1", b1, /*as_vector=*/false);
  b.node("MatMul", {"obs", "w0"}, "m0");
  b.node("Add", {"m0", "b0"}, "a0");
  b.node("Sigmoid", {"a0"}, "s0");
  b.node("MatMul", {"s0", "w1"}, "m1");
  b.node("Add", {"b1", "m1"}, "logits");  // bias on the left, [1,2] + [1,2]
  const auto model = load_ok(b);
  ASSERT_NE(model, nullptr);
  for (const auto& obs : random_observations(200, 14)) {
    const auto h = ref_map(ref_affine(as_vector(obs), w0, b0), ref_sigmoid);
    expect_logits(model->evaluate(obs), ref_affine(h, w1, b1));
  }
}

TEST(OnnxModel, FlattenIdentityAndSoftmaxAtTheEnd) {
  const Mlp mlp(5);
  ModelBuilder b = mlp.gemm_model("Relu");
  auto& g = b.graph();
  // obs -> Flatten -> Identity -> (first Gemm) ...; logits -> Softmax -> probs.
  g.mutable_node(0)->set_input(0, "obs_id");
  auto* last = g.mutable_node(g.node_size() - 1);
  last->set_output(0, "raw_logits");
  auto& flatten = b.node("Flatten", {"obs"}, "obs_flat");
  ModelBuilder::attr_int(flatten, "axis", 1);
  b.node("Identity", {"obs_flat"}, "obs_id");
  b.node("Softmax", {"raw_logits"}, "logits");
  // Appended after their readers: the loader orders the DAG itself.
  const auto model = load_ok(b);
  ASSERT_NE(model, nullptr);
  for (const auto& obs : random_observations(100, 15)) {
    const auto got = model->evaluate(obs);
    expect_logits(got, ref_softmax(mlp.reference(obs, ref_relu)));
    EXPECT_NEAR(got[0] + got[1], 1.0F, 1e-6);
  }
}

TEST(OnnxModel, SoftmaxAxisOneUnderOpset11) {
  ModelBuilder b(11);
  std::mt19937 rng(6);
  const Mat w = random_mat(4, 2, rng);
  b.input("x", {1, 4}).output("y").init("w", w);
  b.node("MatMul", {"x", "w"}, "m");
  ModelBuilder::attr_int(b.node("Softmax", {"m"}, "y"), "axis", 1);
  const auto model = load_ok(b);
  ASSERT_NE(model, nullptr);
  const Obs obs{0.1F, 0.2F, 0.3F, 0.4F};
  expect_logits(model->evaluate(obs),
                ref_softmax(ref_affine(as_vector(obs), w, Mat{1, 2, {0, 0}})));
}

TEST(OnnxModel, ConstantNodesProvideWeights) {
  std::mt19937 rng(7);
  const Mat w = random_mat(4, 2, rng);
  const Mat bias = random_mat(1, 2, rng);
  ModelBuilder b;
  b.input("x", {1, 4}).output("y");
  auto& cw = b.node("Constant", {}, "w");
  auto* value = cw.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto_AttributeType_TENSOR);
  ModelBuilder::fill(*value->mutable_t(), w, false, true);
  auto& cb = b.node("Constant", {}, "bias");
  auto* floats = cb.add_attribute();
  floats->set_name("value_floats");
  floats->set_type(onnx::AttributeProto_AttributeType_FLOATS);
  for (float x : bias.v) floats->add_floats(x);
  b.node("Gemm", {"x", "w", "bias"}, "y");
  const auto model = load_ok(b);
  ASSERT_NE(model, nullptr);
  for (const auto& obs : random_observations(20, 16)) {
    expect_logits(model->evaluate(obs), ref_affine(as_vector(obs), w, bias));
  }
}

TEST(OnnxModel, InitializersListedAsInputsAreConstants) {
  std::mt19937 rng(8);
  const Mat w = random_mat(4, 2, rng);
  ModelBuilder b;
  b.input("x", {1, 4}).input("w", {4, 2}).output("y").init("w", w);
  b.node("MatMul", {"x", "w"}, "y");
  const auto model = load_ok(b);
  ASSERT_NE(model, nullptr);
  const Obs obs{1, 2, 3, 4};
  expect_logits(model->evaluate(obs), ref_affine(as_vector(obs), w, Mat{1, 2, {0, 0}}));
}

TEST(MlpInterpreter, DecideFlushesWhenFlushLogitIsHigher) {
  // logits = [obs[0], obs[1]]
  ModelBuilder b;
  b.input("x", {1, 4}).output("y").init("w", Mat{4, 2, {1, 0, 0, 1, 0, 0, 0, 0}});
  b.node("MatMul", {"x", "w"}, "y");
  const auto model = load_ok(b);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->decide(Obs{0.2F, 0.8F, 0, 0}), ModelAction::flush);
  EXPECT_EQ(model->decide(Obs{0.8F, 0.2F, 0, 0}), ModelAction::wait);
  EXPECT_EQ(model->decide(Obs{0.5F, 0.5F, 0, 0}), ModelAction::wait);  // a tie waits
  CompiledModel::Scratch scratch;
  EXPECT_EQ(model->decide(Obs{0.2F, 0.8F, 0, 0}, scratch), ModelAction::flush);
}

TEST(MlpInterpreter, CallerScratchMatchesThreadLocalAndIsReusedAcrossModels) {
  const Mlp big(9);
  const auto a = load_ok(big.gemm_model("Relu"));
  ModelBuilder small;
  small.input("x", {1, 4}).output("y").init("w", Mat{4, 2, {1, 0, 0, 1, 0, 0, 0, 0}});
  small.node("MatMul", {"x", "w"}, "y");
  const auto b = load_ok(small);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  CompiledModel::Scratch scratch;
  for (const auto& obs : random_observations(20, 17)) {
    EXPECT_EQ(a->evaluate(obs, scratch), a->evaluate(obs));
    EXPECT_EQ(b->evaluate(obs, scratch), b->evaluate(obs));
  }
}

TEST(MlpInterpreter, ThreadsShareOneModel) {
  const Mlp mlp(10);
  const auto model = load_ok(mlp.gemm_model("Tanh"));
  ASSERT_NE(model, nullptr);
  const auto inputs = random_observations(256, 18);
  std::vector<std::array<float, 2>> expected;
  for (const auto& obs : inputs) expected.push_back(model->evaluate(obs));
  constexpr int k_threads = 4;
  std::vector<int> mismatches(k_threads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t i = 0; i < inputs.size(); ++i) {
          const std::size_t k = (i + static_cast<std::size_t>(t) * 37) % inputs.size();
          if (model->evaluate(inputs[k]) != expected[k]) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(OnnxModel, LoadsFromFileAndNamesAMissingOne) {
  const Mlp mlp(11);
  const auto path = std::filesystem::temp_directory_path() /
                    ("levee_onnx_model_test_" + std::to_string(::getpid()) + ".onnx");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string bytes = mlp.gemm_model("Relu").bytes();
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }
  auto loaded = load_model(path);
  ASSERT_TRUE(loaded) << loaded.error();
  const Obs obs{0.1F, 0.9F, 0.4F, 0.3F};
  expect_logits(loaded.value()->evaluate(obs), mlp.reference(obs, ref_relu));
  std::filesystem::remove(path);
  auto missing = load_model(path);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find(path.string()), std::string::npos) << missing.error();
}

// --- refusals --------------------------------------------------------------------------------

ModelBuilder tiny_model() {
  ModelBuilder b;
  b.input("x", {1, 4}).output("y").init("w", Mat{4, 2, std::vector<float>(8, 0.5F)});
  return b;
}

void expect_mentions(const std::string& error, std::initializer_list<const char*> words) {
  for (const char* w : words) {
    EXPECT_NE(error.find(w), std::string::npos) << "'" << w << "' not in: " << error;
  }
}

TEST(OnnxModelRefuses, UnsupportedOperatorNamed) {
  ModelBuilder b = tiny_model();
  b.node("Conv", {"x", "w"}, "c");
  b.node("MatMul", {"c", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"Conv", "Conv_1", "not supported"});
}

TEST(OnnxModelRefuses, OperatorOfAnotherDomain) {
  ModelBuilder b = tiny_model();
  b.node("MatMul", {"x", "w"}, "y").set_domain("com.microsoft");
  expect_mentions(load_error(b.bytes()), {"com.microsoft"});
}

TEST(OnnxModelRefuses, WrongInputShape) {
  // Any width up to k_max_input_width loads (whether it is levee's observation is the
  // policy's check, observation_test.cpp); a wider one is refused.
  ModelBuilder b;
  b.input("x", {1, 5}).output("y").init("w", Mat{5, 2, std::vector<float>(10, 0.5F)});
  b.node("MatMul", {"x", "w"}, "y");
  auto five = load_model_from_bytes(b.bytes());
  ASSERT_TRUE(five.ok()) << five.error();
  EXPECT_EQ(five.value()->input_width(), 5U);

  constexpr std::int64_t too_wide = k_max_input_width + 1;
  ModelBuilder wide;
  wide.input("x", {1, too_wide})
      .output("y")
      .init("w", Mat{static_cast<std::size_t>(too_wide), 2,
                     std::vector<float>(static_cast<std::size_t>(too_wide) * 2, 0.5F)});
  wide.node("MatMul", {"x", "w"}, "y");
  const std::string declared = "[1," + std::to_string(too_wide) + "]";
  expect_mentions(load_error(wide.bytes()), {"'x'", declared.c_str()});

  ModelBuilder rank3;
  rank3.input("x", {1, 1, 4}).output("y");
  rank3.node("Identity", {"x"}, "y");
  expect_mentions(load_error(rank3.bytes()), {"'x'", "[1,1,4]"});

  ModelBuilder batch2;
  batch2.input("x", {2, 4}).output("y");
  batch2.node("Identity", {"x"}, "y");
  expect_mentions(load_error(batch2.bytes()), {"[2,4]"});
}

TEST(OnnxModelRefuses, DoubleInputOrInitializer) {
  ModelBuilder b;
  b.input("x", {1, 4}, onnx::TensorProto_DataType_DOUBLE).output("y");
  b.init("w", Mat{4, 2, std::vector<float>(8, 0.5F)});
  b.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"'x'", "DOUBLE"});

  ModelBuilder d = tiny_model();
  auto* t = d.graph().add_initializer();
  t->set_name("wd");
  t->set_data_type(onnx::TensorProto_DataType_DOUBLE);
  t->add_dims(2);
  t->add_double_data(1.0);
  t->add_double_data(2.0);
  d.node("MatMul", {"x", "w"}, "m");
  d.node("Add", {"m", "wd"}, "y");
  expect_mentions(load_error(d.bytes()), {"'wd'", "DOUBLE"});
}

TEST(OnnxModelRefuses, MissingInitializer) {
  ModelBuilder b = tiny_model();
  b.node("MatMul", {"x", "w"}, "m");
  b.node("Add", {"m", "bias"}, "y");
  expect_mentions(load_error(b.bytes()), {"'bias'", "Add"});
}

TEST(OnnxModelRefuses, InitializerWithoutItsData) {
  ModelBuilder b;
  b.input("x", {1, 4}).output("y");
  auto* t = b.graph().add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto_DataType_FLOAT);
  t->add_dims(4);
  t->add_dims(2);
  t->add_float_data(1.0F);
  b.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"'w'", "float_data"});
}

TEST(OnnxModelRefuses, Cycle) {
  ModelBuilder b = tiny_model();
  b.node("Add", {"x", "z"}, "a");
  b.node("Relu", {"a"}, "z");
  b.node("MatMul", {"z", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"cycle"});
}

TEST(OnnxModelRefuses, MismatchedShapes) {
  ModelBuilder b;
  b.input("x", {1, 4}).output("y").init("w", Mat{3, 2, std::vector<float>(6, 0.5F)});
  b.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"MatMul", "[1,4]", "[3,2]"});
}

TEST(OnnxModelRefuses, WrongOutputShape) {
  ModelBuilder b;
  b.input("x", {1, 4}).output("y", {1, 3}).init("w", Mat{4, 3, std::vector<float>(12, 0.5F)});
  b.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"'y'", "[1,2]"});

  ModelBuilder undeclared;
  undeclared.input("x", {1, 4}).init("w", Mat{4, 3, std::vector<float>(12, 0.5F)});
  undeclared.graph().add_output()->set_name("y");
  undeclared.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(undeclared.bytes()), {"'y'", "[1,3]"});
}

TEST(OnnxModelRefuses, SoftmaxOverTheBatchAxis) {
  ModelBuilder b = tiny_model();
  b.node("MatMul", {"x", "w"}, "m");
  ModelBuilder::attr_int(b.node("Softmax", {"m"}, "y"), "axis", 0);
  expect_mentions(load_error(b.bytes()), {"Softmax", "axis 0"});
}

TEST(OnnxModelRefuses, UnknownAttribute) {
  ModelBuilder b = tiny_model();
  ModelBuilder::attr_int(b.node("Gemm", {"x", "w"}, "y"), "broadcast", 1);
  expect_mentions(load_error(b.bytes()), {"Gemm", "'broadcast'"});
}

TEST(OnnxModelRefuses, TwoInputs) {
  ModelBuilder b = tiny_model();
  b.input("x2", {1, 4});
  b.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"'x2'"});
}

TEST(OnnxModelRefuses, NonFiniteWeights) {
  ModelBuilder b;
  b.input("x", {1, 4}).output("y").init("w", Mat{4, 2, {1, 0, 0, 1, NAN, 0, 0, 0}});
  b.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(b.bytes()), {"'w'", "finite"});
}

TEST(OnnxModelRefuses, GarbageBytes) {
  load_error("this is not an onnx file at all");
  load_error("");
  std::mt19937 rng(99);
  std::string noise(4096, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  load_error(noise);
}

TEST(OnnxModelRefuses, TruncatedFile) {
  const std::string bytes = Mlp(12).gemm_model("Relu").bytes();
  for (std::size_t cut : {std::size_t{1}, bytes.size() / 4, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    load_error(bytes.substr(0, cut));
  }
}

TEST(OnnxModelRefuses, OversizeModels) {
  // More parameters than the limit (1.2 M floats, about 5 MB on disk).
  ModelBuilder params;
  params.input("x", {1, 4}).output("y");
  params.init("w", Mat{4, 300'000, std::vector<float>(1'200'000, 0.0F)}, false, true);
  params.node("MatMul", {"x", "w"}, "y");
  expect_mentions(load_error(params.bytes()), {"'w'", "parameters"});

  // Dimensions that claim terabytes, with no data behind them: refused before any allocation.
  ModelBuilder dims;
  dims.input("x", {1, 4}).output("y");
  auto* t = dims.graph().add_initializer();
  t->set_name("huge");
  t->set_data_type(onnx::TensorProto_DataType_FLOAT);
  t->add_dims(1'000'000);
  t->add_dims(1'000'000);
  dims.node("MatMul", {"x", "huge"}, "y");
  expect_mentions(load_error(dims.bytes()), {"'huge'"});

  // Too many nodes.
  ModelBuilder nodes = tiny_model();
  std::string x = "x";
  for (std::size_t i = 0; i < k_max_model_nodes; ++i) {
    nodes.node("Identity", {x}, "i" + std::to_string(i));
    x = "i" + std::to_string(i);
  }
  nodes.node("MatMul", {x, "w"}, "y");
  expect_mentions(load_error(nodes.bytes()), {"nodes"});

  // More bytes than the file limit: refused unparsed.
  expect_mentions(load_error(std::string(k_max_model_bytes + 1, '\x08')), {"bytes"});
}

}  // namespace
}  // namespace levee::policy
