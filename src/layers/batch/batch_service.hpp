#pragma once
// The batch layer (DESIGN.md "Batch"): each request carries one JSON item; the layer checks
// it, parks it in the route's batcher (include/levee/batcher.hpp, shared by every worker) and
// answers with the caller's own element of the batch response.
//
// Answers: the element, 200 application/json; an element the upstream marked failed
// (item_error_field), item_error_status with the element as the body; not POST 405; empty or
// invalid JSON 400; larger than max_item_bytes 413 (before it is parked); no capacity 503
// with Retry-After; the batch call failed or its response cannot be demultiplexed, 502 or 504
// naming the cause, for every member of that batch (503 with the upstream's Retry-After when
// the upstream answered the call 503 or 429); the client gone while parked, 499 (its
// item leaves the batch if the batch has not gone). With debug_header, an answered item says
// how its batch went: `X-Levee-Batch: items=N; waited_us=W; upstream_us=U` (W: from parking
// to the batch leaving, U: the call), so that a client can tell levee's own overhead apart.
//
// Accounting (core/phases.hpp): a member's `parked` runs from its parking (admission in the
// batcher included) to its batch leaving the batcher (ItemResult::left_at), and its
// `upstream` is the batch's call; the rest, the call's start and the answer, is levee's.
//
// Threading: one instance per worker, called on that worker's io_context. A batch is sent by
// the worker whose item opened it, through that worker's inner service (its upstream pool).

#include <xxhash.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/service.hpp"
#include "layers/batch/batch_call.hpp"
#include "layers/batch/batch_metrics.hpp"
#include "layers/batch/debug_header.hpp"
#include "levee/batcher.hpp"

namespace levee::layers::batch {

inline constexpr int k_client_closed = 499;  // nginx's code for a client gone before its answer

template <core::Service Inner>
class BatchService {
 public:
  // `now` times the wait (parked to the batch leaving) and the batch call, for the debug header
  // and the flush policy's arrivals; the route's batcher must read the same clock.
  BatchService(Inner inner, std::shared_ptr<RouteBatcher> batcher,
               std::shared_ptr<const BatchRules> rules, std::shared_ptr<BatchCounters> counters,
               core::NowFunction now = core::Clock::now)
      : inner_(std::move(inner)),
        batcher_(std::move(batcher)),
        rules_(std::move(rules)),
        counters_(std::move(counters)),
        now_(std::move(now)) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    if (request.method != "POST") {
      counters_->count_item(ItemOutcomeKind::invalid);
      core::Response refused = core::Response::text(405, "a batch route takes items by POST");
      refused.headers.add("Allow", "POST");
      co_return refused;
    }
    // An item is held whole: its body is read to its end first (max_body_bytes bounds it).
    if (request.body_stream && !co_await core::read_whole_body(request)) {
      co_return core::Response::text(400, "request body cut short");
    }
    auto item = make_item(std::move(request.body));
    if (const auto* refusal = std::get_if<core::Response>(&item)) {
      counters_->count_item(ItemOutcomeKind::invalid);
      co_return *refusal;
    }
    if (!handle_) {
      handle_.emplace(batcher_->handle(co_await boost::asio::this_coro::executor,
                                       make_batch_call(below(), rules_, counters_, now_)));
    }
    if (request.client && request.client->gone()) co_return client_gone();
    BatchItem& parked = std::get<BatchItem>(item);
    const std::size_t bytes = parked.json.size();
    const std::uint64_t key = parked.id.empty() ? 0 : exclusive_key(parked.id);

    // The client's connection tells us when it goes; the item then leaves its batch.
    boost::asio::cancellation_signal withdraw;
    struct WatchScope {
      core::ClientWatch* client;
      ~WatchScope() {
        if (client != nullptr) client->stop_watching();
      }
    } watch{request.client.get()};
    if (watch.client != nullptr) {
      watch.client->watch([&withdraw] { withdraw.emit(boost::asio::cancellation_type::terminal); });
    }
    const auto parked_at = now_();
    if (rules_->reporter) rules_->reporter->arrival(parked_at);
    core::Phases* phases = request.phases;
    auto outcome = co_await handle_->submit(std::move(parked), bytes, key, withdraw.slot());
    if (const auto* result = std::get_if<ItemResult>(&outcome); result && phases != nullptr) {
      // Its batch's wait and call, as this member saw them; the rest is levee's.
      phases->parked += std::max<core::Clock::duration>(result->left_at - parked_at, {});
      phases->upstream += result->upstream_time;
    }
    co_return answer(std::move(outcome), parked_at);
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }

 private:
  [[nodiscard]] BelowBatch<Inner> below() {
    if constexpr (std::same_as<Inner, core::Next>) {
      return {inner_};
    } else {
      return {&inner_};
    }
  }

  // The item as it will be spliced into the payload, or the refusal.
  [[nodiscard]] std::variant<BatchItem, core::Response> make_item(std::string body) const {
    if (body.empty()) {
      return core::Response::text(400, "empty item: a batch route takes one JSON item per request");
    }
    if (body.size() > rules_->max_item_bytes) {
      return core::Response::text(413, "item of " + std::to_string(body.size()) +
                                           " bytes is larger than max_item_bytes (" +
                                           std::to_string(rules_->max_item_bytes) + ")");
    }
    if (std::string problem = check_item(body); !problem.empty()) {
      return core::Response::text(400, "invalid item: " + problem);
    }
    BatchItem item;
    item.json =
        rules_->payload.format == PayloadFormat::ndjson ? minify_item(body) : std::move(body);
    if (rules_->demux.mode == DemuxMode::id) {
      ItemId id = item_id(item.json, rules_->demux.id_field);
      if (!id.error.empty()) return core::Response::text(400, "invalid item: " + id.error);
      item.id = std::move(id.id);
    }
    return item;
  }

  static void mark(core::Response& response, const ItemResult& result,
                   std::chrono::steady_clock::time_point parked_at) {
    const auto waited = std::max<std::chrono::nanoseconds>(result.left_at - parked_at, {});
    response.headers.add(k_debug_header,
                         debug_header_value(result.batch_items, waited, result.upstream_time));
  }

  // nginx's 499: nobody reads it, but the access log and the metrics show why.
  core::Response client_gone() {
    counters_->count_item(ItemOutcomeKind::withdrawn);
    core::Response gone = core::Response::text(k_client_closed, "client closed request");
    gone.close_connection = true;
    return gone;
  }

  // Never 0: 0 means "no key" to the batcher.
  static std::uint64_t exclusive_key(const std::string& id) {
    const std::uint64_t hash = XXH3_64bits(id.data(), id.size());
    return hash == 0 ? 1 : hash;
  }

  core::Response answer(RouteBatcher::Outcome outcome,
                        std::chrono::steady_clock::time_point parked_at) {
    if (auto* result = std::get_if<ItemResult>(&outcome)) {
      const bool failed = result->element.failed;
      counters_->count_item(failed ? ItemOutcomeKind::item_failed : ItemOutcomeKind::ok);
      core::Response response;
      response.status = failed ? rules_->item_error_status : 200;
      response.headers.reserve(rules_->debug_header ? 2 : 1);  // one allocation per answer
      response.headers.add("Content-Type", "application/json");
      response.body = std::make_shared<const std::string>(std::move(result->element.body));
      if (rules_->debug_header) mark(response, *result, parked_at);
      return response;
    }
    const BatchFailure& failure = std::get<BatchFailure>(outcome);
    switch (failure.error) {
      case BatchError::shed: {
        counters_->count_item(ItemOutcomeKind::shed);
        core::Response shed = core::Response::text(503, "batch queue full; retry later");
        shed.headers.add("Retry-After", std::to_string(rules_->retry_after.count()));
        return shed;
      }
      case BatchError::withdrawn:
        return client_gone();
      case BatchError::too_large:
        counters_->count_item(ItemOutcomeKind::invalid);
        return core::Response::text(413, failure.message);
      case BatchError::call_failed:
        break;
    }
    counters_->count_item(ItemOutcomeKind::batch_failed);
    core::Response failed =
        core::Response::text(failure.code != 0 ? failure.code : 502, failure.message);
    if (failure.retry_after.count() > 0) {
      failed.headers.add("Retry-After", std::to_string(failure.retry_after.count()));
    }
    return failed;
  }

  Inner inner_;
  std::shared_ptr<RouteBatcher> batcher_;
  std::shared_ptr<const BatchRules> rules_;
  std::shared_ptr<BatchCounters> counters_;
  core::NowFunction now_;
  std::optional<RouteBatcher::Handle> handle_;  // made on the first call, on this worker
};

}  // namespace levee::layers::batch
