#pragma once
// One batch call (DESIGN.md "Batch"): the items spliced into the payload, one POST to the
// upstream's batch endpoint through the route's inner service, and the response cut back
// into one element per item. A non-2xx answer, or a response that cannot be demultiplexed,
// fails the whole batch (502, or 504 when the call timed out) with a message naming why. An
// upstream that answers the call 503 or 429 fails it 503 with the upstream's Retry-After.
//
// Runs on the worker whose item opened the batch, through that worker's chain below the batch
// layer (BelowBatch).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/request.hpp"
#include "core/response.hpp"
#include "core/stage.hpp"
#include "layers/batch/batch_metrics.hpp"
#include "layers/batch/demux.hpp"
#include "layers/batch/payload.hpp"
#include "levee/batcher.hpp"
#include "policy/flush_reporter.hpp"

namespace levee::layers::batch {

// What a caller parks: its item's JSON text, and its id (demux = "id"; empty otherwise).
struct BatchItem {
  std::string json;
  std::string id;
};

// What a caller gets back: its element, and when and how its batch went (for the debug
// header and for measuring levee's own overhead apart from the wait and the upstream).
struct ItemResult {
  DemuxedItem element;
  std::size_t batch_items = 0;
  // Its batch left the batcher (set by the batcher: levee::TakesLeftAt). What follows before
  // the call is sent (the call's start on its worker, the payload) is levee's own time.
  std::chrono::steady_clock::time_point left_at{};
  std::chrono::nanoseconds upstream_time{0};  // the batch's request sent to its response read
};

using RouteBatcher = Batcher<BatchItem, ItemResult>;

// Fixed for the route's lifetime.
struct BatchRules {
  std::string upstream_path = "/process_batch";
  PayloadSpec payload;
  DemuxSpec demux;
  std::size_t max_item_bytes = 64 * 1024;
  int item_error_status = 502;
  // The most of a batch response levee holds to cut it into items (the upstream's
  // max_response_bytes): demultiplexing needs all of it.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  std::chrono::seconds retry_after{1};  // on 503, unless the upstream's own 503/429 said more
  // Adds `X-Levee-Batch: items=N; waited_us=W; upstream_us=U` to each item's answer.
  bool debug_header = false;
  // Told of every item's arrival (the flush policy's signals); null: nothing is reported.
  std::shared_ptr<policy::FlushReporter> reporter;
};

// An upstream's Retry-After is passed on up to this; more is likely a misconfiguration.
inline constexpr std::chrono::seconds k_max_retry_after{3600};
inline constexpr std::size_t k_failure_excerpt = 200;  // bytes of an upstream body quoted

// The failure every member of a batch gets when the call answered `response`.
[[nodiscard]] BatchFailure failed_call(const BatchRules& rules, const core::Response& response);

// How a batch call reaches the chain below the batch layer. A core::Next is held by copy,
// sharing its stages, so a batch that goes after a reload freed its opener's chain still has
// them; any other service is reached through a pointer and must outlive every call.
template <class Inner>
struct BelowBatch {
  Inner* inner;
  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request&& request) const {
    return inner->call(std::move(request));
  }
};

template <>
struct BelowBatch<core::Next> {
  core::Next inner;
  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request&& request) const {
    return inner.call(std::move(request));
  }
};

template <class Inner>
boost::asio::awaitable<BatchReply<ItemResult>> send_batch(BelowBatch<Inner> inner,
                                                          std::shared_ptr<const BatchRules> rules,
                                                          std::shared_ptr<BatchCounters> counters,
                                                          core::NowFunction now,
                                                          std::vector<BatchItem> items) {
  std::vector<std::string_view> texts;
  std::vector<std::string> ids;
  texts.reserve(items.size());
  if (rules->demux.mode == DemuxMode::id) ids.reserve(items.size());
  for (BatchItem& item : items) {
    texts.emplace_back(item.json);
    if (rules->demux.mode == DemuxMode::id) ids.push_back(std::move(item.id));
  }
  core::Request request;
  request.method = "POST";
  request.target = rules->upstream_path;
  request.headers.add("Content-Type", payload_content_type(rules->payload.format));
  request.headers.add("Accept", rules->demux.format == ResponseFormat::ndjson
                                    ? "application/x-ndjson"
                                    : "application/json");
  request.body = build_payload(rules->payload, texts);
  const auto departed = now();
  request.received_at = departed;

  core::Response response = co_await inner.call(std::move(request));
  if (response.stream) {
    auto body = co_await core::read_all(*response.stream, rules->max_response_bytes);
    response.stream.reset();
    if (!body) {
      counters->count_call(CallOutcome::call_failed);
      co_return BatchFailure{BatchError::call_failed,
                             "batch response from " + rules->upstream_path + ": " +
                                 std::string(core::describe(body.error())),
                             502};
    }
    response.body = std::make_shared<const std::string>(std::move(body).value());
  }
  const auto upstream_time = now() - departed;
  if (response.status < 200 || response.status > 299) {
    counters->count_call(CallOutcome::call_failed);
    co_return failed_call(*rules, response);
  }
  DemuxResult result = demux(rules->demux, response.body_view(), items.size(), ids);
  if (!result.error.empty()) {
    counters->count_call(CallOutcome::demux_failed);
    co_return BatchFailure{
        BatchError::call_failed,
        "batch response from " + rules->upstream_path + " cannot be demultiplexed: " + result.error,
        502};
  }
  counters->count_call(CallOutcome::ok);
  std::vector<ItemResult> results;
  results.reserve(result.items.size());
  for (DemuxedItem& element : result.items) {
    results.push_back(ItemResult{std::move(element), items.size(), {}, upstream_time});
  }
  co_return results;
}

template <class Inner>
[[nodiscard]] RouteBatcher::Call make_batch_call(BelowBatch<Inner> inner,
                                                 std::shared_ptr<const BatchRules> rules,
                                                 std::shared_ptr<BatchCounters> counters,
                                                 core::NowFunction now = core::Clock::now) {
  return [inner, rules = std::move(rules), counters = std::move(counters),
          now = std::move(now)](std::vector<BatchItem> items) {
    return send_batch(inner, rules, counters, now, std::move(items));
  };
}

}  // namespace levee::layers::batch
