#pragma once
// The bounded queue between the request path and the telemetry thread: any number of threads
// push, one thread (FlushTelemetry's) pops. Neither side ever blocks or allocates: a push into
// a full queue fails at once and the caller counts the event as dropped.
//
// Algorithm: Dmitry Vyukov's bounded MPMC array queue ("Bounded MPMC queue", 1024cores.net),
// used here with a single consumer. A power-of-two ring of cells, each with a sequence number
// that says whose turn the cell is: `pos` when free for the producer that claims ticket `pos`,
// `pos + 1` when it holds that producer's value, `pos + capacity` once the consumer has emptied
// it for the next lap. Producers claim tickets with a CAS on enqueue_pos_; the cell's sequence,
// stored with release and loaded with acquire, hands the value from producer to consumer.
//
// Progress: a producer that is preempted between claiming its cell and publishing it holds up
// the consumer at that cell (try_pop() returns nullopt until it is published); other producers
// keep going until the ring is full. For telemetry that only delays a drain by a time slice.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

#include "telemetry/flush_event.hpp"

namespace levee::telemetry {

class EventQueue {
 public:
  // `capacity` is rounded up to a power of two (at least 2). Throws std::invalid_argument for
  // 0 or a capacity beyond 2^30 (start-up only).
  explicit EventQueue(std::size_t capacity)
      : mask_(rounded_capacity(capacity) - 1), cells_(new Cell[mask_ + 1]) {
    for (std::size_t i = 0; i <= mask_; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }

  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  // Any thread. On success the event is moved from; on failure (full) it is left untouched.
  [[nodiscard]] bool try_push(FlushEvent&& event) noexcept {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    Cell* cell = nullptr;
    for (;;) {
      cell = &cells_[pos & mask_];
      const std::size_t seq = cell->sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return false;  // the cell still holds the value from one lap ago: full
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);  // another producer took it
      }
    }
    cell->value = std::move(event);
    cell->sequence.store(pos + 1, std::memory_order_release);
    return true;
  }

  // The consumer thread only (the algorithm allows several; FlushTelemetry has one).
  [[nodiscard]] std::optional<FlushEvent> try_pop() noexcept {
    std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Cell* cell = nullptr;
    for (;;) {
      cell = &cells_[pos & mask_];
      const std::size_t seq = cell->sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return std::nullopt;  // empty, or the next cell's producer has not published yet
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
    std::optional<FlushEvent> out(std::move(cell->value));
    // Release the cell's heap memory now rather than a lap later.
    cell->value = FlushEvent{};
    cell->sequence.store(pos + mask_ + 1, std::memory_order_release);
    return out;
  }

 private:
  // Keeps each hot index on its own cache line (no false sharing between the two sides).
  static constexpr std::size_t k_cache_line = 64;

  struct Cell {
    std::atomic<std::size_t> sequence{0};
    FlushEvent value;
  };

  static std::size_t rounded_capacity(std::size_t requested) {
    if (requested == 0 || requested > (std::size_t{1} << 30)) {
      throw std::invalid_argument("telemetry queue capacity must be in [1, 2^30]");
    }
    return std::bit_ceil(requested < 2 ? std::size_t{2} : requested);
  }

  const std::size_t mask_;
  const std::unique_ptr<Cell[]> cells_;
  alignas(k_cache_line) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(k_cache_line) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace levee::telemetry
