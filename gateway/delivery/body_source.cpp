#include "gateway/delivery/body_source.h"

#include <algorithm>
#include <cstring>

namespace gw::delivery {

asio::awaitable<Result<std::size_t>> StringBodySource::read(std::span<char> buffer) {
  const auto n = std::min(buffer.size(), content_.size() - offset_);
  std::memcpy(buffer.data(), content_.data() + offset_, n);
  offset_ += n;
  co_return n;
}

asio::awaitable<Result<void>> StringBodySource::rewind() {
  offset_ = 0;
  co_return Result<void>{};
}

}  // namespace gw::delivery
