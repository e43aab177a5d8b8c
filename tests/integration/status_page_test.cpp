// The admin listener's status page (GET /), loaded in a real browser: Debian's headless
// Chromium renders it against a running levee, and the route counter it shows follows the
// traffic sent through levee. Chromium enforces the page's Content-Security-Policy, so a
// counter that renders at all also proves the policy lets the page's own script run.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The three kinds of route the page has a table for, behind one levee-upstream.
LeveeOptions three_routes() {
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"api\"\npath_prefix = \"/api/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n"
      "[[routes]]\nname = \"items\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
      "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/process_batch\"\nmax_wait = \"1ms\"\n"
      "[[routes]]\nname = \"rest\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";
  return options;
}

// Chromium's rendering of the page, after its script has polled /stats: --dump-dom prints the
// DOM once the virtual-time budget is spent, and virtual time stands still while a fetch is
// pending, so the page's first polls have been answered and drawn by then (no wall-clock wait).
std::string rendered_page(std::uint16_t admin_port, const TempDir& profile) {
  const std::string command =
      "chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions "
      "--disable-background-networking --disable-sync --disable-component-update "
      "--user-data-dir='" +
      profile.path().string() +
      "' --virtual-time-budget=3000 --dump-dom http://127.0.0.1:" + std::to_string(admin_port) +
      "/ 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {};
  std::string dom;
  char buffer[4096];
  while (auto n = std::fread(buffer, 1, sizeof(buffer), pipe)) dom.append(buffer, n);
  ::pclose(pipe);
  return dom;
}

// The value of `attribute` on the element with id `id` in a dumped DOM, if it is there.
std::optional<std::string> attribute_of(std::string_view dom, std::string_view id,
                                        std::string_view attribute) {
  const auto at = dom.find("id=\"" + std::string(id) + "\"");
  if (at == std::string_view::npos) return std::nullopt;
  const auto tag_end = dom.find('>', at);
  const std::string key = " " + std::string(attribute) + "=\"";
  const auto tag_start = dom.rfind('<', at);
  const auto value_at = dom.find(key, tag_start);
  if (value_at == std::string_view::npos || value_at > tag_end) return std::nullopt;
  const auto start = value_at + key.size();
  return std::string(dom.substr(start, dom.find('"', start) - start));
}

std::optional<std::uint64_t> rendered_requests(std::string_view dom, std::string_view route) {
  auto value = attribute_of(dom, "route-" + std::string(route) + "-requests", "data-requests");
  if (!value || value->empty()) return std::nullopt;
  return std::stoull(*value);
}

TEST(StatusPage, IsServedSelfContainedWithARestrictiveContentSecurityPolicy) {
  Stack stack(three_routes());
  const auto page = http_get(stack.admin_port(), "/");
  ASSERT_TRUE(page.ok) << page;
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type").value_or(""), "text/html; charset=utf-8");
  EXPECT_EQ(page.header("X-Content-Type-Options").value_or(""), "nosniff");
  EXPECT_EQ(page.header("Cache-Control").value_or(""), "no-store");
  const std::string csp = page.header("Content-Security-Policy").value_or("");
  for (const char* directive : {"default-src 'none'", "script-src 'sha256-", "style-src 'sha256-",
                                "connect-src 'self'", "img-src 'self' data:", "base-uri 'none'",
                                "form-action 'none'", "frame-ancestors 'none'"}) {
    EXPECT_TRUE(contains(csp, directive)) << directive << " missing from " << csp;
  }
  EXPECT_FALSE(contains(csp, "unsafe-")) << csp;
  EXPECT_FALSE(contains(csp, "*")) << csp;

  // Nothing in the page names another origin or loads anything: no URL, no <link>, no
  // src/href attribute, no CSS import or url().
  for (const char* outside :
       {"http:", "https:", "//cdn", "<link", "src=", "href=", "@import", "url(", "<iframe"}) {
    EXPECT_FALSE(contains(page.body, outside)) << "the page contains " << outside;
  }
  EXPECT_TRUE(contains(page.body, "fetch(\"stats\""));

  // Read-only, as every admin endpoint.
  const auto head = http_request(stack.admin_port(), "HEAD", "/");
  EXPECT_EQ(head.status, 200) << head;
  EXPECT_TRUE(head.body.empty());
  const auto post = http_post(stack.admin_port(), "/", "x");
  EXPECT_EQ(post.status, 405) << post;
  EXPECT_EQ(post.header("Allow").value_or(""), "GET, HEAD");
  EXPECT_EQ(http_request(stack.admin_port(), "DELETE", "/").status, 405);
}

TEST(StatusPage, StatsCarryWhatThePageShowsForBatchesAndPolicies) {
  Stack stack(three_routes());
  ASSERT_EQ(http_post(stack.port(), "/process", "{\"id\":1}").status, 200);
  ASSERT_EQ(http_get(stack.port(), "/api/a").status, 200);

  const auto stats = http_get(stack.admin_port(), "/stats");
  ASSERT_TRUE(stats.ok) << stats;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(stats.body).get(root), simdjson::SUCCESS) << stats.body;
  simdjson::dom::array routes;
  ASSERT_EQ(root["routes"].get(routes), simdjson::SUCCESS);
  bool saw_batch = false;
  bool saw_collapse = false;
  for (auto route : routes) {
    std::string_view name;
    ASSERT_EQ(route["name"].get(name), simdjson::SUCCESS);
    if (name == "items") {
      saw_batch = true;
      std::uint64_t flushed_items = 0;
      ASSERT_EQ(route["batch"]["flushed_items"].get(flushed_items), simdjson::SUCCESS)
          << stats.body;
      EXPECT_EQ(flushed_items, 1u);
      std::uint64_t flushes = 0;
      simdjson::dom::object reasons;
      ASSERT_EQ(route["batch"]["flushes"].get(reasons), simdjson::SUCCESS) << stats.body;
      for (auto [reason, count] : reasons) flushes += count.get_uint64().value();
      EXPECT_EQ(flushes, 1u) << stats.body;
      std::string_view policy;
      EXPECT_EQ(route["policy"]["name"].get(policy), simdjson::SUCCESS) << stats.body;
    }
    if (name == "api") {
      saw_collapse = true;
      std::uint64_t leaders = 0;
      ASSERT_EQ(route["collapse"]["leaders"].get(leaders), simdjson::SUCCESS) << stats.body;
      EXPECT_EQ(leaders, 1u);
      std::string_view policy;
      EXPECT_EQ(route["policy"]["name"].get(policy), simdjson::SUCCESS) << stats.body;
    }
  }
  EXPECT_TRUE(saw_batch);
  EXPECT_TRUE(saw_collapse);
}

TEST(StatusPage, ChromiumShowsARouteCounterFollowingTheTraffic) {
  Stack stack(three_routes());
  TempDir profile;
  const auto started = std::chrono::steady_clock::now();
  int loads = 0;
  std::string dom;
  const auto load = [&] {
    ++loads;
    dom = rendered_page(stack.admin_port(), profile);
    return dom;
  };

  // Before any traffic: the page has rendered /stats, and the route has seen nothing.
  ASSERT_TRUE(eventually([&] { return rendered_requests(load(), "api").has_value(); },
                         std::chrono::seconds(60)))
      << "the page never rendered route api's counter:\n"
      << dom;
  EXPECT_EQ(rendered_requests(dom, "api"), 0u) << dom;
  EXPECT_TRUE(contains(dom, "id=\"route-items-requests\"")) << dom;
  EXPECT_TRUE(contains(dom, "id=\"route-api-collapse-ratio\"")) << dom;
  EXPECT_TRUE(contains(dom, "id=\"upstream-legacy-breaker\"")) << dom;
  EXPECT_TRUE(contains(dom, ">closed<")) << "the breaker's state:\n" << dom;

  constexpr std::uint64_t k_sent = 7;
  for (std::uint64_t i = 0; i < k_sent; ++i) {
    ASSERT_EQ(http_get(stack.port(), "/api/item/" + std::to_string(i)).status, 200);
  }
  ASSERT_EQ(http_post(stack.port(), "/process", "{\"id\":1}").status, 200);

  // The page shows every request levee counted: it polls /stats, so a fresh load sees them.
  EXPECT_TRUE(eventually([&] { return rendered_requests(load(), "api") == k_sent; },
                         std::chrono::seconds(60)))
      << "route api's counter on the page:\n"
      << dom;
  EXPECT_EQ(rendered_requests(dom, "items"), 1u) << dom;
  EXPECT_TRUE(contains(dom, "timeout 1") || contains(dom, "size_cap 1") ||
              contains(dom, "immediate 1"))
      << "the batch route's flush reason:\n"
      << dom;

  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  std::cout << "[ status page ] " << loads << " Chromium loads in " << took.count() << " s\n";
}

}  // namespace
}  // namespace levee::testing
