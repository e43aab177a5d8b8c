#include "bench/runner.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <optional>
#include <string_view>

#include "bench/batch_timing.hpp"
#include "bench/key_chooser.hpp"
#include "bench/request_builder.hpp"
#include "bench/response_reader.hpp"
#include "bench/schedule.hpp"
#include "bench/verifier.hpp"

namespace levee::bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

constexpr std::size_t k_read_chunk = 64 * 1024;
constexpr std::uint64_t k_header_limit = 64 * 1024;
constexpr std::uint64_t k_body_limit = 64 * 1024 * 1024;
constexpr std::size_t k_max_mismatch_examples = 5;
constexpr auto k_sweep_interval = std::chrono::milliseconds(20);
constexpr std::uint64_t k_max_parallel_connects = 64;
// File descriptors kept free for everything that is not a load connection.
constexpr std::uint64_t k_spare_descriptors = 32;

std::uint64_t as_ns(Clock::duration duration) {
  return static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<Nanos>(duration).count()));
}

double as_seconds(Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// Raises the soft descriptor limit to the hard one and says how many connections fit.
std::uint64_t connection_cap(std::uint64_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return wanted;
  const auto available = static_cast<std::uint64_t>(limit.rlim_cur);
  return std::max<std::uint64_t>(
      1, std::min(wanted, available > k_spare_descriptors ? available - k_spare_descriptors : 1));
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

struct Due {
  std::uint64_t seq;
  Clock::time_point scheduled;
};

struct Connection {
  explicit Connection(asio::io_context& io) : socket(io), wake(io) {}

  tcp::socket socket;
  asio::steady_timer wake;  // an idle connection waits on it; cancelling it is the wake-up
  boost::beast::flat_buffer buffer;
  std::string body;
  std::string header_value;  // the overhead header's, when the scenario names one
  PreparedRequest request;
  bool connected = false;
  bool ever_connected = false;  // its first connect is over (see Run::grow)
  bool timed_out = false;
  Clock::time_point deadline = Clock::time_point::max();
};

// How an exchange on a connection ended, before it is counted.
enum class Ending { answered, connect_failed, failed, failed_before_answer };

struct Attempt {
  Ending ending;
  int status = 0;           // when answered
  bool has_header = false;  // when answered: the overhead header was there (header_value)
};

}  // namespace

// The coroutines below take their Connection by reference: connections_ owns every
// connection (behind a unique_ptr, so its address is stable) until Run is destroyed, and Run
// is destroyed only after io_.run() has returned, that is after every coroutine has ended.
class Runner::Run {
 public:
  explicit Run(RunSettings settings)
      : settings_(std::move(settings)),
        scenario_(settings_.scenario),
        endpoint_(asio::ip::make_address(settings_.target.address), settings_.target.port),
        builder_(scenario_.request, settings_.target.authority),
        keys_(scenario_.keys, scenario_.seed),
        verifier_(scenario_.verify),
        schedule_(scenario_.phases, scenario_.seed ^ 0x9e3779b97f4a7c15ULL),
        dispatch_timer_(io_),
        sweep_timer_(io_),
        progress_timer_(io_),
        stop_timer_(io_),
        signals_(io_, SIGINT, SIGTERM) {
    result_.mode = scenario_.mode;
    result_.overhead_header = scenario_.overhead_header;
    const std::uint64_t wanted =
        scenario_.mode == LoopMode::open
            ? scenario_.limits.max_connections
            : std::min(scenario_.connections, scenario_.limits.max_connections);
    result_.connection_cap = connection_cap(wanted);
    head_request_ = scenario_.request.method == "HEAD";
  }

  RunResult run() {
    result_.started_at = utc_now();
    // A short lead so the first due requests do not start late because of set-up.
    start_ = Clock::now() + std::chrono::milliseconds(5);
    end_ = start_ + scenario_.limits.max_duration;

    // Every coroutine below is owned by io_, which run() drives to completion: finish()
    // closes every socket and cancels every timer, so each of them returns.
    signals_.async_wait([this](const error_code& ec, int) {
      if (!ec) stop_early();
    });
    stop_timer_.expires_at(end_);
    stop_timer_.async_wait([this](const error_code& ec) {
      if (!ec) stop_early();
    });
    asio::co_spawn(io_, sweep(), asio::detached);
    if (settings_.progress) asio::co_spawn(io_, progress(), asio::detached);

    if (scenario_.mode == LoopMode::open) {
      result_.nominal_seconds = as_seconds(
          std::min<Clock::duration>(schedule_.duration(), scenario_.limits.max_duration));
      asio::co_spawn(io_, dispatch(), asio::detached);
    } else {
      const Nanos length =
          scenario_.duration > Nanos{0} ? scenario_.duration : scenario_.limits.max_duration;
      closed_end_ = start_ + std::min(length, scenario_.limits.max_duration);
      result_.nominal_seconds = scenario_.duration > Nanos{0} ? as_seconds(length) : 0.0;
      for (std::uint64_t i = 0; i < result_.connection_cap; ++i) {
        ++opening_;
        asio::co_spawn(io_, closed_loop(new_connection()), asio::detached);
      }
    }
    io_.run();
    if (settings_.progress) std::fputs("\r\033[K", stdout);
    return std::move(result_);
  }

 private:
  Connection& new_connection() {
    connections_.push_back(std::make_unique<Connection>(io_));
    result_.connections_peak =
        std::max<std::uint64_t>(result_.connections_peak, connections_.size());
    return *connections_.back();
  }

  // ---- open loop ----

  asio::awaitable<void> dispatch() {
    std::uint64_t seq = 0;
    error_code ec;
    while (!stopping_) {
      const auto offset = schedule_.next();
      if (!offset) break;
      if (*offset >= scenario_.limits.max_duration ||
          result_.scheduled >= scenario_.limits.max_requests) {
        // The limits cut the schedule short: the rate scheduled is over the part that ran.
        result_.interrupted = true;
        result_.nominal_seconds = std::min(result_.nominal_seconds, as_seconds(*offset));
        break;
      }
      const Clock::time_point due = start_ + *offset;
      if (due > Clock::now()) {
        dispatch_timer_.expires_at(due);
        co_await dispatch_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_) co_return;
      }
      ++result_.scheduled;
      result_.dispatch_lag.record(as_ns(Clock::now() - due));
      enqueue(Due{seq++, due});
    }
    schedule_done_ = true;
    wake_all_idle();
    maybe_finish();
  }

  void enqueue(Due due) {
    if (queue_.size() >= scenario_.limits.max_queued) {
      count(ErrorKind::overflow);
      return;
    }
    queue_.push_back(due);
    if (!idle_.empty()) {
      Connection* connection = idle_.back();
      idle_.pop_back();
      connection->wake.cancel();
      return;
    }
    if (!grow()) ++result_.waited_for_connection;
  }

  // Opens connections for queued requests that no connection is about to serve, at most
  // k_max_parallel_connects at a time: without that bound a hiccup at a high rate turns
  // into a storm of connects that costs more than the requests themselves (and leaves
  // hundreds of idle connections behind). True when one was opened.
  bool grow() {
    bool opened = false;
    while (idle_.empty() && queue_.size() > opening_ && opening_ < k_max_parallel_connects &&
           connections_.size() < result_.connection_cap) {
      ++opening_;  // given back when the new connection's first connect completes
      asio::co_spawn(io_, serve_queue(new_connection()), asio::detached);
      opened = true;
    }
    return opened;
  }

  void wake_all_idle() {
    for (Connection* connection : idle_) connection->wake.cancel();
    idle_.clear();
  }

  // NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): see Run.
  asio::awaitable<void> serve_queue(Connection& connection) {
    error_code ec;
    for (;;) {
      while (queue_.empty()) {
        if (schedule_done_ || stopping_) {
          if (!connection.ever_connected) --opening_;  // it never got to connect
          co_return;
        }
        idle_.push_back(&connection);
        connection.wake.expires_at(Clock::time_point::max());
        co_await connection.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (stopping_) co_return;
      const Due due = queue_.front();
      queue_.pop_front();
      if (Clock::now() - due.scheduled > scenario_.limits.timeout) {
        // Never sent: it waited for a connection longer than the timeout.
        count(ErrorKind::timeout);
        continue;
      }
      co_await exchange(connection, due);
      maybe_finish();
    }
  }

  void maybe_finish() {
    if (schedule_done_ && queue_.empty() && in_flight_ == 0) finish();
  }

  // ---- closed loop ----

  // NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): see Run.
  asio::awaitable<void> closed_loop(Connection& connection) {
    while (!stopping_ && Clock::now() < closed_end_ &&
           result_.scheduled < scenario_.limits.max_requests) {
      ++result_.scheduled;
      co_await exchange(connection, Due{next_seq_++, Clock::now()});
    }
    if (++closed_loops_done_ == result_.connection_cap) {
      schedule_done_ = true;
      finish();
    }
  }

  // ---- one request on one connection ----

  // NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): see Run.
  asio::awaitable<void> exchange(Connection& connection, Due due) {
    ++in_flight_;
    builder_.build(due.seq, keys_.next(), connection.request);
    const Clock::time_point sent_at = Clock::now();
    if (scenario_.mode == LoopMode::open) result_.send_lag.record(as_ns(sent_at - due.scheduled));
    connection.deadline = sent_at + scenario_.limits.timeout;
    connection.timed_out = false;
    ++result_.sent;

    Attempt attempt{Ending::failed};
    // A reused keep-alive connection the server has just closed fails before any byte of the
    // answer arrives; that request is sent once more on a fresh connection, as browsers do.
    for (int tries = 0; tries < 2; ++tries) {
      const bool reused = connection.connected;
      attempt = co_await attempt_exchange(connection);
      if (attempt.ending != Ending::failed_before_answer || !reused || connection.timed_out ||
          stopping_) {
        break;
      }
    }
    const Ending ending = attempt.ending;
    connection.deadline = Clock::time_point::max();
    --in_flight_;

    if (stopping_ && ending != Ending::answered) {
      count(ErrorKind::cut);
    } else if (connection.timed_out) {
      count(ErrorKind::timeout);
    } else if (ending == Ending::connect_failed) {
      count(ErrorKind::connect);
    } else if (ending != Ending::answered) {
      count(ErrorKind::io);
    } else {
      record_answer(connection, due, sent_at, attempt);
    }
  }

  // NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): see Run.
  asio::awaitable<Attempt> attempt_exchange(Connection& connection) {
    error_code ec;
    if (!connection.connected) {
      connection.buffer.clear();
      if (connection.ever_connected) ++opening_;  // a new one is counted when it is made
      co_await connection.socket.async_connect(endpoint_,
                                               asio::redirect_error(asio::use_awaitable, ec));
      --opening_;
      connection.ever_connected = true;
      if (scenario_.mode == LoopMode::open) grow();
      if (ec) {
        close(connection);
        co_return Attempt{Ending::connect_failed};
      }
      connection.connected = true;
      ++result_.connections_opened;
      connection.socket.set_option(tcp::no_delay(true), ec);
    }
    co_await asio::async_write(connection.socket, asio::buffer(connection.request.wire),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      close(connection);
      co_return Attempt{Ending::failed_before_answer};
    }

    connection.body.clear();
    ResponseReader reader(connection.body, scenario_.overhead_header, connection.header_value);
    reader.header_limit(k_header_limit);
    reader.body_limit(k_body_limit);
    reader.eager(true);
    if (head_request_) reader.skip(true);
    bool received = false;
    for (;;) {
      if (connection.buffer.size() != 0) {
        const std::size_t used = reader.put(connection.buffer.data(), ec);
        connection.buffer.consume(used);
        if (ec == http::error::need_more) ec = {};
        if (ec) {
          close(connection);
          co_return Attempt{Ending::failed};
        }
        if (reader.is_done()) break;
        if (used != 0 && connection.buffer.size() != 0) continue;
      }
      const std::size_t bytes = co_await connection.socket.async_read_some(
          connection.buffer.prepare(k_read_chunk), asio::redirect_error(asio::use_awaitable, ec));
      connection.buffer.commit(bytes);
      if (bytes != 0) received = true;
      if (ec == asio::error::eof && reader.got_some() && reader.need_eof()) {
        reader.put_eof(ec);
        if (!ec && reader.is_done()) {
          connection.connected = false;
          break;
        }
      }
      if (ec) {
        close(connection);
        co_return received ? Ending::failed : Ending::failed_before_answer;
      }
    }
    if (!reader.keep_alive() || connection.buffer.size() != 0) close(connection);
    co_return Attempt{Ending::answered, reader.status(), reader.has_header()};
  }

  void record_answer(Connection& connection, const Due& due, Clock::time_point sent_at,
                     const Attempt& attempt) {
    const int status = attempt.status;
    const Clock::time_point now = Clock::now();
    ++result_.completed;
    last_answer_ = now;
    const Clock::time_point from = scenario_.mode == LoopMode::open ? due.scheduled : sent_at;
    const std::uint64_t latency = as_ns(now - from);
    const std::uint64_t service = as_ns(now - sent_at);
    if (!scenario_.overhead_header.empty() && status >= 200 && status <= 299) {
      record_overhead(latency, attempt.has_header, connection.header_value);
    }
    VerifyResult verdict = verifier_.check(connection.request.expect, status, connection.body);
    switch (verdict.verdict) {
      case Verdict::ok:
        ++result_.ok;
        result_.latency.record(latency);
        result_.service_latency.record(service);
        break;
      case Verdict::bad_status:
        count(ErrorKind::status);
        ++result_.statuses[status];
        record_error_latency(latency, service);
        break;
      case Verdict::mismatch:
        count(ErrorKind::mismatch);
        record_error_latency(latency, service);
        if (result_.mismatch_examples.size() < k_max_mismatch_examples) {
          result_.mismatch_examples.push_back(
              fmt::format("request #{} ({}{}{}): {}", due.seq, connection.request.expect.path,
                          connection.request.expect.query.empty() ? "" : "?",
                          connection.request.expect.query, verdict.detail));
        }
        break;
    }
  }

  void record_error_latency(std::uint64_t latency, std::uint64_t service) {
    result_.error_latency.record(latency);
    result_.error_service_latency.record(service);
  }

  void record_overhead(std::uint64_t latency, bool has_header, std::string_view value) {
    const std::optional<BatchTiming> timing = has_header ? parse_batch_timing(value) : std::nullopt;
    if (!timing) {
      ++result_.overhead_missing;
      return;
    }
    const Nanos overhead = batch_overhead(Nanos(static_cast<Nanos::rep>(latency)), *timing);
    result_.overhead.record(static_cast<std::uint64_t>(overhead.count()));
  }

  void count(ErrorKind kind) { ++result_.errors[static_cast<std::size_t>(kind)]; }

  static void close(Connection& connection) {
    error_code ignored;
    connection.socket.close(ignored);
    connection.connected = false;
    connection.buffer.clear();
  }

  // ---- time keeping ----

  asio::awaitable<void> sweep() {
    error_code ec;
    while (!stopping_) {
      sweep_timer_.expires_after(k_sweep_interval);
      co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      const Clock::time_point now = Clock::now();
      for (const auto& connection : connections_) {
        if (connection->deadline < now && !connection->timed_out) {
          connection->timed_out = true;
          close(*connection);  // the pending read or write ends with operation_aborted
        }
      }
    }
  }

  asio::awaitable<void> progress() {
    error_code ec;
    std::uint64_t last_completed = 0;
    while (!stopping_) {
      progress_timer_.expires_after(std::chrono::seconds(1));
      co_await progress_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_) break;
      const double p99_ms = static_cast<double>(result_.latency.percentile(0.99)) / 1e6;
      std::fprintf(stdout,
                   "\r\033[K[%5.0fs] sent %llu  answered %llu (%llu/s)  errors %llu  "
                   "mismatches %llu  in flight %llu  connections %zu  p99 %.2f ms",
                   as_seconds(Clock::now() - start_), static_cast<unsigned long long>(result_.sent),
                   static_cast<unsigned long long>(result_.completed),
                   static_cast<unsigned long long>(result_.completed - last_completed),
                   static_cast<unsigned long long>(result_.error_count()),
                   static_cast<unsigned long long>(result_.error(ErrorKind::mismatch)),
                   static_cast<unsigned long long>(in_flight_), connections_.size(), p99_ms);
      std::fflush(stdout);
      last_completed = result_.completed;
    }
  }

  void stop_early() {
    if (finished_) return;
    result_.interrupted = true;
    // Due requests that never left are cut; in-flight ones are counted by their exchange.
    result_.errors[static_cast<std::size_t>(ErrorKind::cut)] += queue_.size();
    queue_.clear();
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    stopping_ = true;
    const Clock::time_point now = Clock::now();
    result_.elapsed_seconds =
        as_seconds((result_.interrupted || result_.completed == 0 ? now : last_answer_) - start_);
    // A run stopped early scheduled requests only until then.
    if (result_.interrupted) {
      result_.nominal_seconds = std::min(result_.nominal_seconds, result_.elapsed_seconds);
    }
    error_code ignored;
    dispatch_timer_.cancel();
    sweep_timer_.cancel();
    progress_timer_.cancel();
    stop_timer_.cancel();
    signals_.cancel(ignored);
    wake_all_idle();
    for (const auto& connection : connections_) {
      connection->wake.cancel();
      close(*connection);
    }
  }

  RunSettings settings_;
  const Scenario& scenario_;
  tcp::endpoint endpoint_;
  RequestBuilder builder_;
  KeyChooser keys_;
  Verifier verifier_;
  Schedule schedule_;
  bool head_request_ = false;

  asio::io_context io_{1};
  asio::steady_timer dispatch_timer_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer progress_timer_;
  asio::steady_timer stop_timer_;
  asio::signal_set signals_;

  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Due> queue_;
  std::uint64_t in_flight_ = 0;
  std::uint64_t opening_ = 0;  // connections whose connect is under way or about to start
  std::uint64_t next_seq_ = 0;
  std::uint64_t closed_loops_done_ = 0;
  bool schedule_done_ = false;
  bool stopping_ = false;
  bool finished_ = false;

  Clock::time_point start_;
  Clock::time_point end_;
  Clock::time_point closed_end_;
  Clock::time_point last_answer_;
  RunResult result_;
};

Runner::Runner(RunSettings settings) : run_(std::make_unique<Run>(std::move(settings))) {}
Runner::~Runner() = default;

RunResult Runner::run() { return run_->run(); }

}  // namespace levee::bench
