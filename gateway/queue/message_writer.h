// MessageWriter: one message being received, between Spool::begin() and
// Spool::commit().
//
// The body is appended chunk by chunk (write()) to a file in the spool's incoming/
// directory, so a message is never held whole in memory; the envelope stays in
// memory and may be completed (hop count, Message-ID ...) until commit. The writer
// is move-only. A writer that is destroyed or abandon()ed without being committed --
// the client disconnected, the message was too big, a write failed -- removes its
// incoming files on the spool's thread pool; nothing of it ever reaches queue/.
// Executor: write() runs the blocking call on the spool's thread pool and completes
// on the awaiting coroutine's executor. One write() at a time per writer. Not
// responsible for parsing, dot-unstuffing or size limits: it stores the octets it
// is given.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/common/result.h"
#include "proto/envelope.pb.h"

namespace gw::queue {

namespace detail {
class SpoolCore;
}

class MessageWriter {
 public:
  MessageWriter(MessageWriter&& other) noexcept;
  MessageWriter& operator=(MessageWriter&& other) noexcept;
  MessageWriter(const MessageWriter&) = delete;
  MessageWriter& operator=(const MessageWriter&) = delete;
  ~MessageWriter();  // abandon() unless committed

  const QueueId& id() const noexcept { return id_; }
  envelope::Envelope& envelope() noexcept { return envelope_; }
  const envelope::Envelope& envelope() const noexcept { return envelope_; }
  std::uint64_t bytes_written() const noexcept { return bytes_written_; }
  // False once committed, abandoned or after a failed write.
  bool open() const noexcept { return body_fd_ >= 0; }

  // Appends `chunk` to the body. `chunk` must stay valid until the awaitable
  // completes. After an error the writer is spent: drop it (its files are removed).
  asio::awaitable<Result<void>> write(std::string_view chunk);

  // Removes the incoming files (asynchronously, on the spool's pool). Idempotent.
  void abandon() noexcept;

 private:
  friend class Spool;
  friend class detail::SpoolCore;
  MessageWriter(std::shared_ptr<detail::SpoolCore> core, QueueId id,
                envelope::Envelope envelope, int body_fd);
  // Hands the open body descriptor to commit(); the writer no longer owns it.
  int release_body_fd() noexcept;

  std::shared_ptr<detail::SpoolCore> core_;
  QueueId id_;
  envelope::Envelope envelope_;
  int body_fd_ = -1;
  std::uint64_t bytes_written_ = 0;
};

}  // namespace gw::queue
