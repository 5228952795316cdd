// lint(): the configuration checks behind `metabase-sync --check`.
//
// Each rule is a pure function over a built Metabase and reports findings that
// name the directory object to fix, the way the Exchange troubleshooting guides
// describe these mistakes (NDR code in the message where one results). The
// rules: a recipient-policy domain equal to a server FQDN (5.4.8); no route for
// "*"; a connector address space covering an authoritative local domain (5.3.5
// loop); a smart host that is an unbracketed IP or this server itself; duplicate
// IP:port bindings; an open relay (virtual server relay list with 0.0.0.0/0, or a
// "*" connector that allows relay); a non-authoritative domain without a
// connector; a message size limit above the session size limit; a mailbox
// server in a routing group no routing group connector leads to (5.4.4).
// Findings are sorted (severity, DN, message) so output is stable. Not
// responsible for syntax (the builder rejects malformed values before this runs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "proto/metabase.pb.h"

namespace msync {

enum class Severity { Error, Warning };

struct Finding {
  Severity severity;
  std::string dn;
  std::string message;

  friend bool operator==(const Finding&, const Finding&) = default;
};

std::vector<Finding> lint(const gw::metabase::Metabase& metabase);

// The one rule that also blocks writing: two running virtual servers claiming
// the same IP:port (or "all unassigned" and a port). gatewayd refuses such a
// metabase as a whole, so metabase-sync must not replace a good file with it.
// Returns InvalidConfiguration naming the second virtual server's DN and
// msExchServerBindings. (--check reports the same conflict, for stopped
// virtual servers too, through lint().)
gw::Result<void> check_publishable(const gw::metabase::Metabase& metabase);

// "error: <DN>: <message>" / "warning: <DN>: <message>".
std::string format_finding(const Finding& finding);

bool has_errors(const std::vector<Finding>& findings);

// Exchange address-space match: '*' any run of characters, '%' exactly one,
// case-insensitive ("*.mil" matches "army.mil").
bool address_space_matches(std::string_view pattern, std::string_view domain);

}  // namespace msync
