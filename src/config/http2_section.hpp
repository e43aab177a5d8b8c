#pragma once
// [server.http2] (config::Http2Config). Internal to src/config; the loader calls it while it
// reads [server].

#include "config/config.hpp"
#include "config/table_reader.hpp"

namespace levee::config::detail {

// Reads the http2 sub-table of [server]; absent keys keep their defaults.
void read_http2(TableReader& server_reader, Http2Config& http2, Diagnostics& diagnostics);

}  // namespace levee::config::detail
