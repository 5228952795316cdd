// ReportWriter: queues delivery status notifications (RFC 3464) as new
// messages. A report is built by gw_dsn from the original's envelope and the
// plan (which recipients, failure / delay / success), streamed into the spool
// with the null reverse-path -- the original's content copied a chunk at a time
// from its spool file, only as much as is returned -- committed like any other
// message, indexed in "awaiting directory lookup" and handed on (normally to
// the categorize stage), so it is routed and retried like any mail.
// Executor: the caller's; file work runs on the spool's pool. Errors come back
// as values (the caller keeps the report owed and tries again on a later pass).
#pragma once

#include <cstdint>
#include <functional>

#include "gateway/common/asio.h"
#include "gateway/common/clock.h"
#include "gateway/common/log.h"
#include "gateway/common/queue_id.h"
#include "gateway/common/result.h"
#include "gateway/dsn/report_plan.h"
#include "gateway/qmgr/outcome.h"
#include "gateway/qmgr/settings.h"
#include "gateway/queue/named_queues.h"
#include "gateway/queue/spool.h"

namespace gw::qmgr {

struct ReportOptions {
  // Originals larger than this come back in failure reports as headers only.
  std::uint64_t max_full_return_size = 10 * 1024 * 1024;
  // A queued report (a new message id) is handed on, normally to the categorize stage.
  std::function<void(const QueueId&)> on_queued;
};

class ReportWriter {
 public:
  ReportWriter(queue::Spool& spool, queue::NamedQueues& index, const Clock& clock, DeliveryStats& stats,
               ReportOptions options);

  // Writes and commits the report `planned` about message `id` (envelope `env`).
  asio::awaitable<Result<void>> queue_report(const log::Context& ctx, const QueueId& id, const envelope::Envelope& env,
                                             const dsn::PlannedReport& planned, const Settings& settings,
                                             const metabase::VirtualServer* vs, const queue::RetrySchedule& schedule);

 private:
  queue::Spool& spool_;
  queue::NamedQueues& index_;
  const Clock& clock_;
  DeliveryStats& stats_;
  ReportOptions options_;
  std::uint64_t sequence_ = 0;
};

}  // namespace gw::qmgr
