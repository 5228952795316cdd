// Spool: the single writer of queued messages (the role Postfix gives cleanup(8)).
//
// Contract: commit() returns a QueueId only after the body file and the envelope
// file are written and flushed to disk, both are renamed from incoming/ into queue/
// (body first, envelope last: the envelope's presence marks the message complete),
// and queue/ itself is fsync'd. The "250" is sent only after commit() returns. A
// crash before that leaves files in incoming/ (or a body without envelope in
// queue/) that recover() deletes -- or, when it came between the two renames, an
// envelope in queue/ whose body recover() moves in from incoming/; a crash after it
// leaves a complete message that recover() returns. Envelope files are framed (magic,
// version, length, CRC32C; see envelope_codec.h), so a torn file is detected, never
// parsed as a shorter valid protobuf; a file that fails the check is moved to
// badmail/, never deleted.
//
// Group commit: concurrent commits share the flushes. Each commit writes and closes
// its two files on a pool thread, then joins the next batch; one pool thread at a
// time performs a batch -- make the batch's files durable (one syncfs(2) of the
// spool's file system, which also makes their entries in incoming/ durable; or
// with SyncMode::PerFile an fsync of each file, done before joining), rename the
// bodies (PerFile: then fsync queue/), rename the envelopes, then flush queue/ --
// with syncfs that flush is the next batch's syncfs when one is pending, else an
// fsync of queue/ -- and completes every commit in it. No commit completes before
// its own files and the flushes that cover its renames have succeeded. Under load a
// batch holds many messages and costs one flush, so a message costs a fraction of
// one instead of four.
//
// Executor: blocking file calls run on the spool's own small thread pool; the
// awaitables complete on the awaiting coroutine's executor. Errors: disk full comes
// back as SpoolErrc::NoSpace (-> 452 4.3.1), other I/O errors as SpoolErrc::Io
// (-> 451 4.3.0), never as exceptions; a failed commit leaves nothing in queue/.
// Only the constructor throws (start-up: the spool directories cannot be created).
//
// Not responsible for: what is in the body (the SMTP session adds Received headers
// and enforces limits), which queue a message moves to next (categorizer, router)
// or retry timing (Scheduler). The in-memory NamedQueues index is kept by the
// caller from what commit(), update() and recover() report.
//
// On-disk layout under `root` (see gateway/queue/README.md):
//   incoming/<id>.body, incoming/<id>.env   a message being received
//   incoming/<id>.<n>.tmp                   an envelope being rewritten by update()
//   queue/<id>.body, queue/<id>.env         complete messages
//   badmail/<id>.env[.<n>], badmail/<id>.body  files recover() could not trust
//   state/<name>                            queue manager state (write_state())
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/common/result.h"
#include "gateway/queue/file_system.h"
#include "gateway/queue/message_writer.h"
#include "gateway/queue/spool_error.h"
#include "proto/envelope.pb.h"

namespace gw::queue {

// How a batch makes its files' contents durable before they are renamed.
enum class SyncMode {
  // One syncfs(2) per batch: the cheapest under concurrency, and the right choice
  // when the spool has a file system of its own (it also flushes whatever else
  // was written to that file system). Needs Linux 5.8+ for error reporting.
  Filesystem,
  // fsync(2) of every body and envelope on its commit's pool thread: costs two
  // flushes per message, but flushes nothing else.
  PerFile,
};

struct SpoolOptions {
  std::filesystem::path root;            // created when missing, with its subdirectories
  std::size_t threads = 4;               // blocking-call pool; fsyncs of concurrent commits overlap
  std::shared_ptr<FileSystem> fs;        // nullptr = PosixFileSystem
  SyncMode sync = SyncMode::Filesystem;
};

struct RecoveredMessage {
  QueueId id;
  envelope::Envelope envelope;           // resumes in envelope.queue()
};

struct RecoveryReport {
  std::vector<RecoveredMessage> messages;    // complete messages, sorted by id
  std::size_t incomplete_removed = 0;        // files deleted: the client never got a 250
  std::size_t moved_to_badmail = 0;          // envelopes that failed their check
};

struct SpoolStats {
  std::uint64_t commits = 0;            // successful commits
  std::uint64_t commit_batches = 0;     // group-commit batches (each: two directory fsyncs)
};

// Reads one queued body from its start; obtained from Spool::open_body().
// read() runs on the spool's pool and completes on the caller's executor;
// it returns 0 at the end of the body. Move-only; closes the file when dropped.
class BodyReader {
 public:
  BodyReader(BodyReader&& other) noexcept;
  BodyReader& operator=(BodyReader&& other) noexcept;
  BodyReader(const BodyReader&) = delete;
  BodyReader& operator=(const BodyReader&) = delete;
  ~BodyReader();

  // `buffer` must stay valid until the awaitable completes.
  asio::awaitable<Result<std::size_t>> read(std::span<char> buffer);

 private:
  friend class Spool;
  BodyReader(std::shared_ptr<detail::SpoolCore> core, int fd);
  std::shared_ptr<detail::SpoolCore> core_;
  int fd_ = -1;
};

class Spool {
 public:
  // Creates root/{incoming,queue,badmail} when missing. Throws std::runtime_error
  // when they cannot be created (start-up only).
  explicit Spool(SpoolOptions options);
  // Waits for pool work in flight (abandoned writers' clean-up included).
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Mints a QueueId and creates incoming/<id>.body. The envelope is kept in the
  // writer; its queue_id is set to the new id.
  asio::awaitable<Result<MessageWriter>> begin(envelope::Envelope envelope);

  // Makes the message durable (see the contract above) and returns its id. Before
  // writing, the envelope gets format_version 1, body_size = bytes written,
  // arrival_unix (when unset) and queue AWAITING_DIRECTORY_LOOKUP (when unset).
  // On error nothing of the message is left in queue/ or incoming/.
  asio::awaitable<Result<QueueId>> commit(MessageWriter writer);

  // Atomically replaces the envelope of a complete message: write a temporary
  // file in incoming/, fsync, rename over queue/<id>.env, fsync queue/. The
  // stored copy gets queue_id `id`. NotFound when the message is not queued. When
  // the final directory fsync fails the error is returned, and after a crash either
  // the old or the new envelope is found -- both complete and valid.
  asio::awaitable<Result<void>> update(const QueueId& id, const envelope::Envelope& envelope);

  // Deletes a message: unlink the envelope, fsync queue/, then unlink the body, so a
  // crash never leaves an envelope without its body (a leftover body is deleted by
  // recover()). NotFound when it is not queued.
  asio::awaitable<Result<void>> remove(const QueueId& id);

  // Small files of the queue manager's own state that must survive a restart
  // (the frozen named queues): root/state/<name>, replaced atomically
  // (temporary file in incoming/, fsync, rename, fsync state/). `name` is a
  // plain file name.
  asio::awaitable<Result<void>> write_state(std::string name, std::string content);
  // The content of a state file; NotFound when it was never written. Blocking:
  // start-up only.
  Result<std::string> read_state(const std::string& name);

  // The current envelope of a queued message (decoded and checked).
  asio::awaitable<Result<envelope::Envelope>> load(const QueueId& id);

  // Opens the body of a queued message for reading.
  asio::awaitable<Result<BodyReader>> open_body(const QueueId& id);

  // Start-up only, before listeners open and before any other call. Completes a
  // commit interrupted between its two renames (envelope in queue/, body still in
  // incoming/: the body moves in), then deletes every other file in incoming/ and
  // every body in queue/ without an envelope (none of them was acknowledged), moves envelopes that fail decoding, name the wrong id or
  // have no body to badmail/ (with their body, if any), and returns every complete
  // message. Logs one line per deleted or moved file. Fails only when a directory
  // cannot be listed.
  Result<RecoveryReport> recover();

  SpoolStats stats() const noexcept;
  const std::filesystem::path& root() const noexcept;

 private:
  std::shared_ptr<detail::SpoolCore> core_;
};

}  // namespace gw::queue
