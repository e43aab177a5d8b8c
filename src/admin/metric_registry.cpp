#include "admin/metric_registry.hpp"

#include <stdexcept>
#include <utility>

#include "admin/exposition.hpp"

namespace levee::admin {

namespace {

[[noreturn]] void reject(std::string_view name, std::string_view why) {
  throw std::invalid_argument("metric '" + std::string(name) + "': " + std::string(why));
}

void check_label_names(std::string_view metric, const std::vector<std::string>& label_names) {
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    if (!is_valid_label_name(label)) reject(metric, "invalid label name '" + label + "'");
    // "le" would clash with a histogram's bucket label, and promtool flags both names on any
    // family that is not a histogram or summary; neither is ever what we mean.
    if (label == "le" || label == "quantile") reject(metric, "label '" + label + "' is reserved");
    if (!seen.insert(label).second) reject(metric, "label '" + label + "' repeats");
  }
}

// The sample names a family emits; two families must not share any.
std::vector<std::string> sample_names_of(std::string_view name, MetricType type) {
  std::vector<std::string> names{std::string(name)};
  if (type == MetricType::histogram) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      names.push_back(std::string(name) + std::string(suffix));
    }
  }
  return names;
}

void render_child(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, const Counter& counter) {
  out += name;
  append_labels(out, label_names, label_values);
  out += ' ';
  append_uint(out, counter.value());
  out += '\n';
}

void render_child(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, const Gauge& gauge) {
  out += name;
  append_labels(out, label_names, label_values);
  out += ' ';
  append_int(out, gauge.value());
  out += '\n';
}

void render_child(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, const Histogram& histogram) {
  const HistogramSnapshot snap = histogram.snapshot();
  std::string le;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < snap.counts.size(); ++i) {
    cumulative += snap.counts[i];
    le.clear();
    if (i < snap.upper_bounds.size()) {
      append_double(le, snap.upper_bounds[i]);
    } else {
      le = "+Inf";
    }
    out += name;
    out += "_bucket";
    append_labels(out, label_names, label_values, "le", le);
    out += ' ';
    append_uint(out, cumulative);
    out += '\n';
  }
  out += name;
  out += "_sum";
  append_labels(out, label_names, label_values);
  out += ' ';
  append_double(out, snap.sum);
  out += '\n';
  out += name;
  out += "_count";
  append_labels(out, label_names, label_values);
  out += ' ';
  append_uint(out, snap.count);
  out += '\n';
}

// A gauge or counter computed at scrape time; its children are added by repeated
// gauge_callback or counter_callback calls.
class CallbackFamily final : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;

  void add(std::span<const std::string_view> label_values, std::function<double()> read,
           bool replace) {
    std::vector<std::string> key = make_key(label_values);
    const std::scoped_lock lock(mutex_);
    for (Child& child : children_) {
      if (child.label_values != key) continue;
      if (!replace) reject(name(), "callback with these label values exists");
      child.read = std::move(read);
      return;
    }
    children_.push_back(Child{std::move(key), std::move(read)});
  }

 private:
  void render_samples(std::string& out) const override {
    for (const Child& child : children_) {
      out += name();
      append_labels(out, label_names(), child.label_values);
      out += ' ';
      append_double(out, child.read());
      out += '\n';
    }
  }

  struct Child {
    std::vector<std::string> label_values;
    std::function<double()> read;
  };
  std::vector<Child> children_;
};

}  // namespace

std::string_view to_string(MetricType type) noexcept {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

FamilyBase::~FamilyBase() = default;

void FamilyBase::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_help_escaped(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += to_string(type_);
  out += '\n';
  const std::scoped_lock lock(mutex_);
  render_samples(out);
}

std::vector<std::string> FamilyBase::make_key(std::span<const std::string_view> values) const {
  if (values.size() != label_names_.size()) {
    reject(name_, "expected " + std::to_string(label_names_.size()) + " label values, got " +
                      std::to_string(values.size()));
  }
  return {values.begin(), values.end()};
}

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names, MakeChild make_child)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      make_child_(std::move(make_child)) {}

template <class Metric>
Metric& Family<Metric>::with(std::span<const std::string_view> label_values) {
  std::vector<std::string> key = make_key(label_values);
  const std::scoped_lock lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) return *it->second;
  std::unique_ptr<Metric> metric = make_child_();
  Metric& ref = *metric;
  index_.emplace(key, &ref);
  children_.push_back(Child{std::move(key), std::move(metric)});
  return ref;
}

template <class Metric>
void Family<Metric>::render_samples(std::string& out) const {
  for (const Child& child : children_) {
    render_child(out, name(), label_names(), child.label_values, *child.metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::check_new_family(std::string_view name, MetricType type,
                                const std::vector<std::string>& label_names) {
  if (!is_valid_metric_name(name)) reject(name, "invalid metric name");
  const bool total = name.ends_with("_total");
  if (type == MetricType::counter && (!total || name == "_total")) {
    reject(name, "counter names must end in _total");
  }
  if (type != MetricType::counter && total) reject(name, "only counter names end in _total");
  check_label_names(name, label_names);
  if (by_name_.contains(name)) reject(name, "a family of that name is already registered");
  const std::vector<std::string> samples = sample_names_of(name, type);
  for (const std::string& sample : samples) {
    if (sample_names_.contains(sample)) {
      reject(name, "sample name '" + sample + "' clashes with another family");
    }
  }
  sample_names_.insert(samples.begin(), samples.end());
}

template <class Metric>
Family<Metric>& Registry::add_family(std::string_view name, std::string_view help, MetricType type,
                                     std::vector<std::string> label_names,
                                     typename Family<Metric>::MakeChild make_child) {
  const std::scoped_lock lock(mutex_);
  check_new_family(name, type, label_names);
  auto family = std::make_unique<Family<Metric>>(std::string(name), std::string(help), type,
                                                 std::move(label_names), std::move(make_child));
  Family<Metric>& ref = *family;
  by_name_.emplace(std::string(name), family.get());
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& Registry::counter_family(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names) {
  return add_family<Counter>(name, help, MetricType::counter, std::move(label_names),
                             [] { return std::make_unique<Counter>(); });
}

GaugeFamily& Registry::gauge_family(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  return add_family<Gauge>(name, help, MetricType::gauge, std::move(label_names),
                           [] { return std::make_unique<Gauge>(); });
}

HistogramFamily& Registry::histogram_family(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names,
                                            std::span<const double> upper_bounds) {
  Histogram::check_bounds(upper_bounds);
  return add_family<Histogram>(
      name, help, MetricType::histogram, std::move(label_names),
      [bounds = std::vector<double>(upper_bounds.begin(), upper_bounds.end())] {
        return std::make_unique<Histogram>(bounds);
      });
}

Counter& Registry::counter(std::string_view name, std::string_view help) {
  return counter_family(name, help).with({});
}

Gauge& Registry::gauge(std::string_view name, std::string_view help) {
  return gauge_family(name, help).with({});
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::span<const double> upper_bounds) {
  return histogram_family(name, help, {}, upper_bounds).with({});
}

void Registry::gauge_callback(std::string_view name, std::string_view help,
                              const std::vector<Label>& labels, std::function<double()> read) {
  add_callback(name, help, MetricType::gauge, labels, std::move(read));
}

void Registry::counter_callback(std::string_view name, std::string_view help,
                                const std::vector<Label>& labels, std::function<double()> read) {
  add_callback(name, help, MetricType::counter, labels, std::move(read));
}

void Registry::replace_gauge_callback(std::string_view name, std::string_view help,
                                      const std::vector<Label>& labels,
                                      std::function<double()> read) {
  add_callback(name, help, MetricType::gauge, labels, std::move(read), /*replace=*/true);
}

void Registry::replace_counter_callback(std::string_view name, std::string_view help,
                                        const std::vector<Label>& labels,
                                        std::function<double()> read) {
  add_callback(name, help, MetricType::counter, labels, std::move(read), /*replace=*/true);
}

template <class Metric>
Family<Metric>* Registry::find_family(std::string_view name, std::string_view help, MetricType type,
                                      const std::vector<std::string>& label_names) {
  const std::scoped_lock lock(mutex_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  auto* family = dynamic_cast<Family<Metric>*>(it->second);
  if (family == nullptr || family->type() != type || family->help() != help ||
      family->label_names() != label_names) {
    reject(name, "a family of that name is already registered");
  }
  return family;
}

CounterFamily& Registry::ensure_counter_family(std::string_view name, std::string_view help,
                                               std::vector<std::string> label_names) {
  if (auto* family = find_family<Counter>(name, help, MetricType::counter, label_names)) {
    return *family;
  }
  return counter_family(name, help, std::move(label_names));
}

GaugeFamily& Registry::ensure_gauge_family(std::string_view name, std::string_view help,
                                           std::vector<std::string> label_names) {
  if (auto* family = find_family<Gauge>(name, help, MetricType::gauge, label_names)) {
    return *family;
  }
  return gauge_family(name, help, std::move(label_names));
}

HistogramFamily& Registry::ensure_histogram_family(std::string_view name, std::string_view help,
                                                   std::vector<std::string> label_names,
                                                   std::span<const double> upper_bounds) {
  if (auto* family = find_family<Histogram>(name, help, MetricType::histogram, label_names)) {
    return *family;
  }
  return histogram_family(name, help, std::move(label_names), upper_bounds);
}

void Registry::add_callback(std::string_view name, std::string_view help, MetricType type,
                            const std::vector<Label>& labels, std::function<double()> read,
                            bool replace) {
  if (!read) reject(name, "callback is empty");
  std::vector<std::string> label_names;
  std::vector<std::string_view> label_values;
  for (const Label& label : labels) {
    label_names.push_back(label.name);
    label_values.push_back(label.value);
  }
  const std::scoped_lock lock(mutex_);
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    auto* family = dynamic_cast<CallbackFamily*>(it->second);
    if (family == nullptr || family->type() != type || family->help() != help ||
        family->label_names() != label_names) {
      reject(name, "a family of that name is already registered");
    }
    family->add(label_values, std::move(read), replace);
    return;
  }
  check_new_family(name, type, label_names);
  auto family = std::make_unique<CallbackFamily>(std::string(name), std::string(help), type,
                                                 std::move(label_names));
  family->add(label_values, std::move(read), replace);
  by_name_.emplace(std::string(name), family.get());
  families_.push_back(std::move(family));
}

std::string Registry::render() const {
  const std::scoped_lock lock(mutex_);
  std::string out;
  // Scrapes repeat with nearly the same size; reserving it avoids regrowing the buffer.
  out.reserve(last_render_size_ + last_render_size_ / 8);
  for (const auto& family : families_) family->render(out);
  last_render_size_ = out.size();
  return out;
}

}  // namespace levee::admin
