// Issue 17.1 and 17.2 against an upstream that misbehaves on cue (tests/peers/
// scripted_upstream.py, raw sockets): bodies stream, a shared answer is read while it is
// written, an answer cut short never ends cleanly and is never cached, and a call nobody waits
// for any more is cancelled (the upstream sees its connection closed).

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/h2_attack.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

struct ScriptedUpstream {
  ScriptedUpstream()
      : process("/usr/bin/python3", {source_path("tests/peers/scripted_upstream.py")}) {
    const std::string line = process.wait_for_line("scripted_upstream ready", 15s);
    port = static_cast<std::uint16_t>(std::stoul(line.substr(line.find("port=") + 5)));
  }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  // Blocks until the upstream printed `line` (bounded).
  void expect(const std::string& line) { (void)process.wait_for_line(line, 10s); }

  Process process;
  std::uint16_t port = 0;
};

std::string routes(std::string_view collapse_extra = {}) {
  return "[[routes]]\nname = \"shared\"\npath_prefix = \"/shared\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n" +
         std::string(collapse_extra) +
         "\n[[routes]]\nname = \"cached\"\npath_prefix = \"/cached\"\nupstream = \"legacy\"\n"
         "[routes.cache]\nttl = \"60s\"\n"
         "\n[[routes]]\nname = \"pass\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";
}

struct Fixture {
  explicit Fixture(std::string_view collapse_extra = {}) : stack(options(collapse_extra)) {}
  LeveeOptions options(std::string_view collapse_extra) {
    LeveeOptions o;
    o.upstream_address = upstream.address();
    o.routes = routes(collapse_extra);
    return o;
  }
  ScriptedUpstream upstream;
  Stack stack;
};

// Everything the connection sends until it closes (or `within` passes).
std::string read_until_close(HttpConnection& connection, std::chrono::milliseconds within) {
  connection.set_timeout(within);
  std::string all;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(connection.native_handle(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    all.append(buffer, static_cast<std::size_t>(n));
  }
  return all;
}

// Reads until `bytes` bytes of the connection have arrived (bounded by the timeout).
std::string read_at_least(HttpConnection& connection, std::size_t bytes) {
  connection.set_timeout(10s);
  std::string all;
  char buffer[65536];
  while (all.size() < bytes) {
    const ssize_t n = ::recv(connection.native_handle(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    all.append(buffer, static_cast<std::size_t>(n));
  }
  return all;
}

std::string body_of(const std::string& response);

// Reads until the head and `bytes` body bytes of a response have arrived; returns the body.
std::string read_body_at_least(HttpConnection& connection, std::size_t bytes) {
  connection.set_timeout(10s);
  std::string all;
  char buffer[65536];
  while (all.find("\r\n\r\n") == std::string::npos || body_of(all).size() < bytes) {
    const ssize_t n = ::recv(connection.native_handle(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    all.append(buffer, static_cast<std::size_t>(n));
  }
  return body_of(all);
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string{} : response.substr(end + 4);
}

TEST(Streaming, PassHandsOverTheFirstBytesBeforeTheUpstreamsLast) {
  Fixture f;
  HttpConnection client(f.stack.port());
  ASSERT_TRUE(client.send_raw(format_request(f.stack.port(), "GET", "/hold/p1")));
  // The upstream holds its second half until released: the first half must already be here.
  EXPECT_EQ(read_body_at_least(client, 1024), std::string(1024, 'a'));
  EXPECT_EQ(http_get(f.upstream.port, "/release/p1").status, 200);
  const std::string rest = read_at_least(client, 1024);
  EXPECT_EQ(rest, std::string(1024, 'b'));
}

// The request body goes upstream as it arrives: the upstream has its first bytes before the
// client has sent the rest (before, levee read the whole body first).
TEST(Streaming, PassForwardsTheRequestBodyAsItArrives) {
  Fixture f;
  HttpConnection client(f.stack.port());
  const std::string head = "POST /upload/u1 HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n";
  ASSERT_TRUE(client.send_raw(head + std::string(1024, 'x')));
  f.upstream.expect("upload u1 got");
  ASSERT_TRUE(client.send_raw(std::string(3072, 'y')));
  const HttpResult answer = client.read_response();
  EXPECT_EQ(answer.status, 200) << answer;
  EXPECT_EQ(answer.body, "4096\n");
  // The connection stays in step for the next request.
  const HttpResult next = client.request("GET", "/upload/u2");
  EXPECT_EQ(next.status, 200) << next;
}

// The same over HTTP/2: a request whose body has not ended when its head has been read goes
// to its route at once, and its body streams (before, levee read an HTTP/2 body whole).
TEST(Streaming, AnHttp2RequestBodyGoesUpstreamAsItArrives) {
  Fixture f;
  const std::string release = (f.stack.dir.path() / "release").string();
  H2AttackOptions options;
  options.mode = "upload";
  options.port = f.stack.port();
  options.path = "/upload/h2";
  options.limit = 1024;  // each half
  options.release_file = release;
  H2Attack client(options);
  // The upstream has the first half while the client still holds the second.
  f.upstream.expect("upload h2 got");
  (void)write_file(release, "go");
  const H2AttackResult result = client.wait();
  EXPECT_TRUE(result.released) << result.json;
  EXPECT_TRUE(result.response_complete) << result.json;
  EXPECT_EQ(result.response_statuses.count("200"), 1u) << result.json;
}

// An upstream that stops reading stops levee reading the client: of a 256 MiB upload, only
// what the sockets' buffers hold has left the client when the transfer stalls. Buffering
// levee would have taken all of it.
TEST(Streaming, AStalledUpstreamStopsTheClientsUpload) {
  ScriptedUpstream upstream;
  LeveeOptions o;
  o.upstream_address = upstream.address();
  o.server_extra = "max_body_bytes = \"1GiB\"\n";
  Stack stack(o);
  HttpConnection client(stack.port());
  constexpr std::uint64_t k_body = 256ull * 1024 * 1024;
  ASSERT_TRUE(client.send_raw("POST /sink/s9 HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                              std::to_string(k_body) + "\r\n\r\n"));
  const int fd = client.native_handle();
  const std::string piece(64 * 1024, 'z');
  std::uint64_t sent = 0;
  // Sends until no byte has been taken for a second (bounded by the body's size).
  while (sent < k_body) {
    pollfd writable{fd, POLLOUT, 0};
    if (::poll(&writable, 1, 1000) <= 0) break;
    const ssize_t n = ::send(fd, piece.data(), piece.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::uint64_t>(n);
  }
  EXPECT_LT(sent, 64ull * 1024 * 1024) << "levee kept reading a body nobody upstream took";
  EXPECT_GT(sent, 0u);
  (void)http_get(upstream.port, "/release/s9");
}

TEST(Streaming, CollapseMembersReadTheAnswerWhileItIsWritten) {
  Fixture f;
  HttpConnection leader(f.stack.port());
  ASSERT_TRUE(leader.send_raw(format_request(f.stack.port(), "GET", "/shared/hold/c1")));
  f.upstream.expect("request /shared/hold/c1");
  EXPECT_EQ(read_body_at_least(leader, 1024), std::string(1024, 'a'));
  // A member that joins mid-answer is replayed what came so far, before the rest exists.
  HttpConnection late(f.stack.port());
  ASSERT_TRUE(late.send_raw(format_request(f.stack.port(), "GET", "/shared/hold/c1")));
  EXPECT_EQ(read_body_at_least(late, 1024), std::string(1024, 'a'));
  EXPECT_EQ(http_get(f.upstream.port, "/release/c1").status, 200);
  EXPECT_EQ(read_at_least(leader, 1024), std::string(1024, 'b'));
  EXPECT_EQ(read_at_least(late, 1024), std::string(1024, 'b'));
  // One upstream call served both.
  EXPECT_EQ(f.upstream.process.stdout_text().find("request /shared/hold/c1"),
            f.upstream.process.stdout_text().rfind("request /shared/hold/c1"));
}

// Pingora issue 932, ATS issue 9274: an answer cut short upstream must end as an error for
// every member (no clean end a cache or client could take for complete), and is not cached.
TEST(Streaming, AnAnswerCutShortNeverEndsCleanlyForAnyMember) {
  Fixture f;
  for (const std::string path : {"/shared/cut/x", "/shared/cut-chunked/x", "/cached/cut/x",
                                 "/cached/cut-chunked/x", "/cut/x", "/cut-chunked/x"}) {
    std::vector<HttpConnection> members;
    for (int i = 0; i < 3; ++i) {
      members.emplace_back(f.stack.port());
      ASSERT_TRUE(members.back().send_raw(format_request(f.stack.port(), "GET", path)));
    }
    for (auto& member : members) {
      const std::string all = read_until_close(member, 10s);
      ASSERT_NE(all.find("200 OK"), std::string::npos) << path << ": " << all.substr(0, 200);
      const std::string body = body_of(all);
      if (all.find("Transfer-Encoding: chunked") != std::string::npos) {
        EXPECT_EQ(all.find("\r\n0\r\n\r\n"), std::string::npos) << path << ": a last chunk";
      } else {
        ASSERT_NE(all.find("Content-Length: 100000"), std::string::npos) << path;
        EXPECT_LT(body.size(), 100000u) << path;
      }
    }
  }
  // Not cached: the next request goes upstream again. (The upstream's lines reach the test
  // through a reader thread: counts are awaited, not read once.)
  const auto count = [&f] {
    const std::string text = f.upstream.process.stdout_text();
    std::size_t n = 0;
    for (auto at = text.find("request /cached/cut/x"); at != std::string::npos;
         at = text.find("request /cached/cut/x", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(eventually([&] { return count() == 3; })) << count();  // one per member above
  HttpConnection again(f.stack.port());
  ASSERT_TRUE(again.send_raw(format_request(f.stack.port(), "GET", "/cached/cut/x")));
  (void)read_until_close(again, 10s);
  EXPECT_TRUE(eventually([&] { return count() == 4; })) << count();
}

// The cache stores a streamed answer as it passes (a tee), once it ended cleanly.
TEST(Streaming, TheCacheStoresAStreamedAnswerOnceComplete) {
  Fixture f;
  HttpConnection first(f.stack.port());
  ASSERT_TRUE(first.send_raw(format_request(f.stack.port(), "GET", "/cached/hold/t1")));
  EXPECT_EQ(read_body_at_least(first, 1024), std::string(1024, 'a'));
  EXPECT_EQ(http_get(f.upstream.port, "/release/t1").status, 200);
  EXPECT_EQ(read_at_least(first, 1024), std::string(1024, 'b'));
  ASSERT_TRUE(eventually([&] {
    return metric_value(f.stack.admin_port(), "levee_cache_stores_total{route=\"cached\"}") >= 1;
  })) << "no store counted";
  const HttpResult again = http_get(f.stack.port(), "/cached/hold/t1");
  EXPECT_EQ(again.status, 200) << again;
  EXPECT_EQ(again.body, std::string(1024, 'a') + std::string(1024, 'b'));
  EXPECT_EQ(again.header("X-Levee-Cache").value_or(""), "hit");
  const std::string seen = f.upstream.process.stdout_text();
  EXPECT_EQ(seen.find("request /cached/hold/t1"), seen.rfind("request /cached/hold/t1"));
}

TEST(Streaming, AllMembersLeavingCancelsTheSharedCall) {
  Fixture f;
  {
    std::vector<HttpConnection> members;
    for (int i = 0; i < 3; ++i) {
      members.emplace_back(f.stack.port());
      ASSERT_TRUE(
          members.back().send_raw(format_request(f.stack.port(), "GET", "/shared/stall/s1")));
    }
    f.upstream.expect("request /shared/stall/s1");
    ASSERT_TRUE(eventually([&] {
      return metric_value(f.stack.admin_port(), "levee_collapse_waiters{route=\"shared\"}") == 2;
    }));
  }  // every client goes away
  f.upstream.expect("closed s1");  // the upstream sees levee close the call's connection
  EXPECT_TRUE(eventually([&] {
    return metric_value(f.stack.admin_port(), "levee_active_batch_slots{route=\"shared\"}") == 0;
  }));
}

TEST(Streaming, AClientThatLeavesCancelsItsPassCall) {
  Fixture f;
  {
    HttpConnection client(f.stack.port());
    ASSERT_TRUE(client.send_raw(format_request(f.stack.port(), "GET", "/stall/p2")));
    f.upstream.expect("request /stall/p2");
  }
  f.upstream.expect("closed p2");
}

}  // namespace
}  // namespace levee::testing
