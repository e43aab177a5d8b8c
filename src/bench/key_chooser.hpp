#pragma once
// Picks the key of each request: always the same one, uniform over K keys, or Zipf(s) over
// K keys (key 0 the hottest), from a seeded generator so a run is reproducible.
// Single-threaded.

#include <cstdint>
#include <random>
#include <vector>

#include "bench/scenario.hpp"

namespace levee::bench {

class KeyChooser {
 public:
  KeyChooser(const KeySpace& keys, std::uint64_t seed);

  [[nodiscard]] std::uint64_t next();

 private:
  KeyDistribution distribution_;
  std::uint64_t count_;
  std::vector<double> cumulative_;  // Zipf: P(key <= i), built once
  std::mt19937_64 random_;
};

}  // namespace levee::bench
