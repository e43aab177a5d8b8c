// levee-kafka-capture: a Kafka topic on 127.0.0.1 with nothing installed, consumed back into
// JSON lines. It starts librdkafka's in-process mock cluster (<librdkafka/rdkafka_mock.h>, the
// real Kafka protocol on an ephemeral loopback port), creates the topic, and appends the value
// of every message produced to it, from the first, as one line of --out (written as it comes,
// flushed after each poll). Point levee's Kafka sink at the printed bootstrap address and the
// file holds what its JSONL sink would have written (bench/learn_loop.sh; tests/integration/
// kafka_capture_test.cpp).
//
//   levee-kafka-capture --out FILE [--topic T] [--partitions N] [--max-seconds S]
//                       [--max-messages N]
//
// Prints one line to stdout once the topic exists and is being consumed:
//   levee-kafka-capture ready bootstrap=127.0.0.1:PORT topic=T partitions=N
// and one when it stops:
//   levee-kafka-capture done messages=N errors=E reason=signal|max-seconds|max-messages
// Stops on SIGTERM/SIGINT, after --max-seconds, or once --max-messages were written; what the
// consumer has already fetched is written first. Exit status: 0 stopped, 1 could not start
// (the cluster, the topic or the output file), 2 bad arguments. The messages are gone when it
// exits: the mock cluster lives in this process.
//
// Values are written as they are: a value with a line break in it spans several lines (levee's
// flush events never hold one). Several partitions are consumed in no defined order between
// them; each partition's messages stay in order.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "telemetry/kafka_handle.hpp"

namespace {

using namespace std::chrono_literals;

using levee::telemetry::KafkaHandle;
using levee::telemetry::make_kafka_handle;

struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* cluster) const {
    rd_kafka_mock_cluster_destroy(cluster);
  }
};
using MockCluster = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

enum class StopReason { none, signal, max_seconds, max_messages };

const char* name(StopReason reason) {
  switch (reason) {
    case StopReason::signal:
      return "signal";
    case StopReason::max_seconds:
      return "max-seconds";
    case StopReason::max_messages:
      return "max-messages";
    case StopReason::none:
      break;
  }
  return "none";
}

struct Options {
  std::string out;
  std::string topic = "levee-flush-events";  // levee's default telemetry.topic
  int partitions = 1;
  double max_seconds = 600;
  std::uint64_t max_messages = 0;  // 0 = no limit
};

class Capture {
 public:
  explicit Capture(const Options& options) : options_(options) {
    out_.reset(std::fopen(options_.out.c_str(), "ab"));
    if (out_ == nullptr) {
      throw std::runtime_error("cannot open " + options_.out +
                               " for appending: " + std::strerror(errno));
    }
    // The cluster's brokers run on this handle's threads; it never produces anything itself.
    host_ = make_kafka_handle(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
    cluster_.reset(rd_kafka_mock_cluster_new(host_.get(), 1));
    if (cluster_ == nullptr) throw std::runtime_error("cannot start the mock cluster");
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_.get());
    const rd_kafka_resp_err_t created =
        rd_kafka_mock_topic_create(cluster_.get(), options_.topic.c_str(), options_.partitions, 1);
    if (created != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error("cannot create topic " + options_.topic + ": " +
                               rd_kafka_err2str(created));
    }
    // Assigned, not subscribed: no group rebalance to wait for, and every partition is read
    // from its first offset, so nothing produced before the consumer's first fetch is missed.
    consumer_ = make_kafka_handle(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap_},
                                                      {"group.id", "levee-kafka-capture"},
                                                      {"enable.auto.commit", "false"},
                                                      {"auto.offset.reset", "earliest"},
                                                      {"log_level", "3"}});
    rd_kafka_poll_set_consumer(consumer_.get());
    rd_kafka_topic_partition_list_t* partitions =
        rd_kafka_topic_partition_list_new(options_.partitions);
    for (int p = 0; p < options_.partitions; ++p) {
      rd_kafka_topic_partition_list_add(partitions, options_.topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    const rd_kafka_resp_err_t assigned = rd_kafka_assign(consumer_.get(), partitions);
    rd_kafka_topic_partition_list_destroy(partitions);
    if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(std::string("cannot assign the topic's partitions: ") +
                               rd_kafka_err2str(assigned));
    }
  }

  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  ~Capture() {
    // Consumer first: it is a client of the cluster, which lives on host_'s threads.
    if (consumer_ != nullptr) rd_kafka_consumer_close(consumer_.get());
    consumer_.reset();
    cluster_.reset();
    host_.reset();
  }

  [[nodiscard]] const std::string& bootstrap() const noexcept { return bootstrap_; }
  [[nodiscard]] std::uint64_t messages() const noexcept { return messages_; }
  [[nodiscard]] std::uint64_t errors() const noexcept { return errors_; }
  [[nodiscard]] bool full() const noexcept {
    return options_.max_messages != 0 && messages_ >= options_.max_messages;
  }

  // Waits up to `wait` for a message, then takes what else is already fetched without
  // waiting (at most a bounded number), writes it all and flushes the file. Returns the
  // number of messages written.
  std::uint64_t poll(std::chrono::milliseconds wait) {
    constexpr int k_max_per_poll = 10'000;
    std::uint64_t written = 0;
    int timeout_ms = static_cast<int>(wait.count());
    for (int taken = 0; taken < k_max_per_poll && !full(); ++taken) {
      Message message(rd_kafka_consumer_poll(consumer_.get(), timeout_ms));
      if (message == nullptr) break;
      timeout_ms = 0;
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++errors_;
        std::fprintf(stderr, "levee-kafka-capture: %s\n", rd_kafka_message_errstr(message.get()));
        continue;
      }
      // An empty value may come with a null payload.
      if (message->len > 0) std::fwrite(message->payload, 1, message->len, out_.get());
      std::fputc('\n', out_.get());
      ++messages_;
      ++written;
    }
    if (std::fflush(out_.get()) != 0) {
      throw std::runtime_error("cannot write " + options_.out + ": " + std::strerror(errno));
    }
    return written;
  }

 private:
  const Options& options_;
  File out_;
  KafkaHandle host_;
  MockCluster cluster_;
  std::string bootstrap_;
  KafkaHandle consumer_;
  std::uint64_t messages_ = 0;
  std::uint64_t errors_ = 0;
};

// A stop signal that has arrived, taken without waiting (they are blocked in every thread).
bool stop_signal_pending(const sigset_t& signals) {
  const timespec no_wait{};
  return sigtimedwait(&signals, nullptr, &no_wait) > 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "levee-kafka-capture: a Kafka mock cluster on 127.0.0.1 whose topic is "
      "appended to a file, one message a line"};
  Options options;
  app.add_option("--out", options.out, "file the messages are appended to")->required();
  app.add_option("--topic", options.topic, "topic to create and consume")->capture_default_str();
  app.add_option("--partitions", options.partitions, "partitions of the topic")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-seconds", options.max_seconds, "stop by itself after this long")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  app.add_option("--max-messages", options.max_messages,
                 "stop once this many messages are written (0 = no limit)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a ParseError too
  }
  if (options.topic.empty()) {
    std::fprintf(stderr, "levee-kafka-capture: --topic must not be empty\n");
    return 2;
  }

  // Blocked before librdkafka starts any thread, so that every thread inherits the mask and
  // the signals stay pending for stop_signal_pending().
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    Capture capture(options);
    std::printf("levee-kafka-capture ready bootstrap=%s topic=%s partitions=%d\n",
                capture.bootstrap().c_str(), options.topic.c_str(), options.partitions);
    std::fflush(stdout);

    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(options.max_seconds));
    StopReason reason = StopReason::none;
    while (reason == StopReason::none) {
      capture.poll(100ms);
      if (capture.full()) {
        reason = StopReason::max_messages;
      } else if (stop_signal_pending(stop_signals)) {
        reason = StopReason::signal;
      } else if (std::chrono::steady_clock::now() >= deadline) {
        reason = StopReason::max_seconds;
      }
    }
    // What the consumer fetched before the stop is written too; the loop ends because each
    // round takes only messages already there, and at most a bounded number of rounds.
    for (int round = 0; round < 100 && !capture.full(); ++round) {
      if (capture.poll(0ms) == 0) break;
    }
    std::printf("levee-kafka-capture done messages=%llu errors=%llu reason=%s\n",
                static_cast<unsigned long long>(capture.messages()),
                static_cast<unsigned long long>(capture.errors()), name(reason));
    std::fflush(stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "levee-kafka-capture: %s\n", e.what());
    return 1;
  }
  return 0;
}
