// Reading the metabase file gatewayd runs from.
//
// Contract: load_metabase() returns a parsed and validated snapshot or an error
// saying what is wrong (unreadable file, not a Metabase, unknown format
// version, conflicting bindings); it never returns a half-valid configuration,
// so a reload that fails leaves the running configuration in place. The file is
// written by metabase-sync with an atomic rename, so a read sees either the old
// or the new content. Blocking file I/O: call at start-up or from the reload
// path, never per session. It does not watch the file (MetabaseWatcher does).
#pragma once

#include <filesystem>
#include <memory>

#include "gateway/common/result.h"
#include "proto/metabase.pb.h"

namespace gw::server {

using MetabasePtr = std::shared_ptr<const metabase::Metabase>;

inline constexpr std::uint32_t kMetabaseFormatVersion = 1;

Result<MetabasePtr> load_metabase(const std::filesystem::path& path);

// The checks load_metabase() applies after parsing.
Result<void> validate_metabase(const metabase::Metabase& metabase);

}  // namespace gw::server
