// Observability: the daemon's sinks of the event stream -- the application log
// (LogSink), the message-tracking files (TrackingLog) and the metrics
// (MetricsSink into one MetricsRegistry) -- subscribed to events::bus() for the
// life of the gateway, and reopened together on SIGUSR1/SIGHUP.
// The registry's scrape-time collectors (queue sizes, metabase serial) are
// added by GatewayServer, which owns that state.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "gateway/events/bus.h"
#include "gateway/events/metrics.h"

namespace gw::daemon {

class Observability {
 public:
  // `tracking_directory` empty = no tracking files. Throws std::runtime_error
  // when the tracking directory cannot be created.
  explicit Observability(const std::filesystem::path& tracking_directory);
  Observability(const Observability&) = delete;
  Observability& operator=(const Observability&) = delete;

  events::MetricsRegistry& metrics() noexcept { return metrics_; }
  const std::filesystem::path& tracking_directory() const noexcept { return tracking_directory_; }
  // Reopens the tracking file (and any other file sink); logs a failure.
  void reopen();

 private:
  std::filesystem::path tracking_directory_;
  events::MetricsRegistry metrics_;
  std::vector<events::Subscription> subscriptions_;
};

}  // namespace gw::daemon
