// A small, strict reader of multipart/report messages used by the tests to
// check that what the builder writes parses: CRLF only, line limits, MIME
// boundaries, and the fields RFC 3464 section 2 requires.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace gw::dsn::test {

struct Part {
  std::multimap<std::string, std::string> headers;  // lower-case names, unfolded values
  std::string body;
};

using FieldBlock = std::multimap<std::string, std::string>;

struct ParsedReport {
  std::multimap<std::string, std::string> headers;
  std::string boundary;
  std::vector<Part> parts;
  FieldBlock per_message;
  std::vector<FieldBlock> per_recipient;
  std::vector<std::string> errors;  // empty when the report is valid
};

ParsedReport parse_report(const std::string& raw);

}  // namespace gw::dsn::test
