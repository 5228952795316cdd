// SpooledBody: a queued message's content as the outbound client reads it.
//
// A delivery::BodySource over Spool::open_body(): every read runs on the
// spool's thread pool and completes on the caller's executor, so sending a
// large body never blocks the event loop with file reads. rewind() opens the
// body afresh for the next host. open() fails (NotFound, Io) before anything is
// sent when the body cannot be opened, so the caller can keep the message
// waiting instead of starting a transaction it cannot finish.
// Not responsible for the content's encoding (the client's DotStuffer / BDAT).
#pragma once

#include <optional>

#include "gateway/common/queue_id.h"
#include "gateway/delivery/body_source.h"
#include "gateway/queue/spool.h"

namespace gw::qmgr {

class SpooledBody final : public delivery::BodySource {
 public:
  static asio::awaitable<Result<std::unique_ptr<SpooledBody>>> open(queue::Spool& spool, QueueId id);

  asio::awaitable<Result<std::size_t>> read(std::span<char> buffer) override;
  asio::awaitable<Result<void>> rewind() override;

 private:
  SpooledBody(queue::Spool& spool, QueueId id, queue::BodyReader reader)
      : spool_(spool), id_(std::move(id)), reader_(std::move(reader)) {}

  queue::Spool& spool_;
  QueueId id_;
  std::optional<queue::BodyReader> reader_;
  bool at_start_ = true;  // nothing read since the body was opened
};

}  // namespace gw::qmgr
