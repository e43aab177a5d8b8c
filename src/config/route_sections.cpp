#include "config/route_sections.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

#include "config/resilience_sections.hpp"

namespace levee::config::detail {

namespace {

constexpr std::array batch_schema{
    Field{"upstream_path", Kind::string},
    Field{"max_batch_size", Kind::integer},
    Field{"max_batch_bytes", Kind::size},
    Field{"max_item_bytes", Kind::size},
    Field{"max_wait", Kind::duration},
    Field{"policy", Kind::string},
    Field{"model", Kind::string},
    Field{"reduction_slack", Kind::number},
    Field{"tick", Kind::duration},
    Field{"decision_deadline", Kind::duration},
    Field{"max_inflight_batches", Kind::integer},
    Field{"max_queued_batches", Kind::integer},
    Field{"payload", Kind::string},
    Field{"wrap_path", Kind::string},
    Field{"response", Kind::string},
    Field{"results_path", Kind::string},
    Field{"demux", Kind::string},
    Field{"id_field", Kind::string},
    Field{"item_error_field", Kind::string},
    Field{"item_error_status", Kind::integer},
    Field{"debug_header", Kind::boolean},
};

constexpr std::array collapse_schema{
    Field{"strategy", Kind::string},      Field{"max_waiters", Kind::integer},
    Field{"max_slots", Kind::integer},    Field{"vary", Kind::list},
    Field{"methods", Kind::list},         Field{"debug_header", Kind::boolean},
    Field{"policy", Kind::string},        Field{"max_wait", Kind::duration},
    Field{"preset", Kind::string},        Field{"leader_age", Kind::duration},
    Field{"model", Kind::string},         Field{"reduction_slack", Kind::number},
    Field{"tick", Kind::duration},        Field{"decision_deadline", Kind::duration},
    Field{"fleet", Kind::boolean},        Field{"lease_ttl", Kind::duration},
    Field{"fleet_wait", Kind::duration},  Field{"fleet_stale", Kind::duration},
    Field{"fleet_max_bytes", Kind::size},
};

}  // namespace

Schema route_subtable_schema(std::string_view name) noexcept {
  if (name == "collapse") return collapse_schema;
  if (name == "batch") return batch_schema;
  if (name == "cache") return route_cache_schema();
  return {};
}

std::vector<std::string> read_methods(TableReader& reader) {
  const toml::node* node = reader.find("methods");
  if (node == nullptr) return {};
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    reader.report("methods",
                  "expected an array of strings such as [\"GET\", \"HEAD\"]" + found(*node));
    return {};
  }
  std::vector<std::string> methods;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string key = index_path(reader.key_path("methods"), i);
    const auto* method = element.as_string();
    if (method == nullptr) {
      reader.report_at(element, key, "expected a string" + found(element));
    } else if (!is_method(method->get())) {
      reader.report_at(element, key,
                       "invalid method " + quoted(method->get()) +
                           ": methods are upper-case HTTP tokens such as \"GET\"");
    } else if (std::find(methods.begin(), methods.end(), method->get()) != methods.end()) {
      reader.report_at(element, key, "duplicate method " + quoted(method->get()));
    } else {
      methods.push_back(method->get());
    }
  }
  return methods;
}

namespace {

void read_flag(TableReader& reader, std::string_view key, bool& flag) {
  if (auto value = reader.boolean(key)) flag = *value;
}

void read_policy(TableReader& reader, FlushPolicy& policy) {
  const auto text = reader.string("policy");
  if (!text) return;
  constexpr std::array names{FlushPolicy::immediate, FlushPolicy::timer, FlushPolicy::size,
                             FlushPolicy::adaptive, FlushPolicy::learned};
  for (FlushPolicy candidate : names) {
    if (*text == to_string(candidate)) {
      policy = candidate;
      return;
    }
  }
  reader.report("policy", "unknown policy " + quoted(*text) +
                              " (expected immediate, timer, size, adaptive or learned)");
}

// The PolicyTuning keys; each only where its policy uses it, `model` required by `learned`.
void read_policy_tuning(TableReader& reader, FlushPolicy policy, PolicyTuning& tuning) {
  const bool measures = policy == FlushPolicy::adaptive || policy == FlushPolicy::learned;
  for (const char* key : {"reduction_slack", "tick"}) {
    if (!measures && reader.find(key) != nullptr) {
      reader.report(key,
                    std::string(key) + " applies only to policy = \"adaptive\" or \"learned\"");
    }
  }
  for (const char* key : {"model", "decision_deadline"}) {
    if (policy != FlushPolicy::learned && reader.find(key) != nullptr) {
      reader.report(key, std::string(key) + " applies only to policy = \"learned\"");
    }
  }
  if (!measures) return;
  if (auto slack = reader.number("reduction_slack", 0.0001, 0.5)) tuning.reduction_slack = *slack;
  if (auto tick = reader.duration("tick", Zero::rejected)) {
    if (*tick < std::chrono::microseconds(100) || *tick > std::chrono::seconds(1)) {
      reader.report("tick", "must be between 100us and 1s, got " + format_duration(*tick));
    } else {
      tuning.tick = *tick;
    }
  }
  if (policy != FlushPolicy::learned) return;
  if (auto deadline = reader.duration("decision_deadline", Zero::rejected)) {
    if (*deadline > std::chrono::milliseconds(10)) {
      reader.report("decision_deadline",
                    "must be at most 10ms (a decision runs on the request path), got " +
                        format_duration(*deadline));
    } else {
      tuning.decision_deadline = *deadline;
    }
  }
  if (auto model = reader.string("model")) {
    if (model->empty()) {
      reader.report("model", "must name an ONNX file");
    } else {
      tuning.model = std::move(*model);
    }
  } else if (reader.find("model") == nullptr) {
    reader.report("policy", "policy = \"learned\" needs model = \"path/to/model.onnx\"");
  }
}

void read_max_wait(TableReader& reader, Duration& max_wait) {
  if (auto wait = reader.duration("max_wait", Zero::rejected)) {
    if (*wait > std::chrono::seconds(60)) {
      reader.report("max_wait", "must be at most 60s, got " + format_duration(*wait));
    } else {
      max_wait = *wait;
    }
  }
}

// One of `names` (the enum's values in order), or an error naming them all.
template <class Enum, std::size_t N>
void read_choice(TableReader& reader, std::string_view key,
                 const std::array<std::string_view, N>& names, Enum& target) {
  const auto text = reader.string(key);
  if (!text) return;
  for (std::size_t i = 0; i < N; ++i) {
    if (*text == names[i]) {
      target = static_cast<Enum>(i);
      return;
    }
  }
  reader.report(key, "unknown value " + quoted(*text) + " (expected " + join(names, ", ") + ")");
}

// "data.requests" -> {"data", "requests"}; every segment a non-empty JSON member name.
std::optional<std::vector<std::string>> read_json_path(TableReader& reader, std::string_view key) {
  const auto text = reader.string(key);
  if (!text) return std::nullopt;
  std::vector<std::string> segments;
  std::string_view rest = *text;
  for (;;) {
    const auto dot = rest.find('.');
    const std::string_view segment = rest.substr(0, dot);
    if (segment.empty() || segment.find_first_of("\"\\") != std::string_view::npos) {
      reader.report(key, "invalid path " + quoted(*text) +
                             ": use member names separated by '.', such as \"data.requests\"");
      return std::nullopt;
    }
    segments.emplace_back(segment);
    if (dot == std::string_view::npos) return segments;
    rest.remove_prefix(dot + 1);
  }
}

}  // namespace

void read_batch(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                Diagnostics& diagnostics) {
  const toml::node* node = route_reader.find("batch");
  if (node == nullptr) {
    if (route.mode == RouteMode::batch) {
      route_reader.report("mode",
                          "mode = \"batch\" needs a [routes.batch] table with upstream_path");
    }
    return;
  }
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    route_reader.report("batch", "expected a table ([routes.batch])" + found(*node));
    return;
  }
  if (route.mode != RouteMode::batch) {
    route_reader.report("batch", "[routes.batch] applies only to mode = \"batch\"");
    return;
  }
  TableReader reader(*table, route_path + ".batch", batch_schema, diagnostics);
  BatchConfig& batch = route.batch;
  if (auto path = reader.required_string("upstream_path")) {
    if (auto problem = path_prefix_problem(*path)) {
      reader.report("upstream_path", "invalid path " + quoted(*path) + ": " + *problem);
    } else {
      batch.upstream_path = std::move(*path);
    }
  }
  assign(batch.max_batch_size, reader.integer("max_batch_size", 1, 100'000));
  assign(batch.max_batch_bytes, reader.size("max_batch_bytes", 1, gib));
  assign(batch.max_item_bytes, reader.size("max_item_bytes", 1, gib));
  if (batch.max_item_bytes > batch.max_batch_bytes) {
    reader.report(reader.find("max_item_bytes") != nullptr ? "max_item_bytes" : "max_batch_bytes",
                  "max_item_bytes (" + format_size(batch.max_item_bytes) +
                      ") must not be larger than max_batch_bytes (" +
                      format_size(batch.max_batch_bytes) + ")");
  }
  read_max_wait(reader, batch.max_wait);
  read_policy(reader, batch.policy);
  read_policy_tuning(reader, batch.policy, batch.tuning);
  assign(batch.max_inflight_batches, reader.integer("max_inflight_batches", 1, 100'000));
  assign(batch.max_queued_batches, reader.integer("max_queued_batches", 0, 1'000'000));
  read_choice(reader, "payload", std::array<std::string_view, 3>{"json_array", "ndjson", "wrapped"},
              batch.payload);
  if (auto path = read_json_path(reader, "wrap_path")) {
    if (batch.payload != BatchPayload::wrapped) {
      reader.report("wrap_path", "wrap_path applies only to payload = \"wrapped\"");
    }
    batch.wrap_path = std::move(*path);
  }
  read_choice(reader, "response", std::array<std::string_view, 2>{"json", "ndjson"},
              batch.response);
  if (auto path = read_json_path(reader, "results_path")) {
    if (batch.response != BatchResponse::json) {
      reader.report("results_path", "results_path applies only to response = \"json\"");
    }
    batch.results_path = std::move(*path);
  }
  read_choice(reader, "demux", std::array<std::string_view, 2>{"position", "id"}, batch.demux);
  if (auto field = reader.string("id_field")) {
    if (field->empty()) reader.report("id_field", "must not be empty");
    batch.id_field = std::move(*field);
  }
  if (auto field = reader.string("item_error_field")) batch.item_error_field = std::move(*field);
  assign(batch.item_error_status, reader.integer("item_error_status", 400, 599));
  read_flag(reader, "debug_header", batch.debug_header);
  reader.reject_unknown_keys();
}

// Route-level admission: batch routes only until every mode has it (issue 6).
void read_admission(TableReader& reader, RouteConfig& route) {
  assign(route.max_pending, reader.integer("max_pending", 1, 100'000'000));
  if (auto timeout = reader.duration("admission_timeout", Zero::allowed)) {
    if (*timeout > std::chrono::seconds(60)) {
      reader.report("admission_timeout", "must be at most 60s, got " + format_duration(*timeout));
    } else {
      route.admission_timeout = *timeout;
    }
  }
}

void read_forward_trailers(TableReader& reader, RouteConfig& route) {
  const auto forward = reader.boolean("forward_trailers");
  if (!forward) return;
  if (*forward && route.mode != RouteMode::pass) {
    reader.report("forward_trailers", "forward_trailers applies only to mode = \"pass\"");
    return;
  }
  route.forward_trailers = *forward;
}

void read_grpc(TableReader& reader, RouteConfig& route, bool collapse_methods_set) {
  const auto grpc = reader.boolean("grpc");
  if (!grpc || !*grpc) return;
  if (route.mode == RouteMode::batch) {
    reader.report("grpc", "grpc applies to mode = \"pass\" and \"collapse\" (batch speaks JSON)");
    return;
  }
  route.grpc = true;
  // Every gRPC call is a POST; its message is part of the collapse key.
  if (!collapse_methods_set) route.collapse.methods = {"POST"};
}

// Fleet collapsing's keys; the others are meaningless without `fleet = true`.
void read_fleet(TableReader& reader, CollapseConfig& collapse, bool redis_configured) {
  read_flag(reader, "fleet", collapse.fleet);
  if (collapse.fleet && !redis_configured) {
    reader.report("fleet",
                  "fleet = true needs the shared Redis of [cache] (redis = \"HOST:PORT\")");
  }
  constexpr auto k_max_lease = std::chrono::minutes(10);
  read_bounded(reader, "lease_ttl", k_max_lease, Zero::rejected, collapse.lease_ttl);
  read_bounded(reader, "fleet_wait", k_max_lease, Zero::rejected, collapse.fleet_wait);
  read_bounded(reader, "fleet_stale", k_max_lease, Zero::allowed, collapse.fleet_stale);
  assign(collapse.fleet_max_bytes, reader.size("fleet_max_bytes", 1, 512ull * 1024 * 1024));
  if (!collapse.fleet) {
    for (const char* key : {"lease_ttl", "fleet_wait", "fleet_stale", "fleet_max_bytes"}) {
      if (reader.find(key) != nullptr) {
        reader.report(key, std::string(key) + " applies only with fleet = true");
      }
    }
  }
}

// [routes.collapse]: only with mode = "collapse"; absent keys keep their defaults.
void read_collapse(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                   Diagnostics& diagnostics, bool redis_configured) {
  const toml::node* node = route_reader.find("collapse");
  if (node == nullptr) return;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    route_reader.report("collapse", "expected a table ([routes.collapse])" + found(*node));
    return;
  }
  if (route.mode != RouteMode::collapse) {
    route_reader.report("collapse", "[routes.collapse] applies only to mode = \"collapse\"");
    return;
  }
  TableReader reader(*table, route_path + ".collapse", collapse_schema, diagnostics);
  CollapseConfig& collapse = route.collapse;
  // A preset sets its values first; keys given next to it override them.
  if (auto preset = reader.string("preset")) {
    if (*preset == "default") {
      // the built-in defaults
    } else if (*preset == "high_throughput") {
      collapse.max_wait = std::chrono::milliseconds(100);
      collapse.max_waiters = 500;
      collapse.max_slots = 50000;
    } else if (*preset == "low_latency") {
      collapse.max_wait = std::chrono::milliseconds(10);
      collapse.max_waiters = 50;
      collapse.max_slots = 5000;
    } else if (*preset == "disabled") {
      collapse.enabled = false;
    } else {
      reader.report("preset", "unknown preset " + quoted(*preset) +
                                  " (expected default, high_throughput, low_latency or disabled)");
    }
  }
  if (auto strategy = reader.string("strategy")) {
    if (*strategy == "window") {
      collapse.strategy = CollapseStrategy::window;
    } else if (*strategy == "inflight") {
      collapse.strategy = CollapseStrategy::inflight;
    } else {
      reader.report("strategy", "unknown strategy " + quoted(*strategy) +
                                    " (expected \"inflight\" or \"window\")");
    }
  }
  read_policy(reader, collapse.policy);
  if (collapse.strategy == CollapseStrategy::window) {
    read_policy_tuning(reader, collapse.policy, collapse.tuning);
  }
  read_max_wait(reader, collapse.max_wait);
  if (auto age = reader.duration("leader_age", Zero::allowed)) {
    if (collapse.strategy != CollapseStrategy::inflight) {
      reader.report("leader_age", "leader_age applies only to strategy = \"inflight\"");
    } else {
      collapse.leader_age = *age;
    }
  }
  if (collapse.strategy != CollapseStrategy::window) {
    // (a preset's max_wait is simply unused by inflight slots)
    for (const char* key :
         {"policy", "max_wait", "model", "reduction_slack", "tick", "decision_deadline"}) {
      if (reader.find(key) != nullptr) {
        reader.report(key, std::string(key) + " applies only to strategy = \"window\"");
      }
    }
  }
  assign(collapse.max_waiters, reader.integer("max_waiters", 1, 1'000'000));
  assign(collapse.max_slots, reader.integer("max_slots", 1, 10'000'000));
  read_flag(reader, "debug_header", collapse.debug_header);
  if (reader.find("methods") != nullptr) {
    auto methods = read_methods(reader);
    if (methods.empty()) {
      reader.report("methods", "list at least one method");
    } else {
      collapse.methods = std::move(methods);
    }
  }
  read_fleet(reader, collapse, redis_configured);
  if (const toml::node* vary = reader.find("vary")) {
    const toml::array* array = vary->as_array();
    if (array == nullptr) {
      reader.report("vary",
                    "expected an array of header names such as [\"Authorization\"]" + found(*vary));
    } else {
      collapse.vary.clear();
      for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const auto* name = element.as_string();
        if (name == nullptr || name->get().empty() ||
            name->get().find_first_of(" \t:\r\n") != std::string::npos) {
          reader.report_at(element, index_path(reader.key_path("vary"), i),
                           "expected a header name" + found(element));
          continue;
        }
        collapse.vary.push_back(lower(name->get()));
      }
    }
  }
  reader.reject_unknown_keys();
}

}  // namespace levee::config::detail
