#include "gateway/server/metabase_loader.h"

#include <fstream>
#include <sstream>

#include "gateway/server/listener_plan.h"

namespace gw::server {

Result<void> validate_metabase(const metabase::Metabase& metabase) {
  if (metabase.format_version() != kMetabaseFormatVersion)
    return make_error(std::make_error_code(std::errc::invalid_argument),
                      "metabase format_version " + std::to_string(metabase.format_version()) +
                          " (expected " + std::to_string(kMetabaseFormatVersion) + ")");
  return validate_bindings(metabase);
}

Result<MetabasePtr> load_metabase(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(std::error_code(errno, std::generic_category()), "metabase: open " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return make_error(std::make_error_code(std::errc::io_error), "metabase: read " + path.string());

  auto parsed = std::make_shared<metabase::Metabase>();
  if (!parsed->ParseFromString(content.str()))
    return make_error(std::make_error_code(std::errc::illegal_byte_sequence),
                      "metabase: " + path.string() + " is not a Metabase protobuf");
  if (auto valid = validate_metabase(*parsed); !valid)
    return make_error(valid.error().code, "metabase: " + path.string() + ": " + valid.error().detail);
  return MetabasePtr(std::move(parsed));
}

}  // namespace gw::server
