#include "layers/collapse/slot_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

namespace levee::layers::collapse {
namespace {

CollapseKey key(std::string text) {
  CollapseKey k;
  k.text = std::move(text);
  k.hash = std::hash<std::string>{}(k.text);
  return k;
}

// What a slot's call does with a whole answer: publish it to the members.
void answer(const std::shared_ptr<Slot>& slot, std::string body) {
  core::Response response;
  response.body = std::make_shared<const std::string>(std::move(body));
  slot->call->publish_whole(response, true);
}

TEST(SlotTable, FirstLeadsOthersFollowUntilFinished) {
  SlotTable table(100, 100);
  const Joined leader = table.join(key("a"));
  ASSERT_EQ(leader.role, Role::leader);
  const Joined follower = table.join(key("a"));
  EXPECT_EQ(follower.role, Role::follower);
  EXPECT_EQ(follower.slot, leader.slot);
  EXPECT_EQ(table.join(key("b")).role, Role::leader);
  EXPECT_EQ(table.slots(), 2u);

  EXPECT_EQ(table.finish(leader.slot), 2u);
  EXPECT_EQ(table.slots(), 1u);
  // After the answer exists, the key opens a new slot: fresh reads.
  const Joined later = table.join(key("a"));
  EXPECT_EQ(later.role, Role::leader);
  EXPECT_NE(later.slot, leader.slot);
}

TEST(SlotTable, CollidingHashesNeverShareASlot) {
  SlotTable table(100, 100);
  CollapseKey a = key("a");
  CollapseKey b = key("b");
  b.hash = a.hash;
  const Joined first = table.join(a);
  const Joined second = table.join(b);
  EXPECT_EQ(second.role, Role::leader);
  EXPECT_NE(first.slot, second.slot);
}

TEST(SlotTable, FullSlotOpensAnotherAndFullTableBypasses) {
  SlotTable table(2, 1);
  EXPECT_EQ(table.join(key("a")).role, Role::leader);
  EXPECT_EQ(table.join(key("a")).role, Role::follower);
  EXPECT_EQ(table.join(key("a")).role, Role::leader);  // max_waiters = 1: a second slot
  EXPECT_EQ(table.slots(), 2u);
  const Joined bypass = table.join(key("c"));  // max_slots = 2
  EXPECT_EQ(bypass.role, Role::bypass);
  EXPECT_EQ(bypass.slot, nullptr);
}

TEST(SlotTable, LeavingTakesTheMemberOut) {
  SlotTable table(10, 10);
  const Joined leader = table.join(key("a"));
  const Joined follower = table.join(key("a"));
  EXPECT_EQ(table.waiters(), 1u);
  table.leave(follower.slot);
  EXPECT_EQ(table.waiters(), 0u);
  EXPECT_EQ(table.finish(leader.slot), 1u);  // only the leader is served
  EXPECT_EQ(table.slots(), 0u);
  EXPECT_EQ(table.finish(leader.slot), 0u);  // once
}

TEST(SlotTable, AnAbandonedCallIsNotJoined) {
  SlotTable table(10, 10);
  boost::asio::io_context io;
  const Joined leader = table.join(key("a"));
  (void)leader.slot->call->started_on(io.get_executor());
  (void)adopt_membership(leader.slot->call);  // the only member leaves at once
  EXPECT_TRUE(leader.slot->call->abandoned());
  const Joined next = table.join(key("a"));
  EXPECT_EQ(next.role, Role::leader);
  EXPECT_NE(next.slot, leader.slot);
}

// Many threads joining, waiting and finishing the same few keys: every member of every slot
// gets its slot's answer, and the table ends empty. Run under TSan by `make check-tsan`.
TEST(SlotTable, ConcurrentMembersAllGetTheirSlotsAnswer) {
  SlotTable table(1000, 1000);
  constexpr int k_threads = 4;
  constexpr int k_rounds = 2000;
  std::atomic<int> wrong{0};
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&table, &wrong, &served, t] {
      boost::asio::io_context io;
      for (int i = 0; i < k_rounds; ++i) {
        const std::string name = "k" + std::to_string(i % 3);
        Joined joined = table.join(key(name));
        auto membership = adopt_membership(joined.slot->call);
        if (joined.role == Role::leader) {
          table.finish(joined.slot);
          answer(joined.slot, joined.slot->key.text);
          ++served;
          continue;
        }
        auto waiter = std::make_shared<Waiter>(io.get_executor());
        SharedCall::Head head;
        while (joined.slot->call->head_or_wait(head, waiter) == SharedCall::HeadState::wait) {
          waiter->timer().async_wait([](boost::system::error_code) {});
          io.restart();
          io.run();
        }
        auto body = joined.slot->call->whole_body();
        if (!body || !*body || **body != name) ++wrong;
        ++served;
        (void)t;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(served.load(), k_threads * k_rounds);
  EXPECT_EQ(table.slots(), 0u);
  EXPECT_EQ(table.waiters(), 0u);
}

}  // namespace
}  // namespace levee::layers::collapse
