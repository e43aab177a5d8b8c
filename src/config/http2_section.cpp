#include "config/http2_section.hpp"

#include <array>
#include <chrono>
#include <string>

namespace levee::config::detail {

namespace {

constexpr std::array http2_fields{
    Field{"enabled", Kind::boolean},
    Field{"max_concurrent_streams", Kind::integer},
    Field{"initial_window_bytes", Kind::size},
    Field{"connection_window_bytes", Kind::size},
    Field{"stream_idle_timeout", Kind::duration},
    Field{"max_resets_per_second", Kind::integer},
};

// RFC 9113 6.5.2: a window above 2^31-1 is a protocol error.
constexpr std::uint64_t k_max_window = (1ULL << 31) - 1;
constexpr auto k_max_stream_idle = std::chrono::hours(1);

}  // namespace

void read_http2(TableReader& server_reader, Http2Config& http2, Diagnostics& diagnostics) {
  const toml::node* node = server_reader.find("http2");
  if (node == nullptr) return;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    server_reader.report("http2", "expected a table ([server.http2])");
    return;
  }
  TableReader reader(*table, "server.http2", http2_fields, diagnostics);
  assign(http2.enabled, reader.boolean("enabled"));
  assign(http2.max_concurrent_streams, reader.integer("max_concurrent_streams", 1, 10'000));
  // Below the RFC's 65,535 default a window only slows clients down; levee never asks for it.
  assign(http2.initial_window_bytes, reader.size("initial_window_bytes", 65'535, k_max_window));
  assign(http2.connection_window_bytes,
         reader.size("connection_window_bytes", 65'535, k_max_window));
  read_bounded(reader, "stream_idle_timeout", k_max_stream_idle, Zero::rejected,
               http2.stream_idle_timeout);
  assign(http2.max_resets_per_second, reader.integer("max_resets_per_second", 1, 1'000'000));
  reader.reject_unknown_keys();
}

}  // namespace levee::config::detail
