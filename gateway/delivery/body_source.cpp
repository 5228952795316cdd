#include "gateway/delivery/body_source.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gw::delivery {

Result<std::size_t> StringBodySource::read(std::span<char> buffer) {
  const auto n = std::min(buffer.size(), content_.size() - offset_);
  std::memcpy(buffer.data(), content_.data() + offset_, n);
  offset_ += n;
  return n;
}

Result<std::unique_ptr<FileBodySource>> FileBodySource::open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return make_error(std::error_code(errno, std::generic_category()), "delivery: open " + path);
  return std::unique_ptr<FileBodySource>(new FileBodySource(file, path));
}

FileBodySource::~FileBodySource() { std::fclose(file_); }

Result<std::size_t> FileBodySource::read(std::span<char> buffer) {
  const auto n = std::fread(buffer.data(), 1, buffer.size(), file_);
  if (n == 0 && std::ferror(file_))
    return make_error(std::error_code(errno ? errno : EIO, std::generic_category()), "delivery: read " + path_);
  return n;
}

Result<void> FileBodySource::rewind() {
  if (std::fseek(file_, 0, SEEK_SET) != 0)
    return make_error(std::error_code(errno, std::generic_category()), "delivery: rewind " + path_);
  std::clearerr(file_);
  return {};
}

}  // namespace gw::delivery
