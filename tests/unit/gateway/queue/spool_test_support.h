// Helpers shared by the spool tests: a private temporary directory, running an
// awaitable to completion on a local io_context, and writing a whole message.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/queue/spool.h"

namespace gw::queue::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gw-spool-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs `op` on `io` until it completes and returns its value.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); }, asio::detached);
  io.restart();
  io.run();
  if (!out) throw std::logic_error("operation did not complete");
  return std::move(*out);
}

inline envelope::Envelope sample_envelope(const std::string& sender = "alice@example.com") {
  envelope::Envelope envelope;
  envelope.set_sender(sender);
  auto* rcpt = envelope.add_recipients();
  rcpt->set_address("bob@example.com");
  rcpt->mutable_notify()->set_failure(true);
  envelope.set_client_ip("127.0.0.1");
  envelope.set_helo("client.example.net");
  return envelope;
}

// A body of `size` octets whose content depends on `seed`, in CRLF lines.
inline std::string sample_body(std::size_t size, unsigned seed = 1) {
  std::string body = "Subject: test " + std::to_string(seed) + "\r\n\r\n";
  while (body.size() < size) {
    body += "line " + std::to_string(seed) + " " + std::to_string(body.size()) + "\r\n";
  }
  body.resize(size);
  return body;
}

// begin + write in chunks of `chunk` octets + commit.
inline asio::awaitable<Result<QueueId>> spool_message(Spool& spool, envelope::Envelope envelope,
                                                      std::string body, std::size_t chunk = 4096) {
  auto writer = co_await spool.begin(std::move(envelope));
  if (!writer) co_return std::unexpected(writer.error());
  for (std::size_t offset = 0; offset < body.size(); offset += chunk) {
    auto written = co_await writer->write(std::string_view(body).substr(offset, chunk));
    if (!written) co_return std::unexpected(written.error());
  }
  co_return co_await spool.commit(std::move(*writer));
}

inline asio::awaitable<Result<std::string>> read_body(Spool& spool, QueueId id) {
  auto reader = co_await spool.open_body(id);
  if (!reader) co_return std::unexpected(reader.error());
  std::string body;
  std::vector<char> buffer(7000);
  for (;;) {
    auto n = co_await reader->read(buffer);
    if (!n) co_return std::unexpected(n.error());
    if (*n == 0) break;
    body.append(buffer.data(), *n);
  }
  co_return body;
}

inline std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  if (!std::filesystem::exists(dir)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace gw::queue::test
