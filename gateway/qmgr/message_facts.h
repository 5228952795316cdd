// What a delivery pass reads off a queued message: its priority (from the
// header section, for connectors that restrict by priority), each recipient as
// the router sees it, and the outbound transaction for a group of recipients.
// Pure except read_priority(), which reads the body's head on the spool's pool.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/delivery/client_session.h"
#include "gateway/queue/spool.h"
#include "gateway/routing/router.h"
#include "proto/envelope.pb.h"

namespace gw::qmgr {

// The priority a header section asks for: Importance (RFC 2156: high, normal,
// low), else Priority (urgent, normal, non-urgent), else X-Priority (1-2 high,
// 3 normal, 4-5 low). Normal when none is present.
routing::Priority priority_of(std::string_view headers);

// The message's priority from the first 64 KiB of its body, read on the
// spool's pool (never on the caller's loop); Normal when it cannot be read.
asio::awaitable<routing::Priority> read_priority(queue::Spool& spool, const QueueId& id);

// Recipient `index` as the router sees it, with the message facts connector
// restrictions look at; nullopt when it was never categorized.
std::optional<routing::CategorizedRecipient> categorized_for_routing(const envelope::Envelope& env, int index,
                                                                     routing::Priority priority);

// The transaction for `recipients` (envelope indices) sent to `addresses`
// (their forward-paths, same order).
delivery::OutboundMessage outbound_message(const envelope::Envelope& env, const std::vector<int>& recipients,
                                           const std::vector<std::string>& addresses);

}  // namespace gw::qmgr
