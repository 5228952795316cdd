#include "gateway/server/metabase_loader.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

namespace gw::server {
namespace {

class MetabaseLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("metabase-loader-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path write(const std::string& bytes) {
    const auto path = dir_ / "metabase.pb";
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(MetabaseLoaderTest, LoadsAValidMetabase) {
  metabase::Metabase metabase;
  metabase.set_format_version(1);
  auto* server = metabase.add_virtual_servers();
  server->set_id("1");
  auto* binding = server->add_bindings();
  binding->set_ip("127.0.0.1");
  binding->set_port(2525);
  auto loaded = load_metabase(write(metabase.SerializeAsString()));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
  EXPECT_EQ((*loaded)->virtual_servers(0).bindings(0).port(), 2525u);
}

TEST_F(MetabaseLoaderTest, MissingFileIsAnError) {
  EXPECT_FALSE(load_metabase(dir_ / "absent.pb").has_value());
}

TEST_F(MetabaseLoaderTest, GarbageIsAnError) {
  EXPECT_FALSE(load_metabase(write("\xff\xff\xff\xff not a protobuf")).has_value());
}

TEST_F(MetabaseLoaderTest, UnknownFormatVersionIsAnError) {
  metabase::Metabase metabase;
  metabase.set_format_version(2);
  const auto loaded = load_metabase(write(metabase.SerializeAsString()));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().detail.find("format_version 2"), std::string::npos);
}

TEST_F(MetabaseLoaderTest, ConflictingBindingsAreAnError) {
  metabase::Metabase metabase;
  metabase.set_format_version(1);
  for (const char* id : {"1", "2"}) {
    auto* server = metabase.add_virtual_servers();
    server->set_id(id);
    auto* binding = server->add_bindings();
    binding->set_ip("127.0.0.1");
    binding->set_port(25);
  }
  EXPECT_FALSE(load_metabase(write(metabase.SerializeAsString())).has_value());
}

}  // namespace
}  // namespace gw::server
