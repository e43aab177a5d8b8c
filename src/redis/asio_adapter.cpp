#include "redis/asio_adapter.hpp"

#include <hiredis/async.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstddef>
#include <memory>
#include <utility>

namespace levee::redis {
namespace {

enum Direction : std::size_t { read_side = 0, write_side = 1 };

class SocketWatch : public std::enable_shared_from_this<SocketWatch> {
 public:
  SocketWatch(redisAsyncContext& context, const boost::asio::any_io_executor& executor)
      : context_(&context), socket_(executor) {}

  bool attach() {
    boost::system::error_code ec;
    socket_.assign(context_->c.fd, ec);
    if (ec) return false;
    self_ = shared_from_this();
    auto& ev = context_->ev;
    ev.data = this;
    ev.addRead = [](void* data) { static_cast<SocketWatch*>(data)->want(read_side, true); };
    ev.delRead = [](void* data) { static_cast<SocketWatch*>(data)->want(read_side, false); };
    ev.addWrite = [](void* data) { static_cast<SocketWatch*>(data)->want(write_side, true); };
    ev.delWrite = [](void* data) { static_cast<SocketWatch*>(data)->want(write_side, false); };
    ev.cleanup = &SocketWatch::cleanup;
    return true;
  }

 private:
  void want(Direction side, bool wanted) {
    wanted_[side] = wanted;
    arm(side);
  }

  // One wait per direction at most; a wait that completes after its direction was unwanted
  // again is simply not acted on.
  void arm(Direction side) {
    if (context_ == nullptr || !wanted_[side] || armed_[side]) return;
    armed_[side] = true;
    const auto what = side == read_side ? boost::asio::posix::stream_descriptor::wait_read
                                        : boost::asio::posix::stream_descriptor::wait_write;
    socket_.async_wait(what, [self = shared_from_this(), side](boost::system::error_code ec) {
      self->armed_[side] = false;
      // Detached (cleanup ran, the context may be freed) or released: nothing to drive.
      if (ec || self->context_ == nullptr || !self->wanted_[side]) return;
      if (side == read_side) {
        redisAsyncHandleRead(self->context_);
      } else {
        redisAsyncHandleWrite(self->context_);
      }
      // The call above may have freed the context; cleanup then cleared context_ and arm()
      // does nothing.
      self->arm(side);
    });
  }

  // hiredis calls this while freeing the context, before closing the socket.
  static void cleanup(void* data) {
    // Hold the state past the end of this function: hiredis's reference goes away here, and
    // pending waits may hold the only others.
    const std::shared_ptr<SocketWatch> self = std::move(static_cast<SocketWatch*>(data)->self_);
    redisAsyncContext* context = std::exchange(self->context_, nullptr);
    if (context != nullptr) {
      auto& ev = context->ev;
      ev.data = nullptr;
      ev.addRead = nullptr;
      ev.delRead = nullptr;
      ev.addWrite = nullptr;
      ev.delWrite = nullptr;
      ev.cleanup = nullptr;
    }
    // Deregisters the fd from the reactor and aborts the pending waits, without closing it.
    (void)self->socket_.release();
  }

  redisAsyncContext* context_;  // null once detached
  boost::asio::posix::stream_descriptor socket_;
  bool wanted_[2] = {false, false};
  bool armed_[2] = {false, false};
  std::shared_ptr<SocketWatch> self_;  // hiredis's reference, from attach() until cleanup
};

}  // namespace

bool attach_asio(redisAsyncContext& context, const boost::asio::any_io_executor& executor) {
  if (context.ev.data != nullptr || context.ev.cleanup != nullptr || context.c.fd < 0) {
    return false;
  }
  const auto watch = std::make_shared<SocketWatch>(context, executor);
  return watch->attach();
}

}  // namespace levee::redis
