#include "gateway/delivery/body_source.h"

#include <gtest/gtest.h>

#include <optional>

namespace gw::delivery {
namespace {

std::string drain(BodySource& source, std::size_t chunk) {
  asio::io_context io;
  std::optional<std::string> out;
  auto read_all = [&]() -> asio::awaitable<void> {
    std::string text, buffer(chunk, '\0');
    const std::span<char> into(buffer.data(), buffer.size());
    for (;;) {
      auto n = co_await source.read(into);
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      text.append(buffer.data(), *n);
    }
    out = std::move(text);
  };
  asio::co_spawn(io, read_all, asio::detached);
  io.run();
  return out.value_or("<not completed>");
}

bool rewind(BodySource& source) {
  asio::io_context io;
  bool rewound = false;
  auto start_over = [&]() -> asio::awaitable<void> { rewound = (co_await source.rewind()).has_value(); };
  asio::co_spawn(io, start_over, asio::detached);
  io.run();
  return rewound;
}

TEST(StringBodySource, ReadsInBoundedChunks) {
  StringBodySource source(std::string(10000, 'x'));
  EXPECT_EQ(drain(source, 333), std::string(10000, 'x'));
}

TEST(StringBodySource, RewindStartsOver) {
  StringBodySource source("hello");
  EXPECT_EQ(drain(source, 2), "hello");
  ASSERT_TRUE(rewind(source));
  EXPECT_EQ(drain(source, 10), "hello");
}

}  // namespace
}  // namespace gw::delivery
