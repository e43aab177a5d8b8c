// Arbitrary text as a levee config: the loader must either return a valid Config or throw
// ConfigErrors, never crash or throw anything else.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "config/config_error.hpp"
#include "config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)levee::config::load_string(text, "fuzz.toml", {{"LEVEE_SERVER__WORKERS", "2"}});
  } catch (const levee::config::ConfigErrors&) {
  }
  return 0;
}
