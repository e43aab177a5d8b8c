#pragma once
// A body that arrives in pieces (docs/life_of_a_request.md, "The shape of the data plane"):
// the upstream's answer on a pass route, a collapse slot's replay, a cache fill's tee. The
// reader pulls: nothing is read from the source before it is asked for, so a slow reader
// pauses the source and at most one piece is held per stream.
//
// Threading: a stream is read on the executor of the coroutine that owns it; one reader at a
// time. Cancellation: a read follows the awaiting coroutine's cancellation state; destroying
// the stream abandons the source (an upstream connection is closed, never reused half-read).

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/headers.hpp"
#include "core/result.hpp"

namespace levee::core {

// Why a body ended before its end: it must then never look complete to anyone.
enum class BodyError {
  cut_short,         // the source closed or reset before the last byte
  too_large,         // more than the holder may keep (max_response_bytes, max_body_bytes)
  fields_too_large,  // a trailer section over its limit
  timed_out,         // no byte within the source's timeout
  cancelled,         // everyone who wanted it left
};

[[nodiscard]] std::string_view describe(BodyError error) noexcept;

// The next bytes of a body, or an empty piece at a clean end.
using BodyPiece = Result<std::string_view, BodyError>;

class BodyStream {
 public:
  virtual ~BodyStream() = default;
  BodyStream() = default;
  BodyStream(const BodyStream&) = delete;
  BodyStream& operator=(const BodyStream&) = delete;

  // The bytes stay valid until the next read() or the stream's destruction.
  [[nodiscard]] virtual boost::asio::awaitable<BodyPiece> read() = 0;
  // The length the source declared (Content-Length), if it did.
  [[nodiscard]] virtual std::optional<std::uint64_t> length() const noexcept = 0;
  // The trailer section that followed a chunked body, once read() has returned its end.
  [[nodiscard]] virtual Headers take_trailers() { return {}; }
};

// Reads what is left of `stream` into one string, failing with too_large past `limit` bytes.
[[nodiscard]] boost::asio::awaitable<Result<std::string, BodyError>> read_all(BodyStream& stream,
                                                                              std::size_t limit);

}  // namespace levee::core
