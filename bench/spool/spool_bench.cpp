// spool_bench: how many messages per second Spool::commit() makes durable with 1, 10
// and 50 concurrent writers (the SMTP sessions of one event loop), and how many
// commits share a group-commit batch. Prints figures; asserts nothing.
//
//   spool_bench [--dir DIR] [--seconds N] [--size OCTETS] [--threads N] [--sync syncfs|perfile] [WRITERS...]
//
// DIR must be on the file system to measure (default: a new directory under
// $TMPDIR or /tmp); it is removed afterwards. A tmpfs makes fsync free and the
// figures meaningless.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/queue/spool.h"

namespace {

using namespace gw;
using Clock = std::chrono::steady_clock;

struct Figures {
  std::uint64_t commits = 0;
  std::uint64_t batches = 0;
  std::uint64_t failures = 0;
  double seconds = 0;
};

asio::awaitable<void> writer_loop(queue::Spool& spool, const std::string& body, Clock::time_point until,
                                  Figures& figures) {
  while (Clock::now() < until) {
    envelope::Envelope envelope;
    envelope.set_sender("bench@example.com");
    envelope.add_recipients()->set_address("rcpt@example.com");
    auto writer = co_await spool.begin(std::move(envelope));
    if (!writer) {
      ++figures.failures;
      continue;
    }
    // 64 KiB chunks, as the SMTP connection driver hands them over.
    bool ok = true;
    for (std::size_t offset = 0; ok && offset < body.size(); offset += 65536) {
      auto written = co_await writer->write(std::string_view(body).substr(offset, 65536));
      ok = written.has_value();
    }
    if (!ok) {
      ++figures.failures;
      continue;
    }
    auto id = co_await spool.commit(std::move(*writer));
    if (!id) ++figures.failures;
  }
}

Figures measure(const std::filesystem::path& root, int writers, std::size_t threads, queue::SyncMode sync,
                const std::string& body, std::chrono::seconds duration) {
  asio::io_context io;
  Figures figures;
  {
    queue::Spool spool(queue::SpoolOptions{.root = root, .threads = threads, .sync = sync});
    const auto start = Clock::now();
    for (int i = 0; i < writers; ++i) {
      asio::co_spawn(io, writer_loop(spool, body, start + duration, figures), asio::detached);
    }
    io.run();
    figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto stats = spool.stats();
    figures.commits = stats.commits;
    figures.batches = stats.commit_batches;
  }
  std::filesystem::remove_all(root);
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  int seconds = 5;
  std::size_t size = 4096;
  std::size_t threads = 4;
  queue::SyncMode sync = queue::SyncMode::Filesystem;
  std::vector<int> writer_counts;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "spool_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--dir") {
      dir = value();
    } else if (arg == "--seconds") {
      seconds = std::stoi(value());
    } else if (arg == "--size") {
      size = std::stoul(value());
    } else if (arg == "--sync") {
      sync = value() == "perfile" ? queue::SyncMode::PerFile : queue::SyncMode::Filesystem;
    } else if (arg == "--threads") {
      threads = std::stoul(value());
    } else {
      writer_counts.push_back(std::stoi(arg));
    }
  }
  if (writer_counts.empty()) writer_counts = {1, 10, 50};
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp ? tmp : "/tmp") + "/spool-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("spool_bench: mkdtemp");
      return 1;
    }
    dir = pattern;
  }
  const std::string body(size, 'x');
  std::printf("spool_bench: dir=%s body=%zu octets pool=%zu threads sync=%s, %d s per run\n", dir.c_str(), size,
              threads, sync == queue::SyncMode::PerFile ? "perfile" : "syncfs", seconds);
  std::printf("%8s %12s %12s %14s %9s\n", "writers", "commits", "commits/s", "commits/batch", "failures");
  for (int writers : writer_counts) {
    const auto figures =
        measure(dir / ("w" + std::to_string(writers)), writers, threads, sync, body, std::chrono::seconds(seconds));
    std::printf("%8d %12llu %12.0f %14.1f %9llu\n", writers, static_cast<unsigned long long>(figures.commits),
                static_cast<double>(figures.commits) / figures.seconds,
                figures.batches ? static_cast<double>(figures.commits) / static_cast<double>(figures.batches) : 0.0,
                static_cast<unsigned long long>(figures.failures));
  }
  std::filesystem::remove_all(dir);
  return 0;
}
