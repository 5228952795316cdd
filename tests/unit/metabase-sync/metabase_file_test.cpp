#include "metabase-sync/metabase_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "metabase-sync/metabase_builder.h"
#include "tests/unit/metabase-sync/sample_snapshot.h"

namespace msync {
namespace {

namespace fs = std::filesystem;

class MetabaseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/msync-file-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ / "metabase.pb";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static gw::metabase::Metabase sample() { return *build_metabase(test::sample_snapshot()); }

  static std::string bytes_of(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  fs::path dir_;
  fs::path path_;
};

TEST_F(MetabaseFileTest, WritesTheBytesAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(write_file_atomically(path_, "hello"));
  EXPECT_EQ(bytes_of(path_), "hello");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(MetabaseFileTest, ReplacesAnExistingFile) {
  ASSERT_TRUE(write_file_atomically(path_, "first"));
  ASSERT_TRUE(write_file_atomically(path_, "second"));
  EXPECT_EQ(bytes_of(path_), "second");
}

TEST_F(MetabaseFileTest, FailsCleanlyInAMissingDirectory) {
  auto written = write_file_atomically(dir_ / "missing" / "metabase.pb", "x");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().detail.find("missing"), std::string::npos);
}

TEST_F(MetabaseFileTest, FirstPublishWritesSerialOne) {
  MetabaseWriter writer(path_);
  ASSERT_TRUE(writer.open());
  auto written = writer.publish(sample());
  ASSERT_TRUE(written);
  EXPECT_TRUE(*written);
  auto read = read_metabase(path_);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->provenance().serial(), 1u);
  EXPECT_GT((*read)->provenance().synced_at_unix(), 0);
  EXPECT_EQ((*read)->provenance().source_uri(), "ldap://127.0.0.1:3890");
}

TEST_F(MetabaseFileTest, UnchangedContentIsNotRewritten) {
  {
    MetabaseWriter writer(path_);
    ASSERT_TRUE(writer.open());
    ASSERT_TRUE(writer.publish(sample()));
  }
  const auto before = bytes_of(path_);
  MetabaseWriter writer(path_);
  ASSERT_TRUE(writer.open());
  auto again = sample();
  again.mutable_provenance()->set_context_csn("20260101000000.000000Z#000000#000#000000");
  auto written = writer.publish(again);
  ASSERT_TRUE(written);
  EXPECT_FALSE(*written);
  EXPECT_EQ(bytes_of(path_), before);
}

TEST_F(MetabaseFileTest, ChangedContentIncrementsTheSerialAcrossRestarts) {
  {
    MetabaseWriter writer(path_);
    ASSERT_TRUE(writer.open());
    ASSERT_TRUE(writer.publish(sample()));
  }
  MetabaseWriter writer(path_);
  ASSERT_TRUE(writer.open());
  auto changed = sample();
  changed.mutable_virtual_servers(0)->mutable_limits()->set_max_hop_count(30);
  auto written = writer.publish(changed);
  ASSERT_TRUE(written && *written);
  EXPECT_EQ((*read_metabase(path_))->provenance().serial(), 2u);
}

TEST_F(MetabaseFileTest, OpenRemovesTemporaryFilesOfAKilledWriter) {
  std::ofstream(dir_ / ".metabase.pb.tmp.12345") << "partial";
  MetabaseWriter writer(path_);
  ASSERT_TRUE(writer.open());
  EXPECT_FALSE(fs::exists(dir_ / ".metabase.pb.tmp.12345"));
}

TEST_F(MetabaseFileTest, ReadingAMissingFileIsNotAnError) {
  auto read = read_metabase(dir_ / "absent.pb");
  ASSERT_TRUE(read);
  EXPECT_FALSE(*read);
}

TEST_F(MetabaseFileTest, ReadingGarbageIsAnError) {
  std::ofstream(path_) << "\xff\xff\xff garbage";
  EXPECT_FALSE(read_metabase(path_));
}

}  // namespace
}  // namespace msync
