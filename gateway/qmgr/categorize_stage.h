// CategorizeStage: the post-queue step that takes a committed message out of "awaiting
// directory lookup".
//
// Contract: submit() (thread-safe) hands over a queued message. On the DirectoryService's
// executor the stage loads its envelope, runs Categorizer::categorize(), stamps the outcome of
// every recipient (resolved, expanded, or failed with its status), sets the message queue to
// WAITING_TO_BE_ROUTED, writes the envelope with Spool::update() and moves the message in
// NamedQueues. When the directory is unavailable (or the metabase lists none) the envelope is left
// in AWAITING_DIRECTORY_LOOKUP with categorizer_attempts and next_attempt_unix advanced, and the
// message is retried after the next back-off step (capped at the last one) until the directory
// answers: an outage never bounces mail (contract 3, docs/architecture.md). At most `concurrency` messages are
// categorized at once; the rest wait in submission order. One log line per recipient outcome
// comes from the categorizer, one per message from here, each with the queue id.
// Not responsible for: routing, delivery, DSN generation, the RCPT-time check.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "categorizer/directory_service.h"
#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/queue/named_queues.h"
#include "gateway/queue/spool.h"

namespace gw::qmgr {

struct CategorizeStageOptions {
  // Delay before retry n (1-based) after a directory failure; the last step repeats.
  std::vector<std::chrono::milliseconds> backoff{std::chrono::seconds(5), std::chrono::seconds(10),
                                                std::chrono::seconds(30), std::chrono::seconds(60)};
  std::size_t concurrency = 16;
  // Called on the directory executor for each message moved to WAITING_TO_BE_ROUTED.
  std::function<void(const QueueId&)> on_categorized;
};

struct CategorizeStageStats {
  std::uint64_t categorized = 0;  // messages moved to WAITING_TO_BE_ROUTED
  std::uint64_t deferred = 0;     // attempts that left a message awaiting directory lookup
  std::uint64_t errors = 0;       // spool errors (message left as it was)
};

class CategorizeStage {
 public:
  CategorizeStage(queue::Spool& spool, queue::NamedQueues& queues, categorizer::DirectoryService& directory,
                  CategorizeStageOptions options = {});
  ~CategorizeStage();
  CategorizeStage(const CategorizeStage&) = delete;
  CategorizeStage& operator=(const CategorizeStage&) = delete;

  // Thread-safe. Messages not in AWAITING_DIRECTORY_LOOKUP when loaded are left alone.
  void submit(QueueId id);
  // Thread-safe: pending retries are dropped and no new work starts; work in flight completes.
  void stop();

  // Read on the directory executor (or after the loops have stopped).
  const CategorizeStageStats& stats() const noexcept;

  // The delay before retry `attempt` (1-based).
  static std::chrono::milliseconds backoff_for(const std::vector<std::chrono::milliseconds>& steps,
                                               std::uint32_t attempt);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace gw::qmgr
