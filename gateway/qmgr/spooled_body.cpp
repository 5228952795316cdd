#include "gateway/qmgr/spooled_body.h"

namespace gw::qmgr {

asio::awaitable<Result<std::unique_ptr<SpooledBody>>> SpooledBody::open(queue::Spool& spool, QueueId id) {
  auto reader = co_await spool.open_body(id);
  if (!reader) {
    Result<std::unique_ptr<SpooledBody>> failed = std::unexpected(reader.error());
    co_return failed;
  }
  Result<std::unique_ptr<SpooledBody>> body =
      std::unique_ptr<SpooledBody>(new SpooledBody(spool, std::move(id), std::move(*reader)));
  co_return body;
}

asio::awaitable<Result<std::size_t>> SpooledBody::read(std::span<char> buffer) {
  if (!reader_) {
    if (auto reopened = co_await rewind(); !reopened) {
      Result<std::size_t> failed = std::unexpected(reopened.error());
      co_return failed;
    }
  }
  at_start_ = false;
  co_return co_await reader_->read(buffer);
}

asio::awaitable<Result<void>> SpooledBody::rewind() {
  if (reader_ && at_start_) co_return Result<void>{};
  reader_.reset();
  auto reader = co_await spool_.open_body(id_);
  if (!reader) co_return std::unexpected(reader.error());
  reader_.emplace(std::move(*reader));
  at_start_ = true;
  co_return Result<void>{};
}

}  // namespace gw::qmgr
