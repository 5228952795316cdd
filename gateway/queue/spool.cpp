// Spool, MessageWriter and BodyReader share the SpoolCore below: the paths, the
// file-system seam, the blocking-call pool and the group-commit batcher.
#include "gateway/queue/spool.h"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "gateway/common/log.h"
#include "gateway/queue/envelope_codec.h"
#include "gateway/queue/queue_id_generator.h"
#include "gateway/queue/spool_layout.h"

namespace gw::queue {
namespace detail {
namespace {

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;
constexpr std::string_view kBodySuffix = ".body";
constexpr std::string_view kEnvelopeSuffix = ".env";

log::Context queue_log(const QueueId& id) {
  return log::Context{.subsystem = "queue", .queue_id = id.str()};
}

bool is_not_found(const Error& error) { return error.code == SpoolErrc::NotFound; }

}  // namespace

template <typename T>
using Completion = std::move_only_function<void(Result<T>)>;

// One commit waiting for (or inside) a group-commit batch.
struct PendingCommit {
  QueueId id;
  Completion<QueueId> complete;
  Result<void> outcome{};
};

class SpoolCore {
 public:
  explicit SpoolCore(SpoolOptions options);
  ~SpoolCore();

  // Runs `fn` (returning Result<T>) on the pool; completes on the awaiting
  // coroutine's executor. The spool must outlive the operation.
  template <typename T, typename Fn>
  asio::awaitable<Result<T>> run(Fn fn);

  // Wraps an asio completion handler so that any thread may call it once: the
  // handler itself runs on its associated executor.
  template <typename T, typename Handler>
  static Completion<T> completion(Handler handler);

  std::filesystem::path incoming_path(const QueueId& id, std::string_view suffix) const {
    return incoming_ / (id.str() + std::string(suffix));
  }
  std::filesystem::path queue_path(const QueueId& id, std::string_view suffix) const {
    return queue_ / (id.str() + std::string(suffix));
  }

  Result<std::pair<QueueId, int>> create_body();
  // fsync + close the body, write + fsync + close the envelope, all in incoming/.
  Result<void> prepare_commit(const QueueId& id, int body_fd, const std::string& frame);
  // The asynchronous part of Spool::commit(): an initiating function, not a
  // coroutine, so no lambda sits inside a co_await expression (g++ 12).
  asio::awaitable<Result<QueueId>> commit_async(QueueId id, int body_fd, std::string frame);
  // Adds a prepared commit to the next batch; the first thread to find no batch in
  // progress performs batches until none is pending.
  void enqueue(PendingCommit commit);
  void commit_batch_per_file(std::vector<PendingCommit>& batch);
  // Each removes what it could not finish (incoming/ files, or the body already
  // renamed into queue/) when it fails.
  Result<void> rename_body(const QueueId& id);
  Result<void> rename_envelope(const QueueId& id);
  void undo_renames(const QueueId& id);
  // Completes commits whose renames are covered by `flushed` (undone if it failed).
  void complete_renamed(std::vector<PendingCommit>& renamed, const Result<void>& flushed);
  // Completes every commit with its outcome and empties the vector.
  void complete(std::vector<PendingCommit>& commits);
  void remove_incoming(const QueueId& id) noexcept;
  // Runs remove_incoming on the pool (inline once the spool is shutting down).
  void abandon(const QueueId& id) noexcept;
  Result<void> fsync_queue_dir() { return fs_->fsync(queue_dir_fd_); }
  // Creates `path` with `data`; fsyncs it when `sync` is set.
  Result<void> write_file(const std::filesystem::path& path, const std::string& data, bool sync);
  Result<std::string> read_small_file(const std::filesystem::path& path);
  Result<void> update(const QueueId& id, const std::string& frame);
  Result<void> write_state(const std::string& name, const std::string& content);
  Result<void> remove(const QueueId& id);
  Result<envelope::Envelope> load(const QueueId& id);
  Result<RecoveryReport> recover();

  void shut_down() {
    closed_ = true;
    pool_.join();
  }

  std::shared_ptr<FileSystem> fs_;
  SyncMode sync_;
  std::filesystem::path root_, incoming_, queue_, badmail_, state_;
  int queue_dir_fd_ = -1;
  asio::thread_pool pool_;
  QueueIdGenerator ids_;

  std::mutex batch_mutex_;
  std::vector<PendingCommit> pending_;
  bool flushing_ = false;

  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> tmp_counter_{0};
  std::atomic<bool> closed_{false};
};

SpoolCore::SpoolCore(SpoolOptions options)
    : fs_(options.fs ? std::move(options.fs) : std::make_shared<PosixFileSystem>()),
      sync_(options.sync),
      root_(std::move(options.root)),
      incoming_(root_ / kIncomingDirectory),
      queue_(root_ / kQueueDirectory),
      badmail_(root_ / "badmail"),
      state_(root_ / "state"),
      pool_(std::max<std::size_t>(1, options.threads)) {
  auto fail = [](const Error& error) { throw std::runtime_error(error.message()); };
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) throw std::runtime_error("queue: cannot create spool " + root_.string() + ": " + ec.message());
  for (const auto& dir : {incoming_, queue_, badmail_, state_}) {
    if (auto made = fs_->mkdir(dir, kDirMode); !made) fail(made.error());
  }
  // The new subdirectories must survive a crash as much as the files in them.
  auto root_fd = fs_->open(root_, O_RDONLY | O_DIRECTORY, 0);
  if (!root_fd) fail(root_fd.error());
  auto synced = fs_->fsync(*root_fd);
  (void)fs_->close(*root_fd);
  if (!synced) fail(synced.error());
  auto queue_fd = fs_->open(queue_, O_RDONLY | O_DIRECTORY, 0);
  if (!queue_fd) fail(queue_fd.error());
  queue_dir_fd_ = *queue_fd;
}

SpoolCore::~SpoolCore() {
  pool_.join();
  if (queue_dir_fd_ >= 0) (void)fs_->close(queue_dir_fd_);
}

template <typename T, typename Handler>
Completion<T> SpoolCore::completion(Handler handler) {
  auto executor = asio::prefer(asio::get_associated_executor(handler),
                               asio::execution::outstanding_work.tracked);
  return [handler = std::move(handler), executor = std::move(executor)](Result<T> result) mutable {
    asio::post(executor, [handler = std::move(handler), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
  };
}

template <typename T, typename Fn>
asio::awaitable<Result<T>> SpoolCore::run(Fn fn) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<T>)>(
      [this](auto handler, Fn work) {
        asio::post(pool_, [work = std::move(work), done = completion<T>(std::move(handler))]() mutable {
          done(work());
        });
      },
      asio::use_awaitable, std::move(fn));
}

asio::awaitable<Result<QueueId>> SpoolCore::commit_async(QueueId id, int body_fd, std::string frame) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<QueueId>)>(
      [this](auto handler, QueueId id, int body_fd, std::string frame) {
        asio::post(pool_, [this, id = std::move(id), body_fd, frame = std::move(frame),
                           done = completion<QueueId>(std::move(handler))]() mutable {
          if (auto prepared = prepare_commit(id, body_fd, frame); !prepared) {
            log::warn(queue_log(id), "commit failed: {}", prepared.error().message());
            done(std::unexpected(prepared.error()));
            return;
          }
          enqueue(PendingCommit{id, std::move(done)});
        });
      },
      asio::use_awaitable, std::move(id), body_fd, std::move(frame));
}

Result<std::pair<QueueId, int>> SpoolCore::create_body() {
  // O_EXCL: a colliding id (two processes, same microsecond and random part)
  // fails instead of sharing a file.
  const QueueId id = ids_.next();
  auto fd = fs_->open(incoming_path(id, kBodySuffix), O_WRONLY | O_CREAT | O_EXCL, kFileMode);
  if (!fd) return std::unexpected(fd.error());
  return std::pair{id, *fd};
}

Result<void> SpoolCore::write_file(const std::filesystem::path& path, const std::string& data, bool sync) {
  auto fd = fs_->open(path, O_WRONLY | O_CREAT | O_EXCL, kFileMode);
  if (!fd) return std::unexpected(fd.error());
  Result<void> written = fs_->write(*fd, data);
  if (written && sync) written = fs_->fsync(*fd);
  // close() is checked: on some file systems it is where a write error shows.
  Result<void> closed = fs_->close(*fd);
  if (!written) return written;
  return closed;
}

Result<void> SpoolCore::prepare_commit(const QueueId& id, int body_fd, const std::string& frame) {
  const bool per_file = sync_ == SyncMode::PerFile;
  Result<void> body = per_file ? fs_->fsync(body_fd) : Result<void>{};
  Result<void> closed = fs_->close(body_fd);
  if (body && !closed) body = closed;
  if (body) body = write_file(incoming_path(id, kEnvelopeSuffix), frame, per_file);
  if (!body) remove_incoming(id);
  return body;
}

void SpoolCore::enqueue(PendingCommit commit) {
  {
    std::lock_guard lock(batch_mutex_);
    pending_.push_back(std::move(commit));
    if (flushing_) return;
    flushing_ = true;
  }
  // This thread is the leader until nothing is pending. With SyncMode::Filesystem
  // the renames of one batch are made durable by the next batch's syncfs, so under
  // load a batch costs one flush; a queue/ fsync covers them when no batch follows.
  std::vector<PendingCommit> renamed;
  for (;;) {
    std::vector<PendingCommit> batch;
    {
      std::lock_guard lock(batch_mutex_);
      if (pending_.empty() && renamed.empty()) {
        flushing_ = false;
        return;
      }
      batch.swap(pending_);
    }
    if (sync_ == SyncMode::PerFile) {
      commit_batch_per_file(batch);
      continue;
    }
    if (batch.empty()) {
      auto synced = fsync_queue_dir();
      complete_renamed(renamed, synced);
      continue;
    }
    ++batches_;
    // One flush for this batch's file contents (and their entries in incoming/)
    // and for the previous batch's renames.
    auto synced = fs_->syncfs(queue_dir_fd_);
    complete_renamed(renamed, synced);
    if (!synced) {
      for (auto& failed : batch) {
        failed.outcome = std::unexpected(synced.error());
        remove_incoming(failed.id);
      }
      complete(batch);
      continue;
    }
    // Body first, envelope last. No flush between them: both files' entries in
    // incoming/ are durable, so a crash between the renames leaves the body in
    // incoming/, where recover() finds it and completes the pair.
    for (auto& commit : batch) {
      if (auto moved = rename_body(commit.id); !moved) {
        commit.outcome = std::unexpected(moved.error());
      } else if (auto done = rename_envelope(commit.id); !done) {
        commit.outcome = std::unexpected(done.error());
      }
    }
    std::vector<PendingCommit> failed;
    for (auto& commit : batch) (commit.outcome ? renamed : failed).push_back(std::move(commit));
    complete(failed);
  }
}

Result<void> SpoolCore::rename_body(const QueueId& id) {
  auto moved = fs_->rename(incoming_path(id, kBodySuffix), queue_path(id, kBodySuffix));
  if (!moved) remove_incoming(id);
  return moved;
}

Result<void> SpoolCore::rename_envelope(const QueueId& id) {
  auto moved = fs_->rename(incoming_path(id, kEnvelopeSuffix), queue_path(id, kEnvelopeSuffix));
  if (!moved) {
    (void)fs_->unlink(queue_path(id, kBodySuffix));
    (void)fs_->unlink(incoming_path(id, kEnvelopeSuffix));
  }
  return moved;
}

void SpoolCore::undo_renames(const QueueId& id) {
  // Envelope first: a crash in between leaves a body alone, which recover() deletes.
  (void)fs_->unlink(queue_path(id, kEnvelopeSuffix));
  (void)fs_->unlink(queue_path(id, kBodySuffix));
}

void SpoolCore::complete_renamed(std::vector<PendingCommit>& renamed, const Result<void>& flushed) {
  if (!flushed) {
    for (auto& commit : renamed) {
      commit.outcome = std::unexpected(flushed.error());
      undo_renames(commit.id);
    }
  }
  complete(renamed);
}

void SpoolCore::complete(std::vector<PendingCommit>& commits) {
  for (auto& commit : commits) {
    if (commit.outcome) {
      ++commits_;
      commit.complete(commit.id);
    } else {
      log::warn(queue_log(commit.id), "commit failed: {}", commit.outcome.error().message());
      commit.complete(std::unexpected(commit.outcome.error()));
    }
  }
  commits.clear();
}

void SpoolCore::commit_batch_per_file(std::vector<PendingCommit>& batch) {
  ++batches_;
  // The files were fsync'd by their commits. Bodies into queue/, then a queue/
  // fsync, so no envelope can be durable in queue/ while its body's rename is not.
  bool any_moved = false;
  for (auto& commit : batch) {
    if (auto moved = rename_body(commit.id); !moved) {
      commit.outcome = std::unexpected(moved.error());
    } else {
      any_moved = true;
    }
  }
  if (any_moved) {
    if (auto synced = fsync_queue_dir(); !synced) {
      for (auto& commit : batch) {
        if (!commit.outcome) continue;
        commit.outcome = std::unexpected(synced.error());
        (void)fs_->unlink(queue_path(commit.id, kBodySuffix));
        (void)fs_->unlink(incoming_path(commit.id, kEnvelopeSuffix));
      }
    }
  }
  // The envelopes, whose presence marks each message complete, then the queue/
  // fsync that makes the batch durable.
  any_moved = false;
  for (auto& commit : batch) {
    if (!commit.outcome) continue;
    if (auto moved = rename_envelope(commit.id); !moved) {
      commit.outcome = std::unexpected(moved.error());
    } else {
      any_moved = true;
    }
  }
  if (any_moved) {
    if (auto synced = fsync_queue_dir(); !synced) {
      for (auto& commit : batch) {
        if (!commit.outcome) continue;
        commit.outcome = std::unexpected(synced.error());
        undo_renames(commit.id);
      }
    }
  }
  complete(batch);
}

void SpoolCore::remove_incoming(const QueueId& id) noexcept {
  for (auto suffix : {kBodySuffix, kEnvelopeSuffix}) {
    auto removed = fs_->unlink(incoming_path(id, suffix));
    if (!removed && !is_not_found(removed.error())) {
      log::warn(queue_log(id), "cannot remove incoming file: {}", removed.error().message());
    }
  }
}

void SpoolCore::abandon(const QueueId& id) noexcept {
  if (closed_) {
    remove_incoming(id);
    return;
  }
  asio::post(pool_, [this, id] { remove_incoming(id); });
}

Result<std::string> SpoolCore::read_small_file(const std::filesystem::path& path) {
  auto fd = fs_->open(path, O_RDONLY, 0);
  if (!fd) return std::unexpected(fd.error());
  std::string data;
  std::string chunk(64 * 1024, '\0');
  Result<void> status{};
  for (;;) {
    auto n = fs_->read(*fd, chunk);
    if (!n) {
      status = std::unexpected(n.error());
      break;
    }
    if (*n == 0) break;
    data.append(chunk.data(), *n);
    // Anything longer than the largest valid frame is corrupt; stop reading.
    if (data.size() > kEnvelopeHeaderSize + kMaxEnvelopePayload) break;
  }
  (void)fs_->close(*fd);
  if (!status) return std::unexpected(status.error());
  return data;
}

Result<envelope::Envelope> SpoolCore::load(const QueueId& id) {
  auto data = read_small_file(queue_path(id, kEnvelopeSuffix));
  if (!data) return std::unexpected(data.error());
  auto envelope = decode_envelope(*data);
  if (!envelope) return envelope;
  if (envelope->queue_id() != id.str()) {
    return make_error(make_error_code(SpoolErrc::Corrupt),
                      "envelope: " + id.str() + " names queue id " + log::printable(envelope->queue_id(), 64));
  }
  return envelope;
}

Result<void> SpoolCore::write_state(const std::string& name, const std::string& content) {
  const auto tmp = incoming_ / ("state." + name + "." + std::to_string(++tmp_counter_) + ".tmp");
  if (auto written = write_file(tmp, content, true); !written) {
    (void)fs_->unlink(tmp);
    return written;
  }
  if (auto moved = fs_->rename(tmp, state_ / name); !moved) {
    (void)fs_->unlink(tmp);
    return moved;
  }
  auto dir = fs_->open(state_, O_RDONLY | O_DIRECTORY, 0);
  if (!dir) return std::unexpected(dir.error());
  auto synced = fs_->fsync(*dir);
  (void)fs_->close(*dir);
  return synced;
}

Result<void> SpoolCore::update(const QueueId& id, const std::string& frame) {
  const auto target = queue_path(id, kEnvelopeSuffix);
  // Never resurrect a removed message as an envelope without body.
  auto existing = fs_->open(target, O_RDONLY, 0);
  if (!existing) return std::unexpected(existing.error());
  (void)fs_->close(*existing);

  const auto tmp = incoming_ / (id.str() + "." + std::to_string(++tmp_counter_) + ".tmp");
  if (auto written = write_file(tmp, frame, true); !written) {
    (void)fs_->unlink(tmp);
    return written;
  }
  if (auto moved = fs_->rename(tmp, target); !moved) {
    (void)fs_->unlink(tmp);
    return moved;
  }
  return fsync_queue_dir();
}

Result<void> SpoolCore::remove(const QueueId& id) {
  if (auto removed = fs_->unlink(queue_path(id, kEnvelopeSuffix)); !removed) return removed;
  if (auto synced = fsync_queue_dir(); !synced) return synced;
  auto body = fs_->unlink(queue_path(id, kBodySuffix));
  if (!body && !is_not_found(body.error())) return body;
  return {};
}

Result<RecoveryReport> SpoolCore::recover() {
  RecoveryReport report;
  const log::Context ctx{.subsystem = "queue"};

  auto incoming = fs_->list(incoming_);
  if (!incoming) return std::unexpected(incoming.error());
  std::set<std::string> incoming_names(incoming->begin(), incoming->end());
  auto queued = fs_->list(queue_);
  if (!queued) return std::unexpected(queued.error());
  auto badmail = fs_->list(badmail_);
  if (!badmail) return std::unexpected(badmail.error());
  std::set<std::string> badmail_names(badmail->begin(), badmail->end());

  struct Files {
    bool body = false;
    bool envelope = false;
  };
  std::map<QueueId, Files> by_id;
  for (const auto& name : *queued) {
    const std::string_view view = name;
    std::optional<QueueId> id;
    if (view.ends_with(kBodySuffix)) {
      id = QueueId::parse(view.substr(0, view.size() - kBodySuffix.size()));
      if (id) by_id[*id].body = true;
    } else if (view.ends_with(kEnvelopeSuffix)) {
      id = QueueId::parse(view.substr(0, view.size() - kEnvelopeSuffix.size()));
      if (id) by_id[*id].envelope = true;
    }
    if (!id) log::warn(ctx, "recover: ignoring foreign file queue/{}", log::printable(name));
  }

  // Moves a file to badmail/ under a name not yet taken there; never deletes it.
  auto to_badmail = [&](const QueueId& id, std::string_view suffix) {
    std::string name = id.str() + std::string(suffix);
    for (int n = 1; badmail_names.contains(name); ++n) name = id.str() + std::string(suffix) + "." + std::to_string(n);
    auto moved = fs_->rename(queue_path(id, suffix), badmail_ / name);
    if (!moved) {
      log::error(queue_log(id), "recover: cannot move to badmail: {}", moved.error().message());
      return false;
    }
    badmail_names.insert(name);
    return true;
  };

  // A commit interrupted between its body and envelope renames: the envelope is in
  // queue/, the body (durable before the envelope was even written) still in
  // incoming/. Finish the pair, as the commit would have.
  for (auto& [id, files] : by_id) {
    const std::string body_name = id.str() + std::string(kBodySuffix);
    if (!files.envelope || files.body || !incoming_names.contains(body_name)) continue;
    if (auto moved = fs_->rename(incoming_ / body_name, queue_path(id, kBodySuffix)); moved) {
      files.body = true;
      incoming_names.erase(body_name);
      log::info(queue_log(id), "recover: completed an interrupted commit");
    }
  }

  // Everything else in incoming/ was never acknowledged: the client saw no 250.
  for (const auto& name : incoming_names) {
    if (auto removed = fs_->unlink(incoming_ / name); removed) {
      ++report.incomplete_removed;
      log::info(ctx, "recover: removed incomplete incoming/{}", log::printable(name));
    } else {
      log::warn(ctx, "recover: {}", removed.error().message());
    }
  }

  for (const auto& [id, files] : by_id) {
    if (!files.envelope) {
      // Renamed into queue/ but the commit never reached its envelope rename.
      if (auto removed = fs_->unlink(queue_path(id, kBodySuffix)); removed) {
        ++report.incomplete_removed;
        log::info(queue_log(id), "recover: removed body without envelope");
      }
      continue;
    }
    Result<envelope::Envelope> envelope =
        files.body ? load(id)
                   : make_error(make_error_code(SpoolErrc::Corrupt), "body file missing");
    if (!envelope) {
      log::error(queue_log(id), "recover: moving message to badmail: {}", envelope.error().message());
      // Counted once the envelope is out of queue/: only then is the message
      // no longer found as queued.
      if (to_badmail(id, kEnvelopeSuffix)) ++report.moved_to_badmail;
      if (files.body) to_badmail(id, kBodySuffix);
      continue;
    }
    report.messages.push_back(RecoveredMessage{id, std::move(*envelope)});
  }

  // Make the deletions and moves durable before the queue starts working.
  (void)fsync_queue_dir();
  for (const auto& dir : {incoming_, badmail_}) {
    if (auto fd = fs_->open(dir, O_RDONLY | O_DIRECTORY, 0)) {
      (void)fs_->fsync(*fd);
      (void)fs_->close(*fd);
    }
  }
  log::info(ctx, "recover: {} messages queued, {} incomplete files removed, {} moved to badmail",
            report.messages.size(), report.incomplete_removed, report.moved_to_badmail);
  return report;
}

}  // namespace detail

// ---- MessageWriter ---------------------------------------------------------

MessageWriter::MessageWriter(std::shared_ptr<detail::SpoolCore> core, QueueId id, envelope::Envelope envelope,
                             int body_fd)
    : core_(std::move(core)), id_(std::move(id)), envelope_(std::move(envelope)), body_fd_(body_fd) {}

MessageWriter::MessageWriter(MessageWriter&& other) noexcept
    : core_(std::move(other.core_)),
      id_(std::move(other.id_)),
      envelope_(std::move(other.envelope_)),
      body_fd_(std::exchange(other.body_fd_, -1)),
      bytes_written_(other.bytes_written_) {}

MessageWriter& MessageWriter::operator=(MessageWriter&& other) noexcept {
  if (this != &other) {
    abandon();
    core_ = std::move(other.core_);
    id_ = std::move(other.id_);
    envelope_ = std::move(other.envelope_);
    body_fd_ = std::exchange(other.body_fd_, -1);
    bytes_written_ = other.bytes_written_;
  }
  return *this;
}

MessageWriter::~MessageWriter() { abandon(); }

int MessageWriter::release_body_fd() noexcept { return std::exchange(body_fd_, -1); }

void MessageWriter::abandon() noexcept {
  if (body_fd_ < 0 || !core_) return;
  const int fd = std::exchange(body_fd_, -1);
  (void)core_->fs_->close(fd);
  core_->abandon(id_);
}

asio::awaitable<Result<void>> MessageWriter::write(std::string_view chunk) {
  if (body_fd_ < 0 || !core_) {
    Result<void> spent = make_error(make_error_code(SpoolErrc::Abandoned), "queue: write to " + id_.str());
    co_return spent;
  }
  detail::SpoolCore* core = core_.get();
  const int fd = body_fd_;
  auto write_chunk = [core, fd, chunk] { return core->fs_->write(fd, chunk); };
  auto operation = core->run<void>(std::move(write_chunk));
  Result<void> written = co_await std::move(operation);
  if (!written) {
    log::warn(detail::queue_log(id_), "body write failed: {}", written.error().message());
    abandon();
    co_return written;
  }
  bytes_written_ += chunk.size();
  co_return written;
}

// ---- BodyReader ------------------------------------------------------------

BodyReader::BodyReader(std::shared_ptr<detail::SpoolCore> core, int fd) : core_(std::move(core)), fd_(fd) {}

BodyReader::BodyReader(BodyReader&& other) noexcept
    : core_(std::move(other.core_)), fd_(std::exchange(other.fd_, -1)) {}

BodyReader& BodyReader::operator=(BodyReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0 && core_) (void)core_->fs_->close(fd_);
    core_ = std::move(other.core_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

BodyReader::~BodyReader() {
  if (fd_ >= 0 && core_) (void)core_->fs_->close(fd_);
}

asio::awaitable<Result<std::size_t>> BodyReader::read(std::span<char> buffer) {
  detail::SpoolCore* core = core_.get();
  const int fd = fd_;
  return core->run<std::size_t>([core, fd, buffer]() -> Result<std::size_t> {
    if (fd < 0) return make_error(make_error_code(SpoolErrc::Abandoned), "queue: read body");
    return core->fs_->read(fd, buffer);
  });
}

// ---- Spool -----------------------------------------------------------------

Spool::Spool(SpoolOptions options) : core_(std::make_shared<detail::SpoolCore>(std::move(options))) {}

Spool::~Spool() {
  // Writers and readers may outlive the spool; its pool may not run their work.
  core_->shut_down();
}

// g++ 12 reports -Wmismatched-new-delete for this coroutine's frame, which Asio
// allocates and frees with its own matching operator new/delete: a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<Result<MessageWriter>> Spool::begin(envelope::Envelope envelope) {
  detail::SpoolCore* core = core_.get();
  auto create = [core] { return core->create_body(); };
  auto operation = core->run<std::pair<QueueId, int>>(std::move(create));
  Result<std::pair<QueueId, int>> created = co_await std::move(operation);
  if (!created) {
    log::warn(log::Context{.subsystem = "queue"}, "cannot start message: {}", created.error().message());
    Result<MessageWriter> failed = std::unexpected(created.error());
    co_return failed;
  }
  envelope.set_queue_id(created->first.str());
  Result<MessageWriter> writer = MessageWriter(core_, created->first, std::move(envelope), created->second);
  co_return writer;
}
#pragma GCC diagnostic pop

asio::awaitable<Result<QueueId>> Spool::commit(MessageWriter writer) {
  if (!writer.open() || writer.core_ != core_) {
    Result<QueueId> spent = make_error(make_error_code(SpoolErrc::Abandoned), "queue: commit " + writer.id().str());
    co_return spent;
  }
  envelope::Envelope& envelope = writer.envelope();
  envelope.set_format_version(1);
  envelope.set_queue_id(writer.id().str());
  envelope.set_body_size(writer.bytes_written());
  if (envelope.arrival_unix() == 0) {
    envelope.set_arrival_unix(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
  }
  if (envelope.queue() == envelope::QUEUE_UNSPECIFIED) envelope.set_queue(envelope::AWAITING_DIRECTORY_LOOKUP);

  QueueId id = writer.id();
  std::string frame = encode_envelope(envelope);
  const int body_fd = writer.release_body_fd();
  auto operation = core_->commit_async(std::move(id), body_fd, std::move(frame));
  Result<QueueId> committed = co_await std::move(operation);
  co_return committed;
}

asio::awaitable<Result<void>> Spool::update(const QueueId& id, const envelope::Envelope& envelope) {
  envelope::Envelope stored = envelope;
  stored.set_queue_id(id.str());
  detail::SpoolCore* core = core_.get();
  return core->run<void>([core, id, frame = encode_envelope(stored)] { return core->update(id, frame); });
}

asio::awaitable<Result<void>> Spool::remove(const QueueId& id) {
  detail::SpoolCore* core = core_.get();
  return core->run<void>([core, id] { return core->remove(id); });
}

asio::awaitable<Result<envelope::Envelope>> Spool::load(const QueueId& id) {
  detail::SpoolCore* core = core_.get();
  return core->run<envelope::Envelope>([core, id] { return core->load(id); });
}

asio::awaitable<Result<BodyReader>> Spool::open_body(const QueueId& id) {
  detail::SpoolCore* core = core_.get();
  auto open_file = [core, id] { return core->fs_->open(core->queue_path(id, detail::kBodySuffix), O_RDONLY, 0); };
  auto operation = core->run<int>(std::move(open_file));
  Result<int> fd = co_await std::move(operation);
  if (!fd) {
    Result<BodyReader> failed = std::unexpected(fd.error());
    co_return failed;
  }
  Result<BodyReader> reader = BodyReader(core_, *fd);
  co_return reader;
}

Result<RecoveryReport> Spool::recover() { return core_->recover(); }

SpoolStats Spool::stats() const noexcept { return SpoolStats{core_->commits_.load(), core_->batches_.load()}; }

asio::awaitable<Result<void>> Spool::write_state(std::string name, std::string content) {
  detail::SpoolCore* core = core_.get();
  return core->run<void>([core, name = std::move(name), content = std::move(content)] {
    return core->write_state(name, content);
  });
}

Result<std::string> Spool::read_state(const std::string& name) { return core_->read_small_file(core_->state_ / name); }

const std::filesystem::path& Spool::root() const noexcept { return core_->root_; }

}  // namespace gw::queue
