// BodySource: where the outbound client reads a message's content from.
//
// The driver pulls the content in bounded chunks, so a message is never held
// whole in memory. rewind() starts over, for the next host after a failed
// attempt. Both are awaitables: a spooled body is read on the spool's own
// thread pool (qmgr::SpooledBody), never with blocking calls on the event
// loop. StringBodySource serves content already in memory (tests).
// Not responsible for encoding (DotStuffer, BDAT framing) or for the spool layout.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"

namespace gw::delivery {

class BodySource {
 public:
  virtual ~BodySource() = default;
  // Fills up to buffer.size() octets; 0 means end of content. `buffer` must
  // stay valid until the awaitable completes.
  virtual asio::awaitable<Result<std::size_t>> read(std::span<char> buffer) = 0;
  virtual asio::awaitable<Result<void>> rewind() = 0;
};

class StringBodySource final : public BodySource {
 public:
  explicit StringBodySource(std::string content) : content_(std::move(content)) {}
  asio::awaitable<Result<std::size_t>> read(std::span<char> buffer) override;
  asio::awaitable<Result<void>> rewind() override;

 private:
  std::string content_;
  std::size_t offset_ = 0;
};

}  // namespace gw::delivery
