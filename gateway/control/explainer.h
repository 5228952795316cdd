// Explainer: what the running gateway would do with a recipient -- the
// directory searches it issues, the object it finds, the group expansion, the
// restrictions checked against the sender, the route, and the exact reply RCPT
// TO would get -- without sending or queuing anything. The control socket's
// `explain` command; the daemon (gateway/main) implements it, since only it
// knows the categorizer, the router and the virtual servers together.
//
// The answer is a control Response whose records are, in order:
//   explain   address, sender, virtual_server, domain, authenticated, domain_class, rcpt_reply,
//             rcpt_assumption (the client the reply assumes)
//   sender    address, dn, groups (count of its groups) [when there is a sender]
//   search    n, base, scope, filter, entries, duration_us, result (one per LDAP search or
//             base read, the root DSE read included, in order)
//   object    address, dn, class, matched (the attribute that matched the address)
//   recipient address, depth, parent, state, resolution, dn, target, status, reply_code,
//             diagnostic (one per recipient after categorization; depth 0 is the
//             address asked about, members of expanded groups follow with depth+1)
//   route     address, next_hop, kind, connector, address_space, cost, host, detail
//   cache     lookups, hits (look-ups the explanation's own cache answered)
// Must be awaited on QueueAdmin::executor() (the control loop). Never throws: a
// directory outage is part of the answer (rcpt_reply 451 4.4.3).
#pragma once

#include "gateway/common/asio.h"
#include "gateway/control/protocol.h"

namespace gw::control {

class Explainer {
 public:
  virtual ~Explainer() = default;
  virtual asio::awaitable<Response> explain(ExplainCommand command) = 0;
};

}  // namespace gw::control
