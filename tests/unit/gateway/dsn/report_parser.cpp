#include "report_parser.h"

#include <regex>

namespace gw::dsn::test {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

// Header section (CRLF-separated, with folding) -> fields.
std::multimap<std::string, std::string> parse_fields(const std::string& text, std::vector<std::string>& errors) {
  std::multimap<std::string, std::string> fields;
  std::string name, value;
  auto flush = [&] {
    if (!name.empty()) fields.emplace(lower(name), trim(value));
    name.clear();
    value.clear();
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 2;
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (name.empty()) errors.push_back("continuation without a field: " + line);
      value += " " + trim(line);
      continue;
    }
    flush();
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      errors.push_back("not a field: " + line);
      continue;
    }
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
  }
  flush();
  return fields;
}

std::string param(const std::string& header, const std::string& name) {
  const std::regex re(";\\s*" + name + "=(\"([^\"]*)\"|([^;\\s]+))", std::regex::icase);
  std::smatch m;
  if (!std::regex_search(header, m, re)) return {};
  return m[2].matched ? m[2].str() : m[3].str();
}

std::string first(const std::multimap<std::string, std::string>& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string{} : it->second;
}

}  // namespace

ParsedReport parse_report(const std::string& raw) {
  ParsedReport out;
  auto& errors = out.errors;

  // Octet-level rules: CRLF line ends only, lines of at most 998 octets (RFC 5322 2.1.1).
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) errors.push_back("bare LF at " + std::to_string(i));
    if (raw[i] == '\r' && (i + 1 >= raw.size() || raw[i + 1] != '\n'))
      errors.push_back("bare CR at " + std::to_string(i));
    if (raw[i] == '\n') {
      if (i - line_start > 1000) errors.push_back("line longer than 998 octets");
      line_start = i + 1;
    }
  }

  const auto header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    errors.push_back("no end of header");
    return out;
  }
  out.headers = parse_fields(raw.substr(0, header_end + 2), errors);
  for (const char* required : {"date", "from", "to", "subject", "message-id", "mime-version", "content-type",
                               "auto-submitted"})
    if (out.headers.count(required) != 1) errors.push_back(std::string("header not exactly once: ") + required);

  const std::string content_type = first(out.headers, "content-type");
  if (lower(content_type).rfind("multipart/report", 0) != 0) errors.push_back("not multipart/report");
  if (lower(param(content_type, "report-type")) != "delivery-status") errors.push_back("report-type not delivery-status");
  out.boundary = param(content_type, "boundary");
  if (out.boundary.empty() || out.boundary.size() > 70) {
    errors.push_back("bad boundary");
    return out;
  }

  // RFC 2046 5.1.1: CRLF--boundary separates parts, CRLF--boundary-- closes.
  const std::string body = raw.substr(header_end + 2);  // keep the CRLF that precedes the first delimiter
  const std::string delim = "\r\n--" + out.boundary;
  auto at = body.find(delim);
  if (at == std::string::npos) {
    errors.push_back("no first boundary");
    return out;
  }
  while (true) {
    const auto after = at + delim.size();
    if (body.compare(after, 2, "--") == 0) {
      if (body.compare(after + 2, 2, "\r\n") != 0) errors.push_back("close delimiter not followed by CRLF");
      break;
    }
    if (body.compare(after, 2, "\r\n") != 0) {
      errors.push_back("delimiter not followed by CRLF");
      break;
    }
    const auto next = body.find(delim, after + 2);
    if (next == std::string::npos) {
      errors.push_back("no close delimiter");
      break;
    }
    const std::string part_text = body.substr(after + 2, next - after - 2);
    Part part;
    const auto part_header_end = part_text.find("\r\n\r\n");
    if (part_text.rfind("\r\n", 0) == 0) {
      part.body = part_text.substr(2);  // no part header: defaults apply
    } else if (part_header_end == std::string::npos) {
      errors.push_back("part without header end");
    } else {
      part.headers = parse_fields(part_text.substr(0, part_header_end + 2), errors);
      part.body = part_text.substr(part_header_end + 4);
    }
    out.parts.push_back(std::move(part));
    at = next;
  }
  if (out.parts.size() != 3) {
    errors.push_back("expected 3 parts, got " + std::to_string(out.parts.size()));
    return out;
  }
  const std::string status_type = lower(first(out.parts[1].headers, "content-type"));
  if (status_type != "message/delivery-status" && status_type != "message/global-delivery-status")
    errors.push_back("second part is " + status_type);

  // The delivery-status body: blocks of fields separated by blank lines.
  std::vector<std::string> blocks;
  std::string text = out.parts[1].body;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\r\n\r\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string block = text.substr(pos, end - pos);
    if (!block.empty()) blocks.push_back(block + "\r\n");
    pos = end + 4;
  }
  if (blocks.size() < 2) {
    errors.push_back("delivery-status needs a per-message and at least one per-recipient block");
    return out;
  }
  out.per_message = parse_fields(blocks[0], errors);
  if (out.per_message.count("reporting-mta") != 1) errors.push_back("Reporting-MTA missing");
  const std::regex date_re("(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}");
  const std::regex typed_re("[A-Za-z0-9-]+; \\S.*");
  for (const auto& [name, value] : out.per_message)
    if (name.find("date") != std::string::npos && !std::regex_match(value, date_re)) errors.push_back("bad " + name);
  for (std::size_t i = 1; i < blocks.size(); ++i) {
    auto fields = parse_fields(blocks[i], errors);
    for (const char* required : {"final-recipient", "action", "status"})
      if (fields.count(required) != 1) errors.push_back(std::string("recipient field missing: ") + required);
    const std::string action = first(fields, "action");
    if (!std::regex_match(action, std::regex("failed|delayed|delivered|relayed|expanded")))
      errors.push_back("bad Action: " + action);
    if (!std::regex_match(first(fields, "status"), std::regex("[245]\\.\\d{1,3}\\.\\d{1,3}")))
      errors.push_back("bad Status: " + first(fields, "status"));
    for (const char* typed : {"final-recipient", "original-recipient", "remote-mta", "diagnostic-code"})
      if (fields.count(typed) && !std::regex_match(first(fields, typed), typed_re))
        errors.push_back(std::string("bad typed field: ") + typed);
    for (const auto& [name, value] : fields)
      if (name.find("date") != std::string::npos || name == "will-retry-until")
        if (!std::regex_match(value, date_re)) errors.push_back("bad " + name);
    if (fields.count("will-retry-until") && action != "delayed") errors.push_back("Will-Retry-Until without delayed");
    out.per_recipient.push_back(std::move(fields));
  }
  return out;
}

}  // namespace gw::dsn::test
