// Categorizer: the categorizer as the gateway uses it, at RCPT time and after queuing.
//
// check_recipient() answers RCPT TO: Accept, Reject{kind} (unknown in an authoritative domain ->
// UnknownRecipient, delivery restriction, size, ambiguity, server-FQDN domain, bad syntax, too many
// recipients for the sender) or TryLater (directory unreachable or slow: the gateway answers
// 451 4.4.3). Unknown recipients of non-authoritative and remote domains are accepted, and so are
// unknown recipients of authoritative domains when the virtual server that receives the message
// forwards unresolved recipients to a host (Messages.forward_unresolved_to_host): categorize()
// then stamps them REMOTE (no object DN, no primary address) so the router sends them there.
// categorize() resolves every PENDING recipient of a queued envelope and stamps the outcome into
// it: resolution, state, enhanced status, reply code and text (from gateway/dsn's status table).
// Groups become EXPANDED and their members are appended as new recipients (ORCPT = the address
// the client gave, so reports name the group); forwarded copies (deliverAndRedirect) are appended
// too. A group that reaches nobody fails 5.2.4 (GroupWithoutRecipients) and its failed members are
// appended beside it: a recipient never ends "expanded" into nothing. On a directory error the envelope is left untouched and
// the error returned, so the message waits in "awaiting directory lookup": an outage never
// bounces mail. Runs on the caller's executor (single-threaded), like the DirectoryClient.
// Not responsible for: relay decisions (smtp::Session), routing, writing the envelope to disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <variant>

#include "categorizer/directory_cache.h"
#include "categorizer/directory_client.h"
#include "categorizer/resolver.h"
#include "gateway/common/asio.h"
#include "gateway/common/failure_kind.h"
#include "gateway/common/result.h"
#include "proto/envelope.pb.h"
#include "proto/metabase.pb.h"

namespace gw::categorizer {

struct Accept {};
struct Reject {
  FailureKind kind;
  std::string detail;
};
struct TryLater {
  std::string reason;
};
using RecipientVerdict = std::variant<Accept, Reject, TryLater>;

struct CategorizerOptions {
  ResolverOptions resolver;
  DirectoryCache::Options cache;
  bool use_cache = true;
  // Ids of the virtual servers with a forward_unresolved_to_host (gwSmtpForwardUnresolvedToHost).
  std::unordered_set<std::string> forward_unresolved_virtual_servers;
  // Some connector accepts or rejects senders by group: categorize() then looks
  // up the sender's groups and stamps them into the envelope for the router.
  bool connectors_restrict_by_group = false;

  // Bases, limits and sizes from the metabase (directory endpoints, message delivery defaults).
  static CategorizerOptions from_metabase(const metabase::Metabase& metabase);
};

struct CategorizerStats {
  ResolverStats resolver;
  std::size_t cache_entries = 0;
  std::uint64_t recipients_checked = 0;
  std::uint64_t messages_categorized = 0;
  std::uint64_t try_later = 0;
};

class Categorizer {
 public:
  Categorizer(DirectoryClient& client, const metabase::Metabase& metabase, CategorizerOptions options);
  Categorizer(DirectoryClient& client, const metabase::Metabase& metabase)
      : Categorizer(client, metabase, CategorizerOptions::from_metabase(metabase)) {}

  // The sender of a message as the directory knows it (authenticated = the session used AUTH).
  // SenderGroups::WhenNeeded leaves its groups to check_recipient(), which looks them up only
  // for a recipient restricted by group.
  asio::awaitable<Result<SenderIdentity>> resolve_sender(std::string address, bool authenticated,
                                                         SenderGroups groups = SenderGroups::Eager);

  // `accepted_so_far` = recipients already accepted in this transaction (for msExchRecipLimit);
  // `declared_size` = the MAIL FROM SIZE= value, 0 when not given; `virtual_server_id` = the
  // virtual server the session belongs to (its forward-unresolved setting applies).
  asio::awaitable<RecipientVerdict> check_recipient(std::string address, const SenderIdentity& sender,
                                                    std::size_t accepted_so_far = 0,
                                                    std::uint64_t declared_size = 0,
                                                    std::string virtual_server_id = {});

  asio::awaitable<Result<void>> categorize(envelope::Envelope& envelope);

  CategorizerStats stats() const;
  void clear_cache() { cache_.clear(); }

 private:
  UnresolvedPolicy unresolved_policy(const std::string& virtual_server_id) const;

  DirectoryCache cache_;
  Resolver resolver_;
  std::unordered_set<std::string> forward_unresolved_virtual_servers_;
  bool connectors_restrict_by_group_ = false;
  std::uint64_t recipients_checked_ = 0;
  std::uint64_t messages_categorized_ = 0;
  std::uint64_t try_later_ = 0;
};

}  // namespace gw::categorizer
