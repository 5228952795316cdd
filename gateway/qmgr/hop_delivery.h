// HopDelivery: the seam between a delivery pass and the network. A pass
// decides which recipients of a message go to which next hop and what each
// answer means for the envelope; a HopDelivery carries out one transaction for
// one group of recipients that share a next hop and reports what the peer
// said. The gateway's implementation is NetworkDelivery (DNS, the connection
// pool, SMTP/LMTP over TCP and TLS); pass tests script the answers instead, so
// a pass is tested without sockets.
// Contract: deliver() never throws; its report has one result per recipient of
// the attempt's message, in order, unless not_attempted is set. It runs on the
// caller's executor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/delivery/client_session.h"
#include "gateway/qmgr/outcome.h"
#include "gateway/qmgr/settings.h"
#include "gateway/routing/router.h"
#include "proto/envelope.pb.h"
#include "proto/metabase.pb.h"

namespace gw::qmgr {

// One transaction: one message's recipients that share a next hop.
struct HopAttempt {
  QueueId id;
  const envelope::Envelope* envelope = nullptr;
  routing::NextHop hop;
  std::string hop_name;                      // next_hop.h: the hop's one name
  const metabase::VirtualServer* vs = nullptr;  // the virtual server that accepted the message
  SettingsPtr settings;
  delivery::OutboundMessage message;         // its recipients in the group's order
};

struct HopReport {
  // Set when nothing was sent (the hop's hosts could not be found, the body
  // could not be read): the outcome of every recipient.
  std::optional<Outcome> not_attempted;
  delivery::MessageResult result;            // otherwise: one per recipient
  // The host that held the transaction (its name, the remote MTA in reports);
  // empty when no host of the hop would take a session at all (refused, no
  // greeting, TLS required but not offered): the hop itself is in trouble.
  std::string remote_mta;
  std::vector<std::string> attempts;         // one line per host tried, for the log
};

class HopDelivery {
 public:
  virtual ~HopDelivery() = default;
  virtual asio::awaitable<HopReport> deliver(const HopAttempt& attempt) = 0;
};

}  // namespace gw::qmgr
