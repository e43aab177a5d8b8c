#include "layers/collapse/shared_call.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>
#include <vector>

namespace levee::layers::collapse {
namespace {

namespace asio = boost::asio;

// Reads a member's whole replay, piece by piece, into `out`; `error` if it failed.
asio::awaitable<void> read_replay(std::shared_ptr<ReplayStream> stream, std::string& out,
                                  std::optional<core::BodyError>& error) {
  for (;;) {
    core::BodyPiece piece = co_await stream->read();
    if (!piece) {
      error = piece.error();
      co_return;
    }
    if (piece.value().empty()) co_return;
    out.append(piece.value());
  }
}

std::shared_ptr<ReplayStream> member_of(const std::shared_ptr<SharedCall>& call) {
  call->add_member();
  return std::make_shared<ReplayStream>(call, adopt_membership(call), std::nullopt);
}

TEST(SharedCall, MembersReadTheBlocksAsTheyArriveAndALateOneIsReplayed) {
  asio::io_context io;
  auto call = std::make_shared<SharedCall>(1024);
  core::Response head;
  call->publish_head(head, true);
  std::string early;
  std::optional<core::BodyError> early_error;
  asio::co_spawn(io, read_replay(member_of(call), early, early_error), asio::detached);
  ASSERT_TRUE(call->append("abc"));
  io.poll();
  EXPECT_EQ(early, "abc");  // before the call is complete
  std::string late;
  std::optional<core::BodyError> late_error;
  asio::co_spawn(io, read_replay(member_of(call), late, late_error), asio::detached);
  io.poll();
  EXPECT_EQ(late, "abc");  // joined late: replayed from the first block
  ASSERT_TRUE(call->append("def"));
  call->complete();
  io.run();
  EXPECT_EQ(early, "abcdef");
  EXPECT_EQ(late, "abcdef");
  EXPECT_FALSE(early_error);
  EXPECT_FALSE(late_error);
}

TEST(SharedCall, AFailureReachesEveryMemberAfterWhatCameBefore) {
  asio::io_context io;
  auto call = std::make_shared<SharedCall>(1024);
  std::vector<std::string> bodies(3);
  std::vector<std::optional<core::BodyError>> errors(3);
  for (std::size_t i = 0; i < 3; ++i) {
    asio::co_spawn(io, read_replay(member_of(call), bodies[i], errors[i]), asio::detached);
  }
  ASSERT_TRUE(call->append("part"));
  call->fail(core::BodyError::cut_short);
  io.run();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(bodies[i], "part");
    EXPECT_EQ(errors[i], core::BodyError::cut_short);
  }
}

TEST(SharedCall, MoreThanTheReplayLimitFailsAsTooLarge) {
  auto call = std::make_shared<SharedCall>(4);
  EXPECT_TRUE(call->append("1234"));
  EXPECT_FALSE(call->append("5"));
  std::size_t cursor = 1;
  SharedCall::Block block;
  core::BodyError error = core::BodyError::cut_short;
  EXPECT_EQ(call->next_block(cursor, block, error, nullptr), SharedCall::Next::failed);
  EXPECT_EQ(error, core::BodyError::too_large);
}

// The call's coroutine waits on a timer bound to the call's cancellation slot, as an upstream
// read would: the last member leaving cancels it, and not before.
TEST(SharedCall, TheLastMemberLeavingCancelsTheCall) {
  asio::io_context io;
  auto call = std::make_shared<SharedCall>(1024);
  bool cancelled = false;
  asio::steady_timer upstream(io, asio::steady_timer::time_point::max());
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        co_await upstream.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        cancelled = ec == asio::error::operation_aborted;
      },
      asio::bind_cancellation_slot(call->started_on(io.get_executor()), asio::detached));
  auto first = member_of(call);
  auto second = member_of(call);
  io.poll();
  first.reset();
  io.poll();
  EXPECT_FALSE(cancelled);
  EXPECT_FALSE(call->abandoned());
  second.reset();
  io.poll();
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(call->abandoned());
}

TEST(SharedCall, OnlyTheFirstOfTwoCallsClaimsTheAnswer) {
  SharedCall call(1024);
  EXPECT_TRUE(call.claim());
  EXPECT_FALSE(call.claim());
}

}  // namespace
}  // namespace levee::layers::collapse
