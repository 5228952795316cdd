// BodySource: where the outbound client reads a message's content from.
//
// The driver pulls the content in bounded chunks, so a message is never held
// whole in memory. rewind() starts over, for the next host after a failed
// attempt. FileBodySource reads a spooled content file; StringBodySource serves
// content already in memory (generated reports, tests). Reads are blocking
// calls on a local file, like Postfix's smtp(8) reading its queue file.
// Not responsible for encoding (DotStuffer, BDAT framing) or for the spool layout.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "gateway/common/result.h"

namespace gw::delivery {

class BodySource {
 public:
  virtual ~BodySource() = default;
  // Fills up to buffer.size() octets; 0 means end of content.
  virtual Result<std::size_t> read(std::span<char> buffer) = 0;
  virtual Result<void> rewind() = 0;
};

class StringBodySource final : public BodySource {
 public:
  explicit StringBodySource(std::string content) : content_(std::move(content)) {}
  Result<std::size_t> read(std::span<char> buffer) override;
  Result<void> rewind() override {
    offset_ = 0;
    return {};
  }

 private:
  std::string content_;
  std::size_t offset_ = 0;
};

class FileBodySource final : public BodySource {
 public:
  // Opens `path` for reading; an error names the file.
  static Result<std::unique_ptr<FileBodySource>> open(const std::string& path);
  ~FileBodySource() override;
  Result<std::size_t> read(std::span<char> buffer) override;
  Result<void> rewind() override;

 private:
  FileBodySource(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
};

}  // namespace gw::delivery
