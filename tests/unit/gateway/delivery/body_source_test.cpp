#include "gateway/delivery/body_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace gw::delivery {
namespace {

std::string drain(BodySource& source, std::size_t chunk) {
  std::string out, buffer(chunk, '\0');
  for (;;) {
    auto n = source.read(std::span<char>(buffer.data(), buffer.size()));
    EXPECT_TRUE(n);
    if (!n || *n == 0) return out;
    out.append(buffer.data(), *n);
  }
}

TEST(FileBodySource, ReadsTheFileInBoundedChunksAndAgainAfterRewind) {
  const auto path = std::filesystem::temp_directory_path() / ("gw-body-" + std::to_string(::getpid()));
  const std::string content(100000, 'x');
  std::ofstream(path, std::ios::binary) << content;
  auto source = FileBodySource::open(path.string());
  ASSERT_TRUE(source);
  EXPECT_EQ(drain(**source, 4096), content);
  ASSERT_TRUE((*source)->rewind());
  EXPECT_EQ(drain(**source, 333), content);
  std::filesystem::remove(path);
}

TEST(FileBodySource, MissingFileIsAnErrorNamingIt) {
  auto source = FileBodySource::open("/nonexistent/gw-body");
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message().find("/nonexistent/gw-body"), std::string::npos);
}

TEST(StringBodySource, RewindStartsOver) {
  StringBodySource source("hello");
  EXPECT_EQ(drain(source, 2), "hello");
  ASSERT_TRUE(source.rewind());
  EXPECT_EQ(drain(source, 10), "hello");
}

}  // namespace
}  // namespace gw::delivery
