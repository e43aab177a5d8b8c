#include "core/body_stream.hpp"

namespace levee::core {

std::string_view describe(BodyError error) noexcept {
  switch (error) {
    case BodyError::cut_short:
      return "body cut short";
    case BodyError::too_large:
      return "body too large";
    case BodyError::fields_too_large:
      return "trailer fields too large";
    case BodyError::timed_out:
      return "body timed out";
    case BodyError::cancelled:
      return "cancelled";
  }
  return "body error";
}

boost::asio::awaitable<Result<std::string, BodyError>> read_all(BodyStream& stream,
                                                                std::size_t limit) {
  std::string all;
  if (auto declared = stream.length()) {
    if (*declared > limit) co_return unexpected(BodyError::too_large);
    all.reserve(static_cast<std::size_t>(*declared));
  }
  for (;;) {
    BodyPiece piece = co_await stream.read();
    if (!piece) co_return unexpected(piece.error());
    const std::string_view bytes = piece.value();
    if (bytes.empty()) co_return all;
    if (bytes.size() > limit - all.size()) co_return unexpected(BodyError::too_large);
    all.append(bytes);
  }
}

}  // namespace levee::core
