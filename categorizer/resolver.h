// Resolver: who each recipient of a message is, according to the directory. Pure logic over a
// DirectoryClient; no SMTP, no sockets of its own.
//
// Contract:
// - Batching: all addresses of a call are looked up together, in OR filters of up to
//   `batch_size` values: (|(proxyAddresses=smtp:a)(mail=a)(proxyAddresses=smtp:b)(mail=b)...).
//   Entries fetched by DN (group members, alternate recipients, stores, servers) are fetched the
//   same way on the DN attribute of the directory's kind (`entryDN` on OpenLDAP, `distinguishedName`
//   on Active Directory, from DirectoryClient::kind()), one level of group nesting at a time, so a
//   10,000-member group costs about 10,000 / batch_size searches. A DN the batch does not return is
//   read on its own (base scope): only the server's noSuchObject makes it absent, so a filter the
//   server does not understand can cost time but never members. Answers are cached in the optional
//   DirectoryCache (positive and negative).
// - Objects: mailbox user (homeMDB -> store -> msExchOwningServer, or three RDNs up -> server ->
//   networkAddress "ncacn_ip_tcp:<fqdn>"); contact or mail-enabled user (targetAddress "SMTP:x");
//   group (member, expanded recursively with a message-wide visited set: no loops, one copy per
//   object); altRecipient with or without deliverAndRedirect. Computer objects (objectClass
//   computer, which AD derives from user) are never recipients. Delivery restrictions (authOrig,
//   unauthOrig, dLMemSubmitPerms, dLMemRejectPerms, msExchRequireAuthToSendTo) and delivContLength
//   apply to every object reached, groups included.
// - Failures are gw::FailureKind values (gateway/common/failure_kind.h); gateway/dsn's status table
//   turns them into codes and text. A failure of an expanded member is reported beside the group,
//   never instead of it; a failure of the recipient itself (or of its forward-only alternate)
//   replaces its deliveries. A member DN the directory says does not exist is such a member
//   failure (CategorizerFailure), never skipped in silence.
// - Nothing vanishes: a group (or forwarding chain) none of whose objects receives a copy -- no
//   members, only members without mail attributes, only failed members -- fails the recipient
//   with GroupWithoutRecipients (5.2.4, naming the group), its failed members still reported beside
//   it. An object that receives its copy through another recipient of the message counts as
//   receiving it. At Depth::Shallow (RCPT) a group without any member value fails the same way.
// - Unknown addresses of an authoritative domain fail UnknownRecipient, or, with
//   UnresolvedPolicy::Forward (the accepting virtual server forwards unresolved recipients), become
//   a Remote delivery marked forwarded_unresolved for the router to send to that host.
// - Ranged values (Active Directory returns "member;range=0-1499" for large groups): every entry
//   of a search is completed with base searches for "member;range=1500-*" and so on before use
//   (ranged_attribute.h); servers without ranges are unaffected.
// - Errors (Result): only directory errors (DirectoryErrc). The caller answers 451 4.4.3 or keeps
//   the message waiting; a directory outage never turns into a failure of a recipient.
// Not responsible for: routing (the router picks next hops), SMTP replies, the envelope format
// (Categorizer stamps the outcome into the envelope).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "categorizer/directory_cache.h"
#include "categorizer/directory_client.h"
#include "categorizer/domain_classifier.h"
#include "gateway/common/asio.h"
#include "gateway/common/failure_kind.h"
#include "gateway/common/result.h"

namespace gw::categorizer {

// A mailbox server as the metabase knows it (MailboxServer.store_dns -> dn, fqdn).
struct KnownHomeServer {
  std::string server_dn;
  std::string fqdn;
};

struct ResolverOptions {
  std::string recipient_base_dn;         // gwRecipientBaseDN (domain NC)
  std::string config_base_dn;            // configuration NC (stores, servers)
  // Values per OR filter. 200 addresses make a filter of 400 terms, about 15 KB (200 DNs about
  // 25 KB): far below slapd's sockbuf_max_incoming_auth (4 MiB) and AD's MaxReceiveBuffer
  // (10 MB), answered from the equality indexes in one pass, and at most 200 entries, below a
  // 500-entry page. Larger batches gain little: the searches left are per message, not per value.
  std::size_t batch_size = 200;
  // Normalized store DN -> its server, from the metabase (metabase-sync replicates every mailbox
  // server's stores). Stores listed here need no directory search; others are looked up.
  std::unordered_map<std::string, KnownHomeServer> known_stores;
  int max_expansion_depth = 16;          // nested group levels
  std::size_t max_expanded_members = 100000;  // member DNs per recipient, all levels together
  int max_forward_hops = 8;              // altRecipient chain length
  std::uint32_t default_recipient_limit = 5000;  // msExchRecipLimit on CN=Message Delivery
  std::uint64_t default_receive_size_kb = 0;     // delivContLength on CN=Message Delivery; 0 = none
};

// The envelope sender as the directory knows it.
struct SenderIdentity {
  std::string address;      // empty = null sender
  bool authenticated = false;
  std::string dn;           // empty: not a directory object
  std::unordered_set<std::string> group_dns;  // normalized DNs of every group it is in, transitively
  // False: group_dns not looked up yet (SenderGroups::WhenNeeded); resolve() looks them up the
  // first time an object with dLMemSubmitPerms or dLMemRejectPerms is reached.
  bool groups_resolved = true;
  std::uint32_t recipient_limit = 5000;
  std::optional<FailureKind> failure;  // BadSenderAddress: the whole message fails
};

enum class ResolutionKind { Mailbox, Contact, Remote, NonAuthoritative };

// One copy of the message to deliver.
struct Delivery {
  ResolutionKind kind = ResolutionKind::Remote;
  std::string address;           // where it goes: primary address, targetAddress or the address itself
  std::string object_dn;
  std::string primary_address;   // the object's primary SMTP address
  std::string target_address;    // contacts
  std::string home_server_dn;    // mailboxes
  std::string home_server_fqdn;  // mailboxes
  std::string home_mdb_dn;       // mailboxes: homeMDB as the directory has it
  std::string expanded_from_dn;  // group (or forwarding object) that produced it
  bool replaces_recipient = false;  // the recipient itself or its forward-only alternate
  bool forwarded_unresolved = false;  // unknown in an authoritative domain, UnresolvedPolicy::Forward
};

struct Failure {
  FailureKind kind;
  std::string detail;  // for logs and the diagnostic text: DN, attribute
};

struct MemberFailure {
  std::string address;  // the member's primary address, or its DN when it has none
  std::string object_dn;
  std::string expanded_from_dn;
  Failure failure;
};

struct RecipientOutcome {
  std::string address;                 // as given
  std::optional<Failure> failure;      // the recipient itself failed: no deliveries
  bool is_group = false;               // expanded: deliveries are its members
  std::string object_dn;               // the object the address resolved to, if any
  std::string primary_address;
  std::vector<Delivery> deliveries;
  std::vector<MemberFailure> member_failures;
};

// Eager: resolve_sender() also looks up the sender's groups (one search per nesting level).
// WhenNeeded: only when a recipient's restrictions name groups (most messages never need them).
enum class SenderGroups { Eager, WhenNeeded };

// Shallow: what RCPT TO needs (the object, restrictions, size). Full: expansion and home servers.
enum class Depth { Shallow, Full };

// What happens to an address of an authoritative domain that no directory object carries.
// Reject: UnknownRecipient (5.1.1). Forward: the virtual server that accepted the message has a
// "forward unresolved recipients to host" (gwSmtpForwardUnresolvedToHost), so the address is a
// Remote delivery marked `forwarded_unresolved`; the router sends Remote recipients of an
// authoritative domain to that host.
enum class UnresolvedPolicy { Reject, Forward };

struct ResolverStats {
  std::uint64_t searches = 0;        // DirectoryClient::search calls
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t batches = 0;         // OR-filter searches
  std::uint64_t batched_values = 0;  // values in them
  std::uint64_t largest_batch = 0;
  std::uint64_t expanded_members = 0;
  std::uint64_t dn_reads = 0;        // base-scope reads of DNs a batch did not return
  std::uint64_t range_continuations = 0;  // "member;range=N-*" searches (Active Directory)
};

class Resolver {
 public:
  Resolver(DirectoryClient& client, DomainClassifier domains, ResolverOptions options,
           DirectoryCache* cache = nullptr);

  asio::awaitable<Result<SenderIdentity>> resolve_sender(std::string address, bool authenticated,
                                                         SenderGroups groups = SenderGroups::Eager);

  // Looks the addresses up in as few searches as possible and keeps the answers in the cache, so
  // that the sender and the recipients of a message share one batch. No-op without a cache.
  asio::awaitable<Result<void>> prefetch_addresses(std::vector<std::string> addresses);

  // One outcome per address, in order. `message_size` in bytes (0 = unknown: no size check).
  asio::awaitable<Result<std::vector<RecipientOutcome>>> resolve(
      std::vector<std::string> addresses, const SenderIdentity& sender, std::uint64_t message_size, Depth depth,
      UnresolvedPolicy unresolved = UnresolvedPolicy::Reject);

  const ResolverStats& stats() const noexcept { return stats_; }
  const DomainClassifier& domains() const noexcept { return domains_; }
  const ResolverOptions& options() const noexcept { return options_; }

 private:
  using EntryMap = std::unordered_map<std::string, EntryPtr>;  // normalized DN -> entry (null: absent)
  asio::awaitable<Result<std::unordered_map<std::string, std::vector<EntryPtr>>>> lookup_addresses(
      const std::vector<std::string>& addresses);
  asio::awaitable<Result<EntryMap>> fetch_by_dn(const std::vector<std::string>& dns);
  asio::awaitable<Result<std::vector<std::string>>> groups_containing(const std::vector<std::string>& dns);
  asio::awaitable<Result<void>> resolve_sender_groups(SenderIdentity& sender);
  asio::awaitable<Result<std::vector<Entry>>> run_search(SearchRequest request, std::size_t batch_values);
  // AD range retrieval: asks for the rest of every "attr;range=a-b" value set of `entry`.
  asio::awaitable<Result<void>> complete_ranged_attributes(Entry& entry);
  // The directory's kind, asked once; and what every fetch asks the directory for.
  asio::awaitable<Result<DirectoryKind>> directory_kind();
  const std::vector<std::string>& attributes() const;

  DirectoryClient& client_;
  DomainClassifier domains_;
  ResolverOptions options_;
  DirectoryCache* cache_;
  ResolverStats stats_;
  std::optional<DirectoryKind> kind_;
};

}  // namespace gw::categorizer
