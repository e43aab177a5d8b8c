// The ONNX interpreter against torch: every model under tests/data/policy/ (written by
// rl/levee_rl/make_fixtures.py, `make train`) evaluated on its reference inputs must give the
// logits torch computed, to 1e-5. The shipped model, models/flush_policy.onnx, is one of them.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "policy/mlp_interpreter.hpp"
#include "policy/onnx_model.hpp"

namespace levee::policy {
namespace {

const std::filesystem::path k_source_dir{LEVEE_SOURCE_DIR};

void expect_matches_reference(const std::string& reference_name) {
  const std::filesystem::path reference = k_source_dir / "tests/data/policy" / reference_name;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.load(reference.string()).get(root), simdjson::SUCCESS) << reference;
  std::string_view model_path;
  ASSERT_EQ(root["model"].get_string().get(model_path), simdjson::SUCCESS);
  auto loaded = load_model(k_source_dir / std::string(model_path));
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  const auto& model = *loaded.value();

  simdjson::dom::array inputs;
  simdjson::dom::array logits;
  ASSERT_EQ(root["inputs"].get_array().get(inputs), simdjson::SUCCESS);
  ASSERT_EQ(root["logits"].get_array().get(logits), simdjson::SUCCESS);
  ASSERT_EQ(inputs.size(), logits.size());
  ASSERT_GE(inputs.size(), 256U);

  for (std::size_t row = 0; row < inputs.size(); ++row) {
    std::vector<float> obs(model.input_width());
    ASSERT_EQ(inputs.at(row).get_array().size(), obs.size()) << reference_name << " row " << row;
    for (std::size_t k = 0; k < obs.size(); ++k) {
      double value = 0.0;
      ASSERT_EQ(inputs.at(row).at(k).get_double().get(value), simdjson::SUCCESS);
      obs[k] = static_cast<float>(value);
    }
    const auto got = model.evaluate(obs);
    for (std::size_t k = 0; k < k_logit_count; ++k) {
      double expected = 0.0;
      ASSERT_EQ(logits.at(row).at(k).get_double().get(expected), simdjson::SUCCESS);
      EXPECT_NEAR(got[k], expected, 1e-5) << reference_name << " row " << row << " logit " << k;
    }
  }
}

TEST(ModelReferenceTest, ShippedFlushPolicyMatchesTorch) {
  expect_matches_reference("flush_policy_reference.json");
}

TEST(ModelReferenceTest, ReluSoftmaxNetMatchesTorch) {
  expect_matches_reference("random_mlp_a_reference.json");
}

TEST(ModelReferenceTest, SigmoidTanhNetMatchesTorch) {
  expect_matches_reference("random_mlp_b_reference.json");
}

}  // namespace
}  // namespace levee::policy
