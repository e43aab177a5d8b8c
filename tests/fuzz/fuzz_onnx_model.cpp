// Arbitrary bytes as the learned policy's model file: load_model_from_bytes must return a model
// or an error, never crash, throw or exhaust memory; a model it accepts must evaluate.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/onnx_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto loaded = levee::policy::load_model_from_bytes(bytes);
  if (loaded) {
    const std::array<float, 4> obs{0.25F, 0.5F, 0.75F, 1.0F};
    (void)loaded.value()->evaluate(obs);
  }
  return 0;
}
