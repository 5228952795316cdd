#include "categorizer/ldap/filter_builder.h"

#include <cstdio>
#include <cstdlib>

namespace gw::categorizer::ldap {
namespace {

// RFC 4512 attribute description: a descriptor or numeric OID, optionally followed by options
// (";binary", ";range=0-1499"). Anything else would let the name itself change the filter.
bool valid_attribute_description(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == ';' || c == '=';
    if (!ok) return false;
  }
  return name.front() != ';' && name.front() != '=';
}

void require_attribute(std::string_view name) {
  if (!valid_attribute_description(name)) {
    std::fprintf(stderr, "categorizer: invalid LDAP attribute description in code: '%.*s'\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
  }
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto byte = static_cast<unsigned char>(ch);
    const bool must_escape = byte == 0 || ch == '(' || ch == ')' || ch == '*' || ch == '\\' ||
                             byte < 0x20 || byte == 0x7f || byte >= 0x80;
    if (must_escape) {
      out += '\\';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    } else {
      out += ch;
    }
  }
  return out;
}

Filter::Filter(Kind kind, std::string attribute, std::string value, std::vector<Filter> children)
    : kind_(kind), attribute_(std::move(attribute)), value_(std::move(value)), children_(std::move(children)) {
  switch (kind_) {
    case Kind::Equality:
      text_ = "(" + attribute_ + "=" + escape_filter_value(value_) + ")";
      break;
    case Kind::Presence:
      text_ = "(" + attribute_ + "=*)";
      break;
    case Kind::And:
    case Kind::Or:
    case Kind::Not: {
      text_ = kind_ == Kind::And ? "(&" : kind_ == Kind::Or ? "(|" : "(!";
      for (const auto& child : children_) text_ += child.str();
      text_ += ")";
      break;
    }
  }
}

Filter FilterBuilder::equals(std::string_view attribute, std::string_view value) {
  require_attribute(attribute);
  return Filter(Filter::Kind::Equality, std::string(attribute), std::string(value), {});
}

Filter FilterBuilder::present(std::string_view attribute) {
  require_attribute(attribute);
  return Filter(Filter::Kind::Presence, std::string(attribute), {}, {});
}

Filter FilterBuilder::all_of(std::vector<Filter> operands) {
  if (operands.size() == 1) return std::move(operands.front());
  return Filter(Filter::Kind::And, {}, {}, std::move(operands));
}

Filter FilterBuilder::any_of(std::vector<Filter> operands) {
  if (operands.size() == 1) return std::move(operands.front());
  return Filter(Filter::Kind::Or, {}, {}, std::move(operands));
}

Filter FilterBuilder::negate(Filter operand) {
  std::vector<Filter> children;
  children.push_back(std::move(operand));
  return Filter(Filter::Kind::Not, {}, {}, std::move(children));
}

}  // namespace gw::categorizer::ldap
