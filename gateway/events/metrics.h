// Metrics: the Prometheus view of the event stream. MetricsSink counts events
// into a MetricsRegistry (counters and latency histograms, mailgw_* names);
// state that is not an event -- queue sizes, directory health, the metabase's
// serial -- is read at scrape time from collectors the daemon registers. The
// registry renders the Prometheus text exposition format (version 0.0.4).
//
// No component keeps a counter of its own beside this: a number on /metrics
// is either the count of an event kind or a value read from the owner's state
// when scraped. Thread-safe (one mutex; events are few per message).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/events/bus.h"

namespace gw::events {

using Labels = std::vector<std::pair<std::string, std::string>>;

// What a collector reports at scrape time.
struct Sample {
  std::string name;   // mailgw_queue_messages
  std::string help;
  Labels labels;
  double value = 0;
};

class MetricsRegistry {
 public:
  using Collector = std::function<void(std::vector<Sample>&)>;

  void add(const std::string& name, const Labels& labels, double amount = 1);
  void observe(const std::string& name, const Labels& labels, double seconds);
  // A gauge kept by the registry itself (set, not counted).
  void set(const std::string& name, const Labels& labels, double value);
  void add_collector(Collector collector);

  // The current value of a counter or gauge (0 when never touched); tests and
  // the status page read it.
  double value(const std::string& name, const Labels& labels = {}) const;
  // The sum of a counter's series, optionally only those whose label `key` is `value`.
  double total(const std::string& name, std::string_view key = {}, std::string_view value = {}) const;
  // Every series of a counter or gauge with its value.
  std::vector<std::pair<Labels, double>> series(const std::string& name) const;
  // A histogram's observation count.
  std::uint64_t count(const std::string& name, const Labels& labels = {}) const;

  // Prometheus text exposition format.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets;  // cumulative at render; here per bucket
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::map<Labels, double>> counters_;
  std::map<std::string, std::map<Labels, double>> gauges_;
  std::map<std::string, std::map<Labels, Histogram>> histograms_;
  std::vector<Collector> collectors_;
};

// Bucket bounds of every latency histogram, in seconds.
const std::vector<double>& latency_buckets();
// HELP text of a mailgw_* metric; empty for names not known.
std::string_view help_of(std::string_view name);

class MetricsSink final : public Sink {
 public:
  explicit MetricsSink(MetricsRegistry& registry) : registry_(registry) {}
  void consume(const Event& event) override;

 private:
  MetricsRegistry& registry_;
};

}  // namespace gw::events
