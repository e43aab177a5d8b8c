#pragma once
// Builds ONNX ModelProtos the way exporters write them, for tests of the learned flush
// policy's loader, its policy and its hot reload.

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/observation.hpp"
#include "policy/onnx_model.hpp"

namespace levee::test {

// A row-major matrix for the reference computation.
struct Mat {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> v;
  [[nodiscard]] float at(std::size_t r, std::size_t c) const { return v[r * cols + c]; }
};

// Builds ModelProtos the way exporters write them.
class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 17) {
    model_.set_ir_version(8);
    model_.set_producer_name("levee-test");
    model_.add_opset_import()->set_version(opset);
  }

  onnx::GraphProto& graph() { return *model_.mutable_graph(); }
  onnx::ModelProto& model() { return model_; }

  // dims: a negative value declares a symbolic dimension.
  ModelBuilder& input(const std::string& name, std::vector<std::int64_t> dims,
                      int type = onnx::TensorProto_DataType_FLOAT) {
    declare(graph().add_input(), name, dims, type);
    return *this;
  }
  ModelBuilder& output(const std::string& name, std::vector<std::int64_t> dims = {1, 2},
                       int type = onnx::TensorProto_DataType_FLOAT) {
    declare(graph().add_output(), name, dims, type);
    return *this;
  }
  ModelBuilder& init(const std::string& name, const Mat& m, bool as_vector = false,
                     bool raw = false) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    fill(*t, m, as_vector, raw);
    return *this;
  }
  onnx::NodeProto& node(const std::string& op, std::vector<std::string> inputs,
                        const std::string& output) {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(graph().node_size()));
    for (auto& in : inputs) n->add_input(in);
    n->add_output(output);
    return *n;
  }
  static void fill(onnx::TensorProto& t, const Mat& m, bool as_vector, bool raw) {
    t.set_data_type(onnx::TensorProto_DataType_FLOAT);
    if (!as_vector) t.add_dims(static_cast<std::int64_t>(m.rows));
    t.add_dims(static_cast<std::int64_t>(as_vector ? m.v.size() : m.cols));
    if (raw) {
      t.set_raw_data(
          std::string(reinterpret_cast<const char*>(m.v.data()), m.v.size() * sizeof(float)));
    } else {
      for (float x : m.v) t.add_float_data(x);
    }
  }
  static void attr_int(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(v);
  }
  static void attr_float(onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
    a->set_f(v);
  }
  ModelBuilder& metadata(std::string_view key, const std::string& value) {
    auto* entry = model_.add_metadata_props();
    entry->set_key(std::string(key));
    entry->set_value(value);
    return *this;
  }
  [[nodiscard]] std::string bytes() const { return model_.SerializeAsString(); }

 private:
  static void declare(onnx::ValueInfoProto* info, const std::string& name,
                      const std::vector<std::int64_t>& dims, int type) {
    info->set_name(name);
    auto* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    for (auto d : dims) {
      auto* dim = tensor->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("batch");
      } else {
        dim->set_dim_value(d);
      }
    }
  }
  onnx::ModelProto model_;
};

// A model whose FLUSH logit is obs[0] (the size feature) and whose WAIT logit is `threshold`:
// it flushes a group once size / size_cap passes the threshold. By default it takes this
// levee's observation (its width, and its version in the metadata); `width` and `version`
// (0: none declared) make one that does not.
inline ModelBuilder size_threshold_model(float threshold,
                                         std::size_t width = policy::k_observation_size,
                                         std::uint32_t version = policy::k_observation_version) {
  ModelBuilder b;
  b.input("obs", {1, static_cast<std::int64_t>(width)}).output("logits");
  std::vector<float> weights(width * 2, 0.0F);
  weights[1] = 1.0F;  // row 0 (the size feature) into column 1 (FLUSH)
  b.init("w", Mat{width, 2, std::move(weights)});
  b.init("b", Mat{1, 2, {threshold, 0}}, /*as_vector=*/true);
  b.node("MatMul", {"obs", "w"}, "h");
  b.node("Add", {"h", "b"}, "logits");
  if (version != 0) b.metadata(policy::k_observation_version_key, std::to_string(version));
  return b;
}

// Writes `bytes` to `path` through a temporary file renamed over it, the way a model is
// published atomically.
inline void publish(const std::filesystem::path& path, const std::string& bytes) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace levee::test
