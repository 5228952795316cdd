// Next hops as the queue manager names and groups them.
//
// queue_key() is the one answer to "in which named queue do recipients routed
// to this hop wait": the router's queue_place() as the queue index's key. Its
// display name ("Remote delivery [partner.example]", "Local delivery
// [mbx1.example.com]") is the hop's name everywhere else too -- the connection
// pool's key, the hop's concurrency and health entry, log lines -- so a hop is
// named in one place. Pure functions; no I/O.
#pragma once

#include <string>

#include "gateway/queue/named_queues.h"
#include "gateway/routing/router.h"

namespace gw::qmgr {

queue::QueueKey queue_key(const routing::NextHop& hop);
// queue::display_name(queue_key(hop)); empty for a routing failure.
std::string hop_name(const routing::NextHop& hop);
// The connector a smart-host or DNS hop belongs to; empty for other hops.
std::string connector_of(const routing::NextHop& hop);
// A remote-triggered connector's hop: held until ETRN or ATRN.
bool held_for_remote_trigger(const routing::NextHop& hop);
// The forward-path a recipient is sent to: a contact goes to its target address.
std::string delivery_address(const routing::CategorizedRecipient& recipient);

}  // namespace gw::qmgr
