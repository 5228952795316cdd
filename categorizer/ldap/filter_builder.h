// ldap::Filter and FilterBuilder: the only way the categorizer builds LDAP search filters.
//
// Every assertion value is escaped per RFC 4515 section 3: NUL, '(', ')', '*' and '\' always, and
// additionally every control character and every octet >= 0x80 (a UTF-8 value is carried as
// escaped octets, which RFC 4515 allows for any octet), so an address such as `*)(mail=*` can
// only ever match itself. Attribute descriptions come from code, never from peers; a malformed one
// is a programming error and aborts. A Filter keeps its structure as well as its RFC 4515 text so
// that test doubles can evaluate it without parsing. This unit does no I/O and knows nothing about
// which attributes mean what.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gw::categorizer::ldap {

// Escapes one assertion value for use inside a filter (RFC 4515 valueencoding).
std::string escape_filter_value(std::string_view value);

class Filter {
 public:
  enum class Kind { Equality, Presence, And, Or, Not };

  Kind kind() const noexcept { return kind_; }
  const std::string& attribute() const noexcept { return attribute_; }  // Equality, Presence
  const std::string& value() const noexcept { return value_; }          // raw (unescaped) value
  const std::vector<Filter>& children() const noexcept { return children_; }

  // The RFC 4515 string form, e.g. "(|(mail=a@example.com)(proxyAddresses=smtp:a@example.com))".
  const std::string& str() const noexcept { return text_; }

 private:
  friend class FilterBuilder;
  Filter(Kind kind, std::string attribute, std::string value, std::vector<Filter> children);

  Kind kind_;
  std::string attribute_;
  std::string value_;
  std::vector<Filter> children_;
  std::string text_;
};

class FilterBuilder {
 public:
  // (attribute=value) with value escaped.
  static Filter equals(std::string_view attribute, std::string_view value);
  // (attribute=*)
  static Filter present(std::string_view attribute);
  // (&...) / (|...). A single operand is returned as is; an empty list is the RFC 4526
  // absolute true "(&)" / absolute false "(|)".
  static Filter all_of(std::vector<Filter> operands);
  static Filter any_of(std::vector<Filter> operands);
  // (!operand)
  static Filter negate(Filter operand);
};

}  // namespace gw::categorizer::ldap
