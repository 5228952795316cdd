#include "gateway/main/observability.h"

#include "gateway/common/log.h"
#include "gateway/events/log_sink.h"
#include "gateway/events/tracking_log.h"

namespace gw::daemon {

Observability::Observability(const std::filesystem::path& tracking_directory)
    : tracking_directory_(tracking_directory) {
  auto& bus = events::bus();
  subscriptions_.push_back(bus.subscribe(std::make_shared<events::LogSink>()));
  subscriptions_.push_back(bus.subscribe(std::make_shared<events::MetricsSink>(metrics_)));
  if (!tracking_directory_.empty())
    subscriptions_.push_back(bus.subscribe(std::make_shared<events::TrackingLog>(tracking_directory_)));
}

void Observability::reopen() {
  std::string error;
  if (!events::bus().reopen(&error)) log::error({"gateway"}, "reopening the tracking log: {}", error);
}

}  // namespace gw::daemon
