// Where the spool keeps a queued message, for readers outside gatewayd that
// look at the files themselves (gatewayctl show --content, like postcat): the
// one statement of the layout, which Spool uses too.
//   <root>/incoming/<id>.body, <id>.env   a commit in progress
//   <root>/queue/<id>.body, <id>.env      queued messages
//   <root>/badmail/                        what could not be processed
#pragma once

#include <filesystem>

#include "gateway/common/queue_id.h"

namespace gw::queue {

inline constexpr const char* kIncomingDirectory = "incoming";
inline constexpr const char* kQueueDirectory = "queue";

// <root>/queue/<id>.body
inline std::filesystem::path queued_body_path(const std::filesystem::path& root, const QueueId& id) {
  return root / kQueueDirectory / (id.str() + ".body");
}

}  // namespace gw::queue
