// The metabase file: atomic replacement and change-only publishing.
//
// write_file_atomically() is the durability contract of the file (the metabase
// is written only valid and whole): the new bytes go to a temporary file in the same directory,
// which is written completely, fsync'd, renamed over the target, and then the
// directory is fsync'd. A reader therefore sees either the previous complete
// file or the new complete file, never a torn one, even if this process is
// killed at any instant; a crash leaves at most a stale ".<name>.tmp.<pid>"
// file, which MetabaseWriter removes on start.
//
// MetabaseWriter publishes a candidate only when its content differs from the
// file's (provenance is not content: a directory change elsewhere, which moves
// contextCSN and the sync cookie, does not rewrite the file); it then stamps the
// provenance time and increments the serial. It is single-threaded and assumes
// it is the only writer of the path. The file is the binary protobuf encoding
// of gw.metabase.Metabase, nothing else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "gateway/common/result.h"
#include "proto/metabase.pb.h"

namespace msync {

gw::Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// nullopt when the file does not exist; an error when it exists but cannot be
// read or parsed.
gw::Result<std::optional<gw::metabase::Metabase>> read_metabase(const std::filesystem::path& path);

// Equal configuration content: everything except the provenance.
bool same_content(const gw::metabase::Metabase& a, const gw::metabase::Metabase& b);

class MetabaseWriter {
 public:
  explicit MetabaseWriter(std::filesystem::path path);

  // Reads the current file (if any) so that unchanged content is not rewritten
  // and the serial continues; removes stale temporary files of a killed writer.
  // A file that cannot be parsed is treated as absent (it will be replaced).
  gw::Result<void> open();

  // Writes `candidate` when its content changed. Returns true when written.
  gw::Result<bool> publish(gw::metabase::Metabase candidate);

  const std::optional<gw::metabase::Metabase>& current() const { return current_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::optional<gw::metabase::Metabase> current_;
};

}  // namespace msync
