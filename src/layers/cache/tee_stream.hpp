#pragma once
// A cache fill taken while the answer streams to its client (docs/life_of_a_request.md): every
// piece the reader pulls is also copied into the fill, up to `limit` bytes. Only a body that
// ended cleanly is handed to `on_complete`, with the source's trailers (which the reader then
// takes from the tee as from the source); one that ended with an error, outgrew the limit or
// was abandoned half-read is dropped, so a cut-short answer is never cached.
//
// Threading: the reader's executor, like the stream it wraps.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/body_stream.hpp"

namespace levee::layers::cache {

class TeeStream final : public core::BodyStream {
 public:
  TeeStream(std::shared_ptr<core::BodyStream> source, std::size_t limit,
            std::function<void(std::string body, const core::Headers& trailers)> on_complete)
      : source_(std::move(source)), limit_(limit), on_complete_(std::move(on_complete)) {}

  [[nodiscard]] boost::asio::awaitable<core::BodyPiece> read() override {
    core::BodyPiece piece = co_await source_->read();
    if (!piece) {
      drop();
      co_return piece;
    }
    const std::string_view bytes = piece.value();
    if (bytes.empty()) {
      trailers_ = source_->take_trailers();
      if (on_complete_) std::exchange(on_complete_, nullptr)(std::move(fill_), trailers_);
      co_return piece;
    }
    if (on_complete_) {
      if (bytes.size() > limit_ - fill_.size()) {
        drop();
      } else {
        fill_.append(bytes);
      }
    }
    co_return piece;
  }

  [[nodiscard]] std::optional<std::uint64_t> length() const noexcept override {
    return source_->length();
  }

  [[nodiscard]] core::Headers take_trailers() override { return std::move(trailers_); }

 private:
  void drop() {
    on_complete_ = nullptr;
    std::string().swap(fill_);
  }

  std::shared_ptr<core::BodyStream> source_;
  std::size_t limit_;
  std::function<void(std::string, const core::Headers&)> on_complete_;
  std::string fill_;
  core::Headers trailers_;  // the source's, taken at its end and handed on to the reader
};

}  // namespace levee::layers::cache
