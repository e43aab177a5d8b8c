#pragma once
// The /metrics registry: named metric families with labels, rendered in the Prometheus text
// format 0.0.4.
//
// Lifecycle: families and their children are created at start-up (registration and
// Family::with may throw std::invalid_argument — bad name, duplicate family, wrong label
// count) and the caller keeps the returned references; the data path then only touches
// Counter/Gauge/Histogram (metrics.hpp), never the registry.
//
// Thread-safety:
//  - Registration, Family::with and render() may be called from any thread concurrently.
//    Registration and render() take the registry mutex; with() and render() take the family
//    mutex (always registry before family). None of them is meant for the hot path.
//  - Every returned reference (family or child) is stable and valid until the Registry is
//    destroyed; nothing is ever removed.
//  - gauge_callback and counter_callback functions run inside render(), on the scraping thread,
//  with those
//    mutexes held: they must be thread-safe, must not throw, and must not call back into the
//    registry (that would deadlock).
//
// Naming rules enforced at registration (promtool's lint agrees with them):
//  - metric names match [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]* and
//    do not start with "__"; no label repeats; "le" and "quantile" are reserved;
//  - counter names end in "_total" (the full name, suffix included, is the family name in
//    # HELP/# TYPE, as 0.0.4 clients do) and nothing else does;
//  - no two families produce the same sample name (a histogram "x" owns x, x_bucket, x_sum
//    and x_count).
//
// Output order: families in registration order, children in creation order; a family with
// no children still prints its HELP and TYPE lines.

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "admin/metrics.hpp"

namespace levee::admin {

enum class MetricType { counter, gauge, histogram };

[[nodiscard]] std::string_view to_string(MetricType type) noexcept;

// What every family shares: identity, label names and the lock over its children.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& help() const noexcept { return help_; }
  [[nodiscard]] MetricType type() const noexcept { return type_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const noexcept {
    return label_names_;
  }

  // Appends # HELP, # TYPE and every child's samples.
  void render(std::string& out) const;

 protected:
  // Called by render() with mutex_ held.
  virtual void render_samples(std::string& out) const = 0;
  // Copies the values into a key; throws std::invalid_argument unless there is one value per
  // label name.
  [[nodiscard]] std::vector<std::string> make_key(std::span<const std::string_view> values) const;

  mutable std::mutex mutex_;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// A family of one metric type; each distinct list of label values is one child.
template <class Metric>
class Family final : public FamilyBase {
 public:
  using MakeChild = std::function<std::unique_ptr<Metric>()>;

  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         MakeChild make_child);

  // The child for these label values (in label-name order), created on first use. Takes the
  // family mutex: look children up once at start-up and keep the reference.
  [[nodiscard]] Metric& with(std::span<const std::string_view> label_values);
  [[nodiscard]] Metric& with(std::initializer_list<std::string_view> label_values) {
    return with(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }

 private:
  void render_samples(std::string& out) const override;

  struct Child {
    std::vector<std::string> label_values;
    std::unique_ptr<Metric> metric;
  };

  MakeChild make_child_;
  std::vector<Child> children_;  // creation order, for render()
  std::map<std::vector<std::string>, Metric*> index_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One name="value" pair of a callback gauge.
struct Label {
  std::string name;
  std::string value;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& counter_family(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {});
  GaugeFamily& gauge_family(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {});
  HistogramFamily& histogram_family(
      std::string_view name, std::string_view help, std::vector<std::string> label_names = {},
      std::span<const double> upper_bounds = default_latency_buckets());

  // As above, but a family already registered under `name` with the same type, help and label
  // names is returned instead of refused: for code that runs again on a configuration reload.
  CounterFamily& ensure_counter_family(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names = {});
  GaugeFamily& ensure_gauge_family(std::string_view name, std::string_view help,
                                   std::vector<std::string> label_names = {});
  HistogramFamily& ensure_histogram_family(
      std::string_view name, std::string_view help, std::vector<std::string> label_names = {},
      std::span<const double> upper_bounds = default_latency_buckets());

  // Shorthands for a family without labels and its only child.
  Counter& counter(std::string_view name, std::string_view help);
  Gauge& gauge(std::string_view name, std::string_view help);
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::span<const double> upper_bounds = default_latency_buckets());

  // A gauge sample whose value `read` computes at scrape time (uptime, pool sizes). Calling
  // it again with the same name adds another child to that family, provided help and label
  // names match and the label values differ; anything else is a duplicate and throws.
  void gauge_callback(std::string_view name, std::string_view help,
                      const std::vector<Label>& labels, std::function<double()> read);
  // As gauge_callback, but a child with these label values has its `read` replaced rather than
  // refused: a reloaded route's gauge then reads the route's new state.
  void replace_gauge_callback(std::string_view name, std::string_view help,
                              const std::vector<Label>& labels, std::function<double()> read);
  // The same for a counter whose total lives elsewhere (atomics of another component): `read`
  // must never decrease. The name ends in "_total", as for every counter.
  void counter_callback(std::string_view name, std::string_view help,
                        const std::vector<Label>& labels, std::function<double()> read);
  // As counter_callback, replacing the read of a child with these label values (a reloaded
  // component's counter). A new component starts from zero: Prometheus reads a counter reset.
  void replace_counter_callback(std::string_view name, std::string_view help,
                                const std::vector<Label>& labels, std::function<double()> read);

  // The whole registry in text format 0.0.4 (Content-Type: k_exposition_content_type).
  [[nodiscard]] std::string render() const;

 private:
  // Validates and records the family under registry_mutex_ (held by the caller).
  void check_new_family(std::string_view name, MetricType type,
                        const std::vector<std::string>& label_names);
  void add_callback(std::string_view name, std::string_view help, MetricType type,
                    const std::vector<Label>& labels, std::function<double()> read,
                    bool replace = false);
  template <class Metric>
  Family<Metric>* find_family(std::string_view name, std::string_view help, MetricType type,
                              const std::vector<std::string>& label_names);
  template <class Metric>
  Family<Metric>& add_family(std::string_view name, std::string_view help, MetricType type,
                             std::vector<std::string> label_names,
                             typename Family<Metric>::MakeChild make_child);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;        // registration order
  std::map<std::string, FamilyBase*, std::less<>> by_name_;  // family names
  std::set<std::string, std::less<>> sample_names_;          // every name a sample may carry
  mutable std::size_t last_render_size_ = 0;                 // guarded by mutex_; a reserve hint
};

}  // namespace levee::admin
