#include "bench/key_chooser.hpp"

#include <algorithm>
#include <cmath>

namespace levee::bench {

KeyChooser::KeyChooser(const KeySpace& keys, std::uint64_t seed)
    : distribution_(keys.distribution),
      count_(std::max<std::uint64_t>(1, keys.count)),
      random_(seed) {
  if (distribution_ != KeyDistribution::zipf) return;
  cumulative_.resize(count_);
  double total = 0;
  for (std::uint64_t i = 0; i < count_; ++i) {
    total += 1.0 / std::pow(static_cast<double>(i + 1), keys.zipf_exponent);
    cumulative_[i] = total;
  }
  for (double& value : cumulative_) value /= total;
}

std::uint64_t KeyChooser::next() {
  switch (distribution_) {
    case KeyDistribution::single:
      return 0;
    case KeyDistribution::uniform:
      return std::uniform_int_distribution<std::uint64_t>(0, count_ - 1)(random_);
    case KeyDistribution::zipf: {
      const double u = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
      const auto it = std::lower_bound(cumulative_.begin(), cumulative_.end(), u);
      return std::min<std::uint64_t>(static_cast<std::uint64_t>(it - cumulative_.begin()),
                                     count_ - 1);
    }
  }
  return 0;
}

}  // namespace levee::bench
