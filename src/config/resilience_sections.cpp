#include "config/resilience_sections.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

namespace levee::config::detail {

namespace {

constexpr std::array breaker_fields{
    Field{"enabled", Kind::boolean},   Field{"failure_threshold", Kind::number},
    Field{"window", Kind::duration},   Field{"open_for", Kind::duration},
    Field{"min_calls", Kind::integer}, Field{"half_open_probes", Kind::integer},
    Field{"count_5xx", Kind::boolean},
};

constexpr std::array cache_fields{
    Field{"max_bytes", Kind::size},           Field{"redis", Kind::address},
    Field{"redis_timeout", Kind::duration},   Field{"redis_connect_timeout", Kind::duration},
    Field{"redis_key_prefix", Kind::string},  Field{"redis_sentinels", Kind::list},
    Field{"redis_master_name", Kind::string},
};

constexpr std::array route_cache_fields{
    Field{"ttl", Kind::duration},
    Field{"stale_while_revalidate", Kind::duration},
    Field{"invalidate_on_mutation", Kind::boolean},
    Field{"honour_cache_control", Kind::boolean},
    Field{"max_entry_bytes", Kind::size},
};

constexpr auto k_max_breaker_window = std::chrono::hours(1);
constexpr auto k_max_redis_timeout = std::chrono::seconds(10);
constexpr auto k_max_ttl = std::chrono::hours(24 * 365);

// The table at `key` of `parent`, or null (reported when present but not a table).
const toml::table* sub_table(TableReader& parent, std::string_view key, const std::string& path) {
  const toml::node* node = parent.find(key);
  if (node == nullptr) return nullptr;
  const toml::table* table = node->as_table();
  if (table == nullptr) parent.report(key, "expected a table ([" + path + "])" + found(*node));
  return table;
}

// redis_sentinels: a non-empty list of distinct "IP:port" strings, each checked as `redis` is.
std::vector<Endpoint> read_sentinels(TableReader& reader) {
  const toml::node* node = reader.find("redis_sentinels");
  if (node == nullptr) return {};
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    reader.report("redis_sentinels",
                  "expected an array of addresses such as [\"127.0.0.1:26379\"]" + found(*node));
    return {};
  }
  if (array->empty()) {
    reader.report("redis_sentinels", "list at least one sentinel (or leave the key out)");
    return {};
  }
  std::vector<Endpoint> sentinels;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string key = index_path(reader.key_path("redis_sentinels"), i);
    const auto* text = element.as_string();
    if (text == nullptr) {
      reader.report_at(element, key,
                       "expected an address string such as \"127.0.0.1:26379\"" + found(element));
      continue;
    }
    auto parsed = parse_endpoint_checked(text->get());
    if (!parsed.endpoint) {
      reader.report_at(element, key,
                       "invalid address " + quoted(text->get()) + ": " + parsed.problem);
    } else if (std::find(sentinels.begin(), sentinels.end(), *parsed.endpoint) != sentinels.end()) {
      reader.report_at(element, key, "duplicate sentinel " + quoted(text->get()));
    } else {
      sentinels.push_back(std::move(*parsed.endpoint));
    }
  }
  return sentinels;
}

// The shared tier's Redis: one server (`redis`), or the primary the sentinels name.
void read_redis_location(TableReader& reader, CacheConfig& cache) {
  if (reader.find("redis") != nullptr) {
    if (auto redis = reader.endpoint("redis")) cache.redis = std::move(*redis);
  }
  const bool has_sentinels = reader.find("redis_sentinels") != nullptr;
  if (has_sentinels) cache.redis_sentinels = read_sentinels(reader);
  auto master_name = reader.string("redis_master_name");
  if (has_sentinels && reader.find("redis") != nullptr) {
    reader.report("redis_sentinels",
                  "give either redis (one server) or redis_sentinels (a primary found through "
                  "Sentinel), not both");
  }
  if (master_name && master_name->empty()) {
    reader.report("redis_master_name", "must not be empty");
  } else if (master_name && !has_sentinels) {
    reader.report("redis_master_name", "only means something with redis_sentinels");
  } else if (!master_name && has_sentinels) {
    reader.report("redis_sentinels",
                  "needs redis_master_name, the name the sentinels monitor the primary under");
  } else if (master_name) {
    cache.redis_master_name = std::move(*master_name);
  }
}

}  // namespace

Schema breaker_schema() noexcept { return breaker_fields; }
Schema cache_schema() noexcept { return cache_fields; }
Schema route_cache_schema() noexcept { return route_cache_fields; }

void read_breaker(TableReader& upstream_reader, const std::string& upstream_path,
                  UpstreamConfig& upstream, Diagnostics& diagnostics) {
  const std::string path = upstream_path + ".breaker";
  const toml::table* table = sub_table(upstream_reader, "breaker", path);
  if (table == nullptr) return;
  TableReader reader(*table, path, breaker_fields, diagnostics);
  BreakerConfig& breaker = upstream.breaker;
  assign(breaker.enabled, reader.boolean("enabled"));
  if (auto threshold = reader.number("failure_threshold", 0.0, 1.0)) {
    if (*threshold == 0.0) {
      reader.report("failure_threshold",
                    "must be greater than 0 (to turn the breaker off, set enabled = false)");
    } else {
      breaker.failure_threshold = *threshold;
    }
  }
  read_bounded(reader, "window", k_max_breaker_window, Zero::rejected, breaker.window);
  read_bounded(reader, "open_for", k_max_breaker_window, Zero::rejected, breaker.open_for);
  assign(breaker.min_calls, reader.integer("min_calls", 1, 1'000'000));
  assign(breaker.half_open_probes, reader.integer("half_open_probes", 1, 10'000));
  assign(breaker.count_5xx, reader.boolean("count_5xx"));
  reader.reject_unknown_keys();
}

void read_cache(const toml::table& table, CacheConfig& cache, Diagnostics& diagnostics) {
  TableReader reader(table, "cache", cache_fields, diagnostics);
  assign(cache.max_bytes, reader.size("max_bytes", 0, 1024 * gib));
  read_redis_location(reader, cache);
  read_bounded(reader, "redis_timeout", k_max_redis_timeout, Zero::rejected, cache.redis_timeout);
  read_bounded(reader, "redis_connect_timeout", k_max_redis_timeout, Zero::rejected,
               cache.redis_connect_timeout);
  if (auto prefix = reader.string("redis_key_prefix")) {
    if (prefix->size() > 64) {
      reader.report("redis_key_prefix", "must be at most 64 bytes");
    } else {
      cache.redis_key_prefix = std::move(*prefix);
    }
  }
  reader.reject_unknown_keys();
}

void read_route_cache(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                      Diagnostics& diagnostics) {
  const std::string path = route_path + ".cache";
  const toml::table* table = sub_table(route_reader, "cache", path);
  if (table == nullptr) return;
  TableReader reader(*table, path, route_cache_fields, diagnostics);
  if (route.mode == RouteMode::batch) {
    route_reader.report("cache", "a batch route cannot cache (its items are POSTs)");
  }
  RouteCacheConfig& cache = route.cache;
  cache.enabled = true;
  read_bounded(reader, "ttl", k_max_ttl, Zero::allowed, cache.ttl);
  read_bounded(reader, "stale_while_revalidate", k_max_ttl, Zero::allowed,
               cache.stale_while_revalidate);
  assign(cache.invalidate_on_mutation, reader.boolean("invalidate_on_mutation"));
  assign(cache.honour_cache_control, reader.boolean("honour_cache_control"));
  assign(cache.max_entry_bytes, reader.size("max_entry_bytes", 1, 1 * gib));
  reader.reject_unknown_keys();
}

}  // namespace levee::config::detail
