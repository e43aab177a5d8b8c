#include "policy/onnx_model.hpp"

#include <onnx/onnx_pb.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace levee::policy {
namespace {

// A tensor known at compile time: where its floats are and its shape (rank 0 to 2).
struct Value {
  TensorRef ref;
  std::size_t rank = 0;
  std::array<std::size_t, 2> dims{1, 1};  // the first `rank` are meaningful

  // Right-aligned into two dimensions, as numpy broadcasting sees it.
  [[nodiscard]] std::size_t rows() const { return rank == 2 ? dims[0] : 1; }
  [[nodiscard]] std::size_t cols() const { return rank == 0 ? 1 : dims[rank - 1]; }
  [[nodiscard]] std::size_t count() const { return rows() * cols(); }
};

std::string shape_text(const Value& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.rank; ++i) {
    if (i > 0) out += ",";
    out += std::to_string(v.dims[i]);
  }
  return out + "]";
}

std::string dtype_name(int type) {
  if (onnx::TensorProto_DataType_IsValid(type)) {
    const std::string& name =
        onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(type));
    if (!name.empty()) return name;
  }
  return "type #" + std::to_string(type);
}

std::string describe(const onnx::NodeProto& node, int index) {
  const std::string who =
      node.name().empty() ? "#" + std::to_string(index) : "'" + node.name() + "'";
  return "node " + who + " (" + node.op_type() + ")";
}

// Broadcast strides of `v` read as a [rows, cols] matrix.
std::uint32_t row_stride(const Value& v) {
  return v.rows() == 1 ? 0 : static_cast<std::uint32_t>(v.cols());
}
std::uint32_t col_stride(const Value& v) { return v.cols() == 1 ? 0 : 1; }

class ModelCompiler {
 public:
  std::optional<std::string> compile(const onnx::ModelProto& model);
  Plan take_plan() { return std::move(plan_); }

 private:
  using Error = std::optional<std::string>;

  Error read_opset(const onnx::ModelProto& model);
  Error read_observation_version(const onnx::ModelProto& model);
  Error add_tensor(const onnx::TensorProto& tensor, const std::string& name,
                   const std::string& what);
  Error add_input(const onnx::GraphProto& graph);
  Error check_nodes(const onnx::GraphProto& graph);
  Error compile_nodes(const onnx::GraphProto& graph);
  Error compile_node(const onnx::NodeProto& node, int index);
  Error check_output(const onnx::GraphProto& graph);

  Error compile_gemm(const onnx::NodeProto& node, const std::string& who, bool is_matmul);
  Error compile_add(const onnx::NodeProto& node, const std::string& who);
  Error compile_unary(const onnx::NodeProto& node, const std::string& who, PlanStep::Kind kind);
  Error emit_unary(const onnx::NodeProto& node, const std::string& who, PlanStep::Kind kind);
  Error compile_softmax(const onnx::NodeProto& node, const std::string& who);
  Error compile_flatten(const onnx::NodeProto& node, const std::string& who);
  Error compile_constant(const onnx::NodeProto& node, const std::string& who);

  Error new_scratch(const std::string& who, std::size_t rank, std::array<std::size_t, 2> dims,
                    Value& out);
  Error check_attributes(const onnx::NodeProto& node, const std::string& who,
                         std::initializer_list<std::pair<std::string_view, int>> known);
  const Value* input(const onnx::NodeProto& node, int i) const;

  Plan plan_;
  std::unordered_map<std::string, Value> values_;
  std::int64_t opset_ = 0;
  std::size_t multiply_adds_ = 0;
};

std::optional<std::string> ModelCompiler::compile(const onnx::ModelProto& model) {
  if (!model.has_graph()) return "the model has no graph";
  if (auto e = read_opset(model)) return e;
  if (auto e = read_observation_version(model)) return e;
  const onnx::GraphProto& graph = model.graph();
  if (graph.sparse_initializer_size() > 0) {
    return "sparse initializers are not supported ('" +
           graph.sparse_initializer(0).values().name() + "')";
  }
  if (static_cast<std::size_t>(graph.node_size()) > k_max_model_nodes) {
    return "the graph has " + std::to_string(graph.node_size()) + " nodes, more than the limit " +
           std::to_string(k_max_model_nodes);
  }
  if (static_cast<std::size_t>(graph.initializer_size()) > 4 * k_max_model_nodes) {
    return "the graph has " + std::to_string(graph.initializer_size()) +
           " initializers, more than the limit " + std::to_string(4 * k_max_model_nodes);
  }
  for (const auto& tensor : graph.initializer()) {
    if (auto e = add_tensor(tensor, tensor.name(), "initializer '" + tensor.name() + "'")) {
      return e;
    }
  }
  if (auto e = add_input(graph)) return e;
  if (auto e = check_nodes(graph)) return e;
  if (auto e = compile_nodes(graph)) return e;
  return check_output(graph);
}

ModelCompiler::Error ModelCompiler::read_observation_version(const onnx::ModelProto& model) {
  for (const auto& entry : model.metadata_props()) {
    if (entry.key() != k_observation_version_key) continue;
    const std::string& text = entry.value();
    std::uint32_t version = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (ec != std::errc() || end != text.data() + text.size() || version == 0) {
      return "metadata '" + std::string(k_observation_version_key) + "' is '" + text +
             "'; a positive integer is required";
    }
    plan_.observation_version = version;
  }
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::read_opset(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") opset_ = import.version();
  }
  if (opset_ <= 0) return "the model imports no opset of the default ONNX domain";
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::add_tensor(const onnx::TensorProto& tensor,
                                               const std::string& name, const std::string& what) {
  if (name.empty()) return what + " has no name";
  if (values_.contains(name)) return what + " is defined twice";
  if (tensor.data_type() != onnx::TensorProto_DataType_FLOAT) {
    return what + " is " + dtype_name(tensor.data_type()) + "; only FLOAT (float32) is supported";
  }
  if (tensor.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
    return what + " keeps its data in an external file, which is not supported";
  }
  if (tensor.has_segment()) return what + " is segmented, which is not supported";
  if (tensor.dims_size() > 2) {
    return what + " has rank " + std::to_string(tensor.dims_size()) + "; at most 2 is supported";
  }
  Value value;
  value.rank = static_cast<std::size_t>(tensor.dims_size());
  std::size_t count = 1;
  for (int i = 0; i < tensor.dims_size(); ++i) {
    const std::int64_t d = tensor.dims(i);
    if (d <= 0 || static_cast<std::uint64_t>(d) > k_max_model_parameters) {
      return what + " has dimension " + std::to_string(d) + ", out of range";
    }
    value.dims[static_cast<std::size_t>(i)] = static_cast<std::size_t>(d);
    count *= static_cast<std::size_t>(d);
  }
  if (plan_.parameter_count + count > k_max_model_parameters) {
    return what + " takes the model past " + std::to_string(k_max_model_parameters) + " parameters";
  }
  const std::size_t offset = plan_.constants.size();
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != count * sizeof(float)) {
      return what + " has " + std::to_string(tensor.raw_data().size()) + " bytes of raw_data for " +
             std::to_string(count) + " floats";
    }
    plan_.constants.resize(offset + count);
    // raw_data is little-endian, as is every target levee builds for.
    std::memcpy(plan_.constants.data() + offset, tensor.raw_data().data(), count * sizeof(float));
  } else {
    if (static_cast<std::size_t>(tensor.float_data_size()) != count) {
      return what + " has " + std::to_string(tensor.float_data_size()) + " float_data values for " +
             std::to_string(count) + " elements (missing data?)";
    }
    plan_.constants.insert(plan_.constants.end(), tensor.float_data().begin(),
                           tensor.float_data().end());
  }
  for (std::size_t i = offset; i < plan_.constants.size(); ++i) {
    if (!std::isfinite(plan_.constants[i])) return what + " holds a value that is not finite";
  }
  plan_.parameter_count += count;
  value.ref = TensorRef{static_cast<std::uint32_t>(offset), true};
  values_.emplace(name, value);
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::add_input(const onnx::GraphProto& graph) {
  // Before IR version 4 initializers were listed among the inputs too; those are constants.
  const onnx::ValueInfoProto* observation = nullptr;
  for (const auto& in : graph.input()) {
    if (values_.contains(in.name())) continue;
    if (observation != nullptr) {
      return "the graph has more than one input ('" + observation->name() + "', '" + in.name() +
             "'); exactly one, the observation, is supported";
    }
    observation = &in;
  }
  if (observation == nullptr) return "the graph has no input (the observation [1,W])";
  const std::string what = "graph input '" + observation->name() + "'";
  if (observation->name().empty()) return "the graph input has no name";
  if (!observation->type().has_tensor_type()) return what + " is not a tensor";
  const auto& type = observation->type().tensor_type();
  if (type.elem_type() != onnx::TensorProto_DataType_FLOAT) {
    return what + " is " + dtype_name(type.elem_type()) + "; only FLOAT (float32) is supported";
  }
  if (!type.has_shape()) return what + " declares no shape; [1,W] is required";
  const auto& shape = type.shape();
  const bool batch_ok =
      shape.dim_size() == 2 && (!shape.dim(0).has_dim_value() || shape.dim(0).dim_value() == 1);
  const bool width_ok = shape.dim_size() == 2 && shape.dim(1).has_dim_value() &&
                        shape.dim(1).dim_value() >= 1 &&
                        shape.dim(1).dim_value() <= static_cast<std::int64_t>(k_max_input_width);
  if (!batch_ok || !width_ok) {
    std::string declared = "[";
    for (int i = 0; i < shape.dim_size(); ++i) {
      if (i > 0) declared += ",";
      declared +=
          shape.dim(i).has_dim_value()
              ? std::to_string(shape.dim(i).dim_value())
              : (shape.dim(i).dim_param().empty() ? std::string("?") : shape.dim(i).dim_param());
    }
    return what + " has shape " + declared +
           "]; [1,W] (or [N,W]) with 1 <= W <= " + std::to_string(k_max_input_width) +
           " is required";
  }
  const auto width = static_cast<std::size_t>(shape.dim(1).dim_value());
  Value value;
  if (auto e = new_scratch(what, 2, {1, width}, value)) return e;
  plan_.input_offset = value.ref.offset;
  plan_.input_width = static_cast<std::uint32_t>(width);
  values_.emplace(observation->name(), value);
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::check_nodes(const onnx::GraphProto& graph) {
  static const std::unordered_set<std::string_view> supported{
      "Gemm",    "MatMul",  "Add",     "Relu",     "Tanh",
      "Sigmoid", "Softmax", "Flatten", "Identity", "Constant"};
  std::unordered_set<std::string> produced;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    const std::string who = describe(node, i);
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      return who + " is in domain '" + node.domain() +
             "'; only the default ONNX domain is supported";
    }
    if (!supported.contains(node.op_type())) {
      return who + ": operator '" + node.op_type() +
             "' is not supported (supported: Gemm, MatMul, Add, Relu, Tanh, Sigmoid, Softmax, "
             "Flatten, Identity, Constant)";
    }
    if (node.output_size() != 1 || node.output(0).empty()) {
      return who + " has " + std::to_string(node.output_size()) +
             " outputs; exactly one named output is supported";
    }
    const std::string& out = node.output(0);
    if (values_.contains(out) || !produced.insert(out).second) {
      return who + " writes '" + out + "', which is already defined";
    }
  }
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::compile_nodes(const onnx::GraphProto& graph) {
  // Exporters emit nodes in topological order, but the format only asks for a DAG: take any
  // node whose inputs are all known, until none is left or none can go.
  std::vector<int> pending(static_cast<std::size_t>(graph.node_size()));
  for (int i = 0; i < graph.node_size(); ++i) pending[static_cast<std::size_t>(i)] = i;
  while (!pending.empty()) {
    std::vector<int> rest;
    for (const int i : pending) {
      const auto& node = graph.node(i);
      bool ready = true;
      for (const auto& in : node.input()) {
        if (!in.empty() && !values_.contains(in)) ready = false;
      }
      if (!ready) {
        rest.push_back(i);
        continue;
      }
      if (auto e = compile_node(node, i)) return e;
    }
    if (rest.size() == pending.size()) {
      // Stuck: an input nobody produces is a missing tensor; if every unread input comes from
      // another stuck node, the stuck nodes feed each other.
      std::unordered_set<std::string> blocked_outputs;
      for (const int i : rest) blocked_outputs.insert(graph.node(i).output(0));
      for (const int i : rest) {
        for (const auto& in : graph.node(i).input()) {
          if (in.empty() || values_.contains(in) || blocked_outputs.contains(in)) continue;
          return describe(graph.node(i), i) + " reads '" + in +
                 "', which no initializer, graph input or node provides (missing initializer?)";
        }
      }
      return describe(graph.node(rest.front()), rest.front()) +
             " cannot be ordered: the graph has a cycle";
    }
    pending = std::move(rest);
  }
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::compile_node(const onnx::NodeProto& node, int index) {
  const std::string who = describe(node, index);
  const std::string& op = node.op_type();
  if (op == "Gemm") return compile_gemm(node, who, false);
  if (op == "MatMul") return compile_gemm(node, who, true);
  if (op == "Add") return compile_add(node, who);
  if (op == "Relu") return compile_unary(node, who, PlanStep::Kind::relu);
  if (op == "Tanh") return compile_unary(node, who, PlanStep::Kind::tanh);
  if (op == "Sigmoid") return compile_unary(node, who, PlanStep::Kind::sigmoid);
  if (op == "Softmax") return compile_softmax(node, who);
  if (op == "Flatten") return compile_flatten(node, who);
  if (op == "Constant") return compile_constant(node, who);
  // Identity: the same floats under another name.
  if (auto e = check_attributes(node, who, {})) return e;
  if (node.input_size() != 1 || input(node, 0) == nullptr) return who + " needs one input";
  values_.emplace(node.output(0), *input(node, 0));
  return std::nullopt;
}

const Value* ModelCompiler::input(const onnx::NodeProto& node, int i) const {
  if (i >= node.input_size() || node.input(i).empty()) return nullptr;
  const auto it = values_.find(node.input(i));
  return it == values_.end() ? nullptr : &it->second;
}

ModelCompiler::Error ModelCompiler::check_attributes(
    const onnx::NodeProto& node, const std::string& who,
    std::initializer_list<std::pair<std::string_view, int>> known) {
  for (const auto& attr : node.attribute()) {
    bool found = false;
    for (const auto& [name, type] : known) {
      if (attr.name() != name) continue;
      found = true;
      if (attr.type() != type) {
        return who + ": attribute '" + attr.name() + "' has the wrong type";
      }
    }
    if (!found) return who + ": attribute '" + attr.name() + "' is not supported";
  }
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::new_scratch(const std::string& who, std::size_t rank,
                                                std::array<std::size_t, 2> dims, Value& out) {
  out.rank = rank;
  out.dims = dims;
  const std::size_t count = out.count();
  if (plan_.scratch_floats + count > k_max_model_scratch_floats) {
    return who + ": intermediate values exceed " + std::to_string(k_max_model_scratch_floats) +
           " floats";
  }
  out.ref = TensorRef{static_cast<std::uint32_t>(plan_.scratch_floats), false};
  plan_.scratch_floats += count;
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::compile_gemm(const onnx::NodeProto& node,
                                                 const std::string& who, bool is_matmul) {
  float alpha = 1.0F;
  float beta = 1.0F;
  bool trans_a = false;
  bool trans_b = false;
  if (is_matmul) {
    if (auto e = check_attributes(node, who, {})) return e;
    if (node.input_size() != 2) return who + " needs two inputs";
  } else {
    if (auto e = check_attributes(node, who,
                                  {{"alpha", onnx::AttributeProto_AttributeType_FLOAT},
                                   {"beta", onnx::AttributeProto_AttributeType_FLOAT},
                                   {"transA", onnx::AttributeProto_AttributeType_INT},
                                   {"transB", onnx::AttributeProto_AttributeType_INT}})) {
      return e;
    }
    for (const auto& attr : node.attribute()) {
      if (attr.name() == "alpha") alpha = attr.f();
      if (attr.name() == "beta") beta = attr.f();
      if (attr.name() == "transA") trans_a = attr.i() != 0;
      if (attr.name() == "transB") trans_b = attr.i() != 0;
    }
    if (!std::isfinite(alpha) || !std::isfinite(beta)) return who + ": alpha/beta not finite";
    if (node.input_size() < 2 || node.input_size() > 3) return who + " needs two or three inputs";
  }
  const Value* a = input(node, 0);
  const Value* b = input(node, 1);
  const Value* c = input(node, 2);
  if (a == nullptr || b == nullptr) return who + " is missing input A or B";
  if (a->rank != 2 || b->rank != 2) {
    return who + ": A " + shape_text(*a) + " and B " + shape_text(*b) +
           " must both be 2-D matrices";
  }
  const std::size_t m = trans_a ? a->dims[1] : a->dims[0];
  const std::size_t k = trans_a ? a->dims[0] : a->dims[1];
  const std::size_t kb = trans_b ? b->dims[1] : b->dims[0];
  const std::size_t n = trans_b ? b->dims[0] : b->dims[1];
  if (k != kb) {
    return who + ": A " + shape_text(*a) + " and B " + shape_text(*b) +
           " do not multiply (inner dimensions " + std::to_string(k) + " and " +
           std::to_string(kb) + ")";
  }
  multiply_adds_ += m * k * n;
  if (multiply_adds_ > k_max_model_multiply_adds) {
    return who + " takes the model past " + std::to_string(k_max_model_multiply_adds) +
           " multiply-adds per evaluation";
  }
  PlanStep step;
  step.kind = PlanStep::Kind::matmul;
  step.rows = static_cast<std::uint32_t>(m);
  step.cols = static_cast<std::uint32_t>(n);
  step.inner = static_cast<std::uint32_t>(k);
  step.alpha = alpha;
  step.beta = beta;
  step.a = a->ref;
  step.a_row_stride = trans_a ? 1 : static_cast<std::uint32_t>(k);
  step.a_col_stride = trans_a ? static_cast<std::uint32_t>(m) : 1;
  if (trans_b && b->ref.constant) {
    // A weight stored [N,K] (torch's Linear) is copied once to [K,N], so that the inner loop
    // reads it contiguously.
    const std::size_t offset = plan_.constants.size();
    plan_.constants.resize(offset + k * n);
    const float* src = plan_.constants.data() + b->ref.offset;
    float* dst = plan_.constants.data() + offset;
    for (std::size_t row = 0; row < n; ++row) {
      for (std::size_t col = 0; col < k; ++col) dst[col * n + row] = src[row * k + col];
    }
    step.b = TensorRef{static_cast<std::uint32_t>(offset), true};
    step.b_row_stride = static_cast<std::uint32_t>(n);
    step.b_col_stride = 1;
  } else {
    step.b = b->ref;
    step.b_row_stride = trans_b ? 1 : static_cast<std::uint32_t>(n);
    step.b_col_stride = trans_b ? static_cast<std::uint32_t>(k) : 1;
  }
  if (c != nullptr) {
    if (c->rank > 2 || (c->rows() != 1 && c->rows() != m) || (c->cols() != 1 && c->cols() != n)) {
      return who + ": C " + shape_text(*c) + " does not broadcast to [" + std::to_string(m) + "," +
             std::to_string(n) + "]";
    }
    step.has_c = true;
    step.c = c->ref;
    step.c_row_stride = row_stride(*c);
    step.c_col_stride = col_stride(*c);
  }
  Value out;
  if (auto e = new_scratch(who, 2, {m, n}, out)) return e;
  step.out = out.ref;
  plan_.steps.push_back(step);
  values_.emplace(node.output(0), out);
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::compile_add(const onnx::NodeProto& node,
                                                const std::string& who) {
  if (auto e = check_attributes(node, who, {})) return e;
  const Value* a = input(node, 0);
  const Value* b = input(node, 1);
  if (node.input_size() != 2 || a == nullptr || b == nullptr) return who + " needs two inputs";
  const auto broadcast = [](std::size_t x, std::size_t y) -> std::size_t {
    if (x == y || y == 1) return x;
    return x == 1 ? y : 0;
  };
  const std::size_t rows = broadcast(a->rows(), b->rows());
  const std::size_t cols = broadcast(a->cols(), b->cols());
  if (rows == 0 || cols == 0) {
    return who + ": " + shape_text(*a) + " and " + shape_text(*b) + " do not broadcast";
  }
  const std::size_t rank = std::max(a->rank, b->rank);
  Value out;
  const std::array<std::size_t, 2> dims =
      rank == 2 ? std::array<std::size_t, 2>{rows, cols} : std::array<std::size_t, 2>{cols, 1};
  if (auto e = new_scratch(who, rank, dims, out)) return e;
  PlanStep step;
  step.kind = PlanStep::Kind::add;
  step.a = a->ref;
  step.b = b->ref;
  step.out = out.ref;
  step.rows = static_cast<std::uint32_t>(rows);
  step.cols = static_cast<std::uint32_t>(cols);
  step.a_row_stride = row_stride(*a);
  step.a_col_stride = col_stride(*a);
  step.b_row_stride = row_stride(*b);
  step.b_col_stride = col_stride(*b);
  plan_.steps.push_back(step);
  values_.emplace(node.output(0), out);
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::compile_unary(const onnx::NodeProto& node,
                                                  const std::string& who, PlanStep::Kind kind) {
  if (auto e = check_attributes(node, who, {})) return e;
  return emit_unary(node, who, kind);
}

ModelCompiler::Error ModelCompiler::emit_unary(const onnx::NodeProto& node, const std::string& who,
                                               PlanStep::Kind kind) {
  const Value* a = input(node, 0);
  if (node.input_size() != 1 || a == nullptr) return who + " needs one input";
  Value out;
  if (auto e = new_scratch(who, a->rank, a->dims, out)) return e;
  PlanStep step;
  step.kind = kind;
  step.a = a->ref;
  step.out = out.ref;
  step.rows = static_cast<std::uint32_t>(a->rows());
  step.cols = static_cast<std::uint32_t>(a->cols());
  plan_.steps.push_back(step);
  values_.emplace(node.output(0), out);
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::compile_softmax(const onnx::NodeProto& node,
                                                    const std::string& who) {
  if (auto e = check_attributes(node, who, {{"axis", onnx::AttributeProto_AttributeType_INT}})) {
    return e;
  }
  const Value* a = input(node, 0);
  if (node.input_size() != 1 || a == nullptr) return who + " needs one input";
  // Opset 13 changed the default axis from 1 to -1; on a matrix both mean the last axis.
  std::int64_t axis = opset_ < 13 ? 1 : -1;
  for (const auto& attr : node.attribute()) axis = attr.i();
  const auto rank = static_cast<std::int64_t>(a->rank);
  if (rank == 0 || (axis != -1 && axis != rank - 1)) {
    return who + ": axis " + std::to_string(axis) + " of " + shape_text(*a) +
           " is not supported (only the last axis)";
  }
  return emit_unary(node, who, PlanStep::Kind::softmax);
}

ModelCompiler::Error ModelCompiler::compile_flatten(const onnx::NodeProto& node,
                                                    const std::string& who) {
  if (auto e = check_attributes(node, who, {{"axis", onnx::AttributeProto_AttributeType_INT}})) {
    return e;
  }
  const Value* a = input(node, 0);
  if (node.input_size() != 1 || a == nullptr) return who + " needs one input";
  std::int64_t axis = 1;
  for (const auto& attr : node.attribute()) axis = attr.i();
  const auto rank = static_cast<std::int64_t>(a->rank);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) {
    return who + ": axis " + std::to_string(axis) + " is out of range for " + shape_text(*a);
  }
  std::array<std::size_t, 2> dims{1, 1};
  for (std::int64_t i = 0; i < rank; ++i)
    dims[i < axis ? 0 : 1] *= a->dims[static_cast<std::size_t>(i)];
  Value out = *a;  // same floats, row-major either way
  out.rank = 2;
  out.dims = dims;
  values_.emplace(node.output(0), out);
  return std::nullopt;
}

ModelCompiler::Error ModelCompiler::compile_constant(const onnx::NodeProto& node,
                                                     const std::string& who) {
  if (node.input_size() != 0) return who + " takes no inputs";
  if (node.attribute_size() != 1) return who + " needs exactly one value attribute";
  const auto& attr = node.attribute(0);
  const std::string what = who + " value '" + node.output(0) + "'";
  if (attr.name() == "value" && attr.type() == onnx::AttributeProto_AttributeType_TENSOR) {
    return add_tensor(attr.t(), node.output(0), what);
  }
  onnx::TensorProto tensor;
  tensor.set_data_type(onnx::TensorProto_DataType_FLOAT);
  if (attr.name() == "value_float" && attr.type() == onnx::AttributeProto_AttributeType_FLOAT) {
    tensor.add_float_data(attr.f());
  } else if (attr.name() == "value_floats" &&
             attr.type() == onnx::AttributeProto_AttributeType_FLOATS) {
    tensor.add_dims(attr.floats_size());
    *tensor.mutable_float_data() = attr.floats();
  } else {
    return who + ": attribute '" + attr.name() +
           "' is not supported (value, value_float or value_floats of float32)";
  }
  return add_tensor(tensor, node.output(0), what);
}

ModelCompiler::Error ModelCompiler::check_output(const onnx::GraphProto& graph) {
  if (graph.output_size() != 1) {
    return "the graph has " + std::to_string(graph.output_size()) +
           " outputs; exactly one, the logits [1,2], is supported";
  }
  const auto& decl = graph.output(0);
  const std::string what = "graph output '" + decl.name() + "'";
  const auto it = values_.find(decl.name());
  if (it == values_.end()) return what + " is not produced by any node";
  if (decl.has_type()) {
    if (!decl.type().has_tensor_type()) return what + " is not a tensor";
    const auto& type = decl.type().tensor_type();
    if (type.elem_type() != onnx::TensorProto_DataType_FLOAT) {
      return what + " is " + dtype_name(type.elem_type()) + "; only FLOAT (float32) is supported";
    }
    if (type.has_shape()) {
      const auto& shape = type.shape();
      const bool ok = shape.dim_size() == 2 &&
                      (!shape.dim(0).has_dim_value() || shape.dim(0).dim_value() == 1) &&
                      shape.dim(1).has_dim_value() &&
                      shape.dim(1).dim_value() == static_cast<std::int64_t>(k_logit_count);
      if (!ok) return what + " declares a shape other than [1,2]";
    }
  }
  const Value& out = it->second;
  if (out.rank != 2 || out.dims[0] != 1 || out.dims[1] != k_logit_count) {
    return what + " has shape " + shape_text(out) + "; [1,2] (logits WAIT, FLUSH) is required";
  }
  plan_.output = out.ref;
  return std::nullopt;
}

}  // namespace

ModelLoadResult load_model_from_bytes(std::string_view bytes) {
  if (bytes.size() > k_max_model_bytes) {
    return core::unexpected("the model is " + std::to_string(bytes.size()) +
                            " bytes, more than the limit " + std::to_string(k_max_model_bytes));
  }
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return core::unexpected("not an ONNX model: the " + std::to_string(bytes.size()) +
                            " bytes do not parse as a ModelProto (truncated or corrupt?)");
  }
  ModelCompiler compiler;
  if (auto error = compiler.compile(model)) return core::unexpected(std::move(*error));
  return std::shared_ptr<const CompiledModel>(
      std::make_shared<CompiledModel>(compiler.take_plan()));
}

ModelLoadResult load_model(const std::filesystem::path& path) {
  const auto fail = [&](const std::string& why) {
    return core::unexpected("model " + path.string() + ": " + why);
  };
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(ec.message());
  if (size > k_max_model_bytes) {
    return fail("the file is " + std::to_string(size) + " bytes, more than the limit " +
                std::to_string(k_max_model_bytes));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return fail(std::error_code(errno, std::generic_category()).message());
  // Read one byte past the size seen, so a file that grew since is noticed, not cut short.
  std::string bytes(static_cast<std::size_t>(size) + 1, '\0');
  const std::size_t got = std::fread(bytes.data(), 1, bytes.size(), file.get());
  if (std::ferror(file.get()) != 0) return fail("read error");
  if (got != size) return fail("the file changed while it was read");
  bytes.resize(got);
  auto result = load_model_from_bytes(bytes);
  if (!result) return fail(result.error());
  return result;
}

}  // namespace levee::policy
