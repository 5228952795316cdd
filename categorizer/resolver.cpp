#include "categorizer/resolver.h"

#include <algorithm>
#include <charconv>

#include "categorizer/names.h"
#include "categorizer/ranged_attribute.h"
#include "gateway/common/log.h"
#include "gateway/events/bus.h"

namespace gw::categorizer {
namespace {

using ldap::FilterBuilder;

const gw::log::Context kLog{"categorizer"};

// Everything the resolver reads from a recipient, a store or a server. One attribute list for all
// fetches keeps the DN cache uniform.
const std::vector<std::string> kAttributes = {
    "objectClass",      "mail",          "proxyAddresses",     "homeMDB",          "targetAddress",
    "member",           "altRecipient",  "deliverAndRedirect", "authOrig",         "unauthOrig",
    "dLMemSubmitPerms", "dLMemRejectPerms", "msExchRequireAuthToSendTo", "delivContLength",
    "msExchRecipLimit", "msExchOwningServer", "networkAddress"};

// Active Directory: `member` asked for in AD's default MaxValRange window. A Windows DC answers a
// plain `member` with at most that many values anyway ("member;range=0-1499"); Samba answers it
// whole. Asking for the window makes both answer alike, so the range continuation is the same code
// on both (and a DC configured with a smaller MaxValRange answers a smaller window, which the
// continuation handles too).
const std::vector<std::string> kActiveDirectoryAttributes = [] {
  auto attributes = kAttributes;
  for (auto& a : attributes)
    if (a == "member") a = "member;range=0-1499";
  return attributes;
}();

// AD's computer class derives from user, so (objectClass=user) and the structural chain of a
// computer look like a user's: a computer is never a recipient.
bool is_computer(const Entry& e) { return e.is_a("computer"); }

bool is_true(std::optional<std::string_view> v) { return v && iequals(*v, "TRUE"); }

std::optional<std::uint64_t> to_number(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n < 0) return std::nullopt;
  return static_cast<std::uint64_t>(n);
}

// The primary SMTP address: the upper-case "SMTP:" proxy, else mail.
std::string primary_address_of(const Entry& e) {
  for (const auto& p : e.values("proxyAddresses"))
    if (p.rfind("SMTP:", 0) == 0) return p.substr(5);
  if (auto mail = e.first("mail")) return std::string(*mail);
  return {};
}

bool entry_has_address(const Entry& e, std::string_view address) {
  for (const auto& p : e.values("proxyAddresses"))
    if (p.size() == address.size() + 5 && iequals(std::string_view(p).substr(0, 5), "smtp:") &&
        iequals(std::string_view(p).substr(5), address))
      return true;
  for (const auto& m : e.values("mail"))
    if (iequals(m, address)) return true;
  return false;
}

bool mail_enabled(const Entry& e) {
  return e.has("mail") || e.has("proxyAddresses") || e.has("targetAddress");
}

std::optional<Failure> restriction_failure(const Entry& e, const SenderIdentity& sender) {
  if (is_true(e.first("msExchRequireAuthToSendTo")) && !sender.authenticated)
    return Failure{FailureKind::SenderRestricted, e.dn + " accepts only authenticated senders"};
  const std::string sender_dn = sender.dn.empty() ? std::string{} : normalize_dn(sender.dn);
  for (const auto& v : e.values("unauthOrig"))
    if (!sender_dn.empty() && normalize_dn(v) == sender_dn)
      return Failure{FailureKind::SenderRestricted, e.dn + " rejects the sender (unauthOrig)"};
  for (const auto& v : e.values("dLMemRejectPerms"))
    if (sender.group_dns.contains(normalize_dn(v)))
      return Failure{FailureKind::SenderRestricted, e.dn + " rejects members of " + v};
  const auto& accept = e.values("authOrig");
  const auto& accept_groups = e.values("dLMemSubmitPerms");
  if (accept.empty() && accept_groups.empty()) return std::nullopt;
  for (const auto& v : accept)
    if (!sender_dn.empty() && normalize_dn(v) == sender_dn) return std::nullopt;
  for (const auto& v : accept_groups)
    if (sender.group_dns.contains(normalize_dn(v))) return std::nullopt;
  return Failure{FailureKind::SenderRestricted, e.dn + " accepts mail only from listed senders"};
}

}  // namespace

Resolver::Resolver(DirectoryClient& client, DomainClassifier domains, ResolverOptions options,
                   DirectoryCache* cache)
    : client_(client), domains_(std::move(domains)), options_(std::move(options)), cache_(cache) {
  if (options_.batch_size == 0) options_.batch_size = 1;
}

asio::awaitable<Result<DirectoryKind>> Resolver::directory_kind() {
  if (!kind_) {
    auto kind = co_await client_.kind();
    if (!kind) co_return std::unexpected(kind.error());
    kind_ = *kind;
  }
  co_return *kind_;
}

const std::vector<std::string>& Resolver::attributes() const {
  return kind_ == DirectoryKind::ActiveDirectory ? kActiveDirectoryAttributes : kAttributes;
}

asio::awaitable<Result<std::vector<Entry>>> Resolver::run_search(SearchRequest request, std::size_t batch_values) {
  ++stats_.searches;
  ++stats_.batches;
  stats_.batched_values += batch_values;
  stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch_values);
  auto entries = co_await client_.search(std::move(request));
  if (!entries) co_return std::move(entries);
  for (auto& e : *entries) {
    auto completed = co_await complete_ranged_attributes(e);
    if (!completed) co_return std::unexpected(completed.error());
  }
  co_return std::move(entries);
}

asio::awaitable<Result<void>> Resolver::complete_ranged_attributes(Entry& entry) {
  auto pending = fold_ranged_attributes(entry);
  while (!pending.empty()) {
    const RangeContinuation next = std::move(pending.back());
    pending.pop_back();
    // Past the expansion limit the group fails anyway; fetching more would only cost time.
    if (entry.values(next.attribute).size() > options_.max_expanded_members) continue;
    SearchRequest request{entry.dn, SearchScope::Base, FilterBuilder::present("objectClass"), {next.request}, 0};
    ++stats_.searches;
    ++stats_.range_continuations;
    auto more = co_await client_.search(std::move(request));
    if (!more) co_return std::unexpected(more.error());
    if (more->empty())
      co_return gw::make_error(make_error_code(DirectoryErrc::Protocol),
                               entry.dn + " vanished while reading " + next.request);
    Entry& chunk = more->front();
    bool progressed = false;
    for (const auto& [description, values] : chunk.attributes) {
      const auto range = parse_range(description);
      // The server must answer with the values at or after the ones asked for.
      if (range && iequals(range->attribute, next.attribute) && !values.empty()) {
        const auto asked = parse_range(next.request);
        progressed = asked && range->low >= asked->low;
      }
    }
    if (!progressed)
      co_return gw::make_error(make_error_code(DirectoryErrc::Protocol),
                               entry.dn + ": no progress reading " + next.request);
    for (auto& c : fold_ranged_attributes(chunk)) pending.push_back(std::move(c));
    auto& plain = entry.attributes[next.attribute];
    for (auto& v : chunk.attributes[next.attribute]) plain.push_back(std::move(v));
  }
  co_return Result<void>{};
}

asio::awaitable<Result<std::unordered_map<std::string, std::vector<EntryPtr>>>> Resolver::lookup_addresses(
    const std::vector<std::string>& addresses) {
  std::unordered_map<std::string, std::vector<EntryPtr>> found;
  std::vector<std::string> misses;
  for (const auto& a : addresses) {
    if (found.contains(a)) continue;
    if (cache_ != nullptr) {
      if (auto hit = cache_->get("a:" + a)) {
        ++stats_.cache_hits;
        events::emit(events::DirectoryCacheLookup{{}, true});
        found.emplace(a, std::move(*hit));
        continue;
      }
      ++stats_.cache_misses;
      events::emit(events::DirectoryCacheLookup{{}, false});
    }
    found.emplace(a, std::vector<EntryPtr>{});
    misses.push_back(a);
  }
  if (!misses.empty()) {
    if (auto kind = co_await directory_kind(); !kind) co_return std::unexpected(kind.error());
  }
  for (std::size_t start = 0; start < misses.size(); start += options_.batch_size) {
    const std::size_t end = std::min(misses.size(), start + options_.batch_size);
    std::vector<ldap::Filter> terms;
    for (std::size_t i = start; i < end; ++i) {
      terms.push_back(FilterBuilder::equals("proxyAddresses", "smtp:" + misses[i]));
      terms.push_back(FilterBuilder::equals("mail", misses[i]));
    }
    SearchRequest request{options_.recipient_base_dn, SearchScope::Subtree, FilterBuilder::any_of(std::move(terms)),
                          attributes(), 0};
    auto entries = co_await run_search(std::move(request), end - start);
    if (!entries) co_return std::unexpected(entries.error());
    std::vector<EntryPtr> shared;
    for (auto& e : *entries)
      if (!is_computer(e)) shared.push_back(std::make_shared<const Entry>(std::move(e)));
    for (std::size_t i = start; i < end; ++i) {
      auto& slot = found[misses[i]];
      // The filter may match more than the literal address (server-side matching rules); only
      // entries that really carry the address count.
      for (const auto& e : shared)
        if (entry_has_address(*e, misses[i])) slot.push_back(e);
      if (cache_ != nullptr) cache_->put("a:" + misses[i], slot);
    }
    if (cache_ != nullptr)
      for (const auto& e : shared) cache_->put("d:" + normalize_dn(e->dn), {e});
  }
  co_return found;
}

asio::awaitable<Result<Resolver::EntryMap>> Resolver::fetch_by_dn(const std::vector<std::string>& dns) {
  EntryMap out;
  const std::string config_base = normalize_dn(options_.config_base_dn);
  std::vector<std::string> config_misses;
  std::vector<std::string> recipient_misses;
  for (const auto& dn : dns) {
    if (out.contains(dn)) continue;
    if (cache_ != nullptr) {
      if (auto hit = cache_->get("d:" + dn)) {
        ++stats_.cache_hits;
        events::emit(events::DirectoryCacheLookup{{}, true});
        out.emplace(dn, hit->empty() ? nullptr : hit->front());
        continue;
      }
      ++stats_.cache_misses;
      events::emit(events::DirectoryCacheLookup{{}, false});
    }
    out.emplace(dn, nullptr);
    (!config_base.empty() && dn_is_within(dn, config_base) ? config_misses : recipient_misses).push_back(dn);
  }
  if (recipient_misses.empty() && config_misses.empty()) co_return out;
  auto kind = co_await directory_kind();
  if (!kind) co_return std::unexpected(kind.error());
  const std::string dn_attribute(dn_filter_attribute(*kind));
  std::vector<std::string> unanswered;  // DNs a batch did not return
  for (auto* group : {&recipient_misses, &config_misses}) {
    const std::string& base = group == &config_misses ? options_.config_base_dn : options_.recipient_base_dn;
    for (std::size_t start = 0; start < group->size(); start += options_.batch_size) {
      const std::size_t end = std::min(group->size(), start + options_.batch_size);
      std::vector<ldap::Filter> terms;
      for (std::size_t i = start; i < end; ++i) terms.push_back(FilterBuilder::equals(dn_attribute, (*group)[i]));
      SearchRequest request{base, SearchScope::Subtree, FilterBuilder::any_of(std::move(terms)), attributes(), 0};
      auto entries = co_await run_search(std::move(request), end - start);
      if (!entries) co_return std::unexpected(entries.error());
      for (auto& e : *entries) {
        auto dn = normalize_dn(e.dn);
        auto ptr = std::make_shared<const Entry>(std::move(e));
        if (auto it = out.find(dn); it != out.end()) it->second = ptr;
      }
      for (std::size_t i = start; i < end; ++i) {
        const auto& entry = out[(*group)[i]];
        if (!entry) unanswered.push_back((*group)[i]);
        else if (cache_ != nullptr) cache_->put("d:" + (*group)[i], {entry});
      }
    }
  }
  // A batch that leaves a DN out proves nothing: the entry may lie outside the search base, or the
  // server may not evaluate the DN filter (AD has no entryDN and answers such a filter with zero
  // entries and no error). Only a read of the DN itself that ends in noSuchObject makes it absent.
  for (const auto& dn : unanswered) {
    ++stats_.searches;
    ++stats_.dn_reads;
    std::vector<std::string> wanted = attributes();  // named: g++ 12 and temporaries in co_await
    auto read = co_await client_.read(dn, std::move(wanted));
    if (!read) co_return std::unexpected(read.error());
    EntryPtr entry;
    if (*read) {
      Entry& e = **read;
      auto completed = co_await complete_ranged_attributes(e);
      if (!completed) co_return std::unexpected(completed.error());
      entry = std::make_shared<const Entry>(std::move(e));
      gw::log::debug(kLog, "{} found by reading it, not by ({}=...)", dn, dn_attribute);
    }
    out[dn] = entry;
    if (cache_ != nullptr) cache_->put("d:" + dn, entry ? std::vector<EntryPtr>{entry} : std::vector<EntryPtr>{});
  }
  co_return out;
}

asio::awaitable<Result<std::vector<std::string>>> Resolver::groups_containing(const std::vector<std::string>& dns) {
  std::vector<std::string> groups;
  std::vector<std::string> misses;
  for (const auto& dn : dns) {
    if (cache_ != nullptr) {
      if (auto hit = cache_->get("m:" + dn)) {
        ++stats_.cache_hits;
        events::emit(events::DirectoryCacheLookup{{}, true});
        for (const auto& g : *hit) groups.push_back(normalize_dn(g->dn));
        continue;
      }
      ++stats_.cache_misses;
      events::emit(events::DirectoryCacheLookup{{}, false});
    }
    misses.push_back(dn);
  }
  for (std::size_t start = 0; start < misses.size(); start += options_.batch_size) {
    const std::size_t end = std::min(misses.size(), start + options_.batch_size);
    std::vector<ldap::Filter> terms;
    for (std::size_t i = start; i < end; ++i) terms.push_back(FilterBuilder::equals("member", misses[i]));
    SearchRequest request{options_.recipient_base_dn, SearchScope::Subtree, FilterBuilder::any_of(std::move(terms)),
                          {"member"}, 0};
    auto entries = co_await run_search(std::move(request), end - start);
    if (!entries) co_return std::unexpected(entries.error());
    std::unordered_map<std::string, std::vector<EntryPtr>> per_member;
    for (auto& e : *entries) {
      auto group = std::make_shared<Entry>();
      group->dn = e.dn;
      groups.push_back(normalize_dn(e.dn));
      std::unordered_set<std::string> members;
      for (const auto& m : e.values("member")) members.insert(normalize_dn(m));
      for (std::size_t i = start; i < end; ++i)
        if (members.contains(misses[i])) per_member[misses[i]].push_back(group);
    }
    if (cache_ != nullptr)
      for (std::size_t i = start; i < end; ++i) cache_->put("m:" + misses[i], per_member[misses[i]]);
  }
  co_return groups;
}

asio::awaitable<Result<void>> Resolver::prefetch_addresses(std::vector<std::string> addresses) {
  if (cache_ == nullptr) co_return Result<void>{};
  std::vector<std::string> keys;
  for (const auto& a : addresses) {
    auto parsed = parse_mail_address(a);
    if (parsed && domains_.is_local(parsed->domain)) keys.push_back(to_lower(parsed->str()));
  }
  auto found = co_await lookup_addresses(keys);
  if (!found) co_return std::unexpected(found.error());
  co_return Result<void>{};
}

asio::awaitable<Result<SenderIdentity>> Resolver::resolve_sender(std::string address, bool authenticated,
                                                                 SenderGroups groups) {
  SenderIdentity sender;
  sender.address = address;
  sender.authenticated = authenticated;
  sender.recipient_limit = options_.default_recipient_limit;
  if (address.empty()) co_return sender;
  auto parsed = parse_mail_address(address);
  if (!parsed || !domains_.is_local(parsed->domain)) co_return sender;
  const std::string key = to_lower(parsed->str());
  std::vector<std::string> keys{key};
  auto found = co_await lookup_addresses(keys);
  if (!found) co_return std::unexpected(found.error());
  const auto& entries = (*found)[key];
  if (entries.size() != 1) co_return sender;  // unknown or ambiguous: not an identity to trust
  const Entry& e = *entries.front();
  sender.dn = e.dn;
  const auto mail = e.first("mail");
  if (!mail || !parse_mail_address(*mail)) sender.failure = FailureKind::BadSenderAddress;
  if (auto limit = to_number(e.first("msExchRecipLimit")); limit && *limit > 0)
    sender.recipient_limit = static_cast<std::uint32_t>(std::min<std::uint64_t>(*limit, UINT32_MAX));
  sender.groups_resolved = false;
  if (groups == SenderGroups::Eager) {
    auto done = co_await resolve_sender_groups(sender);
    if (!done) co_return std::unexpected(done.error());
  }
  co_return sender;
}

asio::awaitable<Result<void>> Resolver::resolve_sender_groups(SenderIdentity& sender) {
  sender.groups_resolved = true;
  if (sender.dn.empty()) co_return Result<void>{};
  std::vector<std::string> frontier{normalize_dn(sender.dn)};
  for (int depth = 0; depth < options_.max_expansion_depth && !frontier.empty(); ++depth) {
    auto groups = co_await groups_containing(frontier);
    if (!groups) co_return std::unexpected(groups.error());
    frontier.clear();
    for (auto& g : *groups)
      if (sender.group_dns.insert(g).second) frontier.push_back(g);
  }
  co_return Result<void>{};
}

namespace {

// One object reached while resolving a recipient.
struct Item {
  std::size_t owner;             // index of the recipient it belongs to
  EntryPtr entry;
  std::string expanded_from_dn;
  int depth = 0;                 // group nesting level
  bool replaces_recipient = false;
  bool is_recipient = false;     // the object the address itself resolved to
  std::vector<std::string> chain;  // normalized DNs of the forwarding chain that led here
};

struct Request {  // an object to fetch by DN for the next round
  Item item;     // entry still empty
  std::string dn;             // normalized
  std::string as_written;     // the value as the directory has it, for reports
};

struct StagedDelivery {
  std::size_t owner;
  Delivery delivery;
  std::string store_dn;  // mailboxes: normalized homeMDB
  std::string member_address;
};

}  // namespace

asio::awaitable<Result<std::vector<RecipientOutcome>>> Resolver::resolve(std::vector<std::string> addresses,
                                                                          const SenderIdentity& sender,
                                                                          std::uint64_t message_size, Depth depth,
                                                                          UnresolvedPolicy unresolved) {
  std::vector<RecipientOutcome> outcomes(addresses.size());
  for (std::size_t i = 0; i < addresses.size(); ++i) outcomes[i].address = addresses[i];

  // Sender-level failures fail every recipient of the message.
  if (sender.failure || addresses.size() > sender.recipient_limit) {
    const FailureKind kind = sender.failure ? *sender.failure : FailureKind::TooManyRecipients;
    const std::string detail = sender.failure ? "sender " + sender.dn + " has no valid mail attribute"
                                              : std::to_string(addresses.size()) + " recipients, limit " +
                                                    std::to_string(sender.recipient_limit);
    for (auto& o : outcomes) o.failure = Failure{kind, detail};
    co_return outcomes;
  }

  // 1. Syntax and domain class.
  std::vector<std::optional<MailAddress>> parsed(addresses.size());
  std::vector<std::string> to_look_up;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    parsed[i] = parse_mail_address(addresses[i]);
    if (!parsed[i]) {
      outcomes[i].failure = Failure{FailureKind::BadAddressSyntax, "unparsable address"};
      continue;
    }
    switch (domains_.classify(parsed[i]->domain)) {
      case DomainClass::ServerFqdn:
        outcomes[i].failure = Failure{FailureKind::DomainIsServerFqdn, parsed[i]->domain + " is a server FQDN"};
        break;
      case DomainClass::RelayDomain:
      case DomainClass::Remote: {
        Delivery d;
        d.kind = ResolutionKind::Remote;
        d.address = addresses[i];
        d.replaces_recipient = true;
        outcomes[i].deliveries.push_back(std::move(d));
        break;
      }
      case DomainClass::AuthoritativeLocal:
      case DomainClass::NonAuthoritativeLocal:
        to_look_up.push_back(to_lower(parsed[i]->str()));
        break;
    }
  }

  // 2. One batched lookup for every local address.
  auto found = co_await lookup_addresses(to_look_up);
  if (!found) co_return std::unexpected(found.error());

  std::vector<Item> round;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (!parsed[i] || outcomes[i].failure || !outcomes[i].deliveries.empty()) continue;
    const auto& entries = (*found)[to_lower(parsed[i]->str())];
    if (entries.size() > 1) {
      std::string dns;
      for (const auto& e : entries) dns += (dns.empty() ? "" : "; ") + e->dn;
      outcomes[i].failure = Failure{FailureKind::AmbiguousRecipient, "shared by " + dns};
      continue;
    }
    if (entries.empty()) {
      const bool authoritative = domains_.classify(parsed[i]->domain) == DomainClass::AuthoritativeLocal;
      if (authoritative && unresolved == UnresolvedPolicy::Reject) {
        outcomes[i].failure = Failure{FailureKind::UnknownRecipient, "not in the directory"};
      } else {
        Delivery d;
        d.kind = authoritative ? ResolutionKind::Remote : ResolutionKind::NonAuthoritative;
        d.forwarded_unresolved = authoritative;
        d.address = addresses[i];
        d.replaces_recipient = true;
        outcomes[i].deliveries.push_back(std::move(d));
      }
      continue;
    }
    outcomes[i].object_dn = entries.front()->dn;
    outcomes[i].primary_address = primary_address_of(*entries.front());
    round.push_back(Item{i, entries.front(), {}, 0, true, true, {}});
  }

  // 3. Walk objects one level at a time so every level's DN fetches share batches.
  std::unordered_set<std::string> visited;  // objects already delivered to or expanded
  // Object -> the objects it leads to (members, alternate recipient), recorded also when the
  // target was reached before: whether a recipient ends with nobody is decided on this graph.
  std::unordered_map<std::string, std::vector<std::string>> leads_to;
  std::vector<std::size_t> skipped_members(addresses.size(), 0);  // without mail attributes, computers
  std::vector<std::size_t> members_per_owner(addresses.size(), 0);
  std::vector<StagedDelivery> staged;

  auto fail = [&](const Item& item, Failure failure) {
    if (item.replaces_recipient) {
      if (!outcomes[item.owner].failure) outcomes[item.owner].failure = std::move(failure);
      return;
    }
    const Entry& e = *item.entry;
    std::string addr = primary_address_of(e);
    outcomes[item.owner].member_failures.push_back(
        MemberFailure{addr.empty() ? e.dn : addr, e.dn, item.expanded_from_dn, std::move(failure)});
  };

  // The sender's groups matter only to objects restricted by group (dLMemSubmitPerms,
  // dLMemRejectPerms); they are looked up the first time such an object is reached.
  std::optional<SenderIdentity> sender_with_groups;
  const SenderIdentity* who = &sender;

  while (!round.empty()) {
    if (!who->groups_resolved) {
      const bool needs_groups = std::any_of(round.begin(), round.end(), [](const Item& item) {
        return item.entry->has("dLMemSubmitPerms") || item.entry->has("dLMemRejectPerms");
      });
      if (needs_groups) {
        sender_with_groups = sender;
        auto done = co_await resolve_sender_groups(*sender_with_groups);
        if (!done) co_return std::unexpected(done.error());
        who = &*sender_with_groups;
      }
    }
    std::vector<Request> requests;
    for (auto& item : round) {
      if (outcomes[item.owner].failure) continue;
      const Entry& e = *item.entry;
      const std::string dn = normalize_dn(e.dn);
      if (!item.is_recipient && (!mail_enabled(e) || is_computer(e))) {  // not a recipient: receives nothing
        ++skipped_members[item.owner];
        continue;
      }
      // Reached twice (two groups, a group and a direct recipient, two aliases of one mailbox):
      // one copy. Group cycles end here too.
      if (visited.contains(dn) && (!item.is_recipient || depth == Depth::Full)) continue;
      visited.insert(dn);

      if (auto restricted = restriction_failure(e, *who)) {
        fail(item, std::move(*restricted));
        continue;
      }
      const auto limit_kb = to_number(e.first("delivContLength"));
      const std::uint64_t limit = limit_kb ? *limit_kb : options_.default_receive_size_kb;
      if (message_size != 0 && (limit_kb || limit != 0) && message_size > limit * 1024) {
        fail(item, Failure{FailureKind::MessageTooLargeForRecipient,
                           std::to_string(message_size) + " bytes over " + std::to_string(limit) + " KB of " + e.dn});
        continue;
      }
      if (depth == Depth::Shallow) {
        // The one expansion fact RCPT time can know cheaply: a group without members has nobody.
        if (e.is_a("group") && !e.has("member"))
          fail(item, Failure{FailureKind::GroupWithoutRecipients, e.dn + " has no members"});
        continue;
      }

      if (is_computer(e)) {  // only an alternate recipient can name one: addresses never find computers
        fail(item, Failure{FailureKind::CategorizerFailure, e.dn + " is a computer, not a recipient"});
        continue;
      }
      if (e.is_a("group")) {
        if (item.replaces_recipient) outcomes[item.owner].is_group = true;
        if (item.depth >= options_.max_expansion_depth) {
          outcomes[item.owner].failure =
              Failure{FailureKind::GroupExpansionLimit, "group expansion deeper than " +
                                                           std::to_string(options_.max_expansion_depth) + " levels at " + e.dn};
          continue;
        }
        const auto& members = e.values("member");
        members_per_owner[item.owner] += members.size();
        if (members_per_owner[item.owner] > options_.max_expanded_members) {
          outcomes[item.owner].failure =
              Failure{FailureKind::GroupExpansionLimit, "group expansion limit of " +
                                                           std::to_string(options_.max_expanded_members) +
                                                           " members exceeded at " + e.dn};
          continue;
        }
        auto& edges = leads_to[dn];
        for (const auto& m : members) {
          std::string member_dn = normalize_dn(m);
          edges.push_back(member_dn);
          if (visited.contains(member_dn)) continue;
          requests.push_back(Request{Item{item.owner, nullptr, e.dn, item.depth + 1, false, false, {}},
                                     std::move(member_dn), m});
        }
        continue;
      }

      bool deliver_here = true;
      if (auto alternate = e.first("altRecipient")) {
        std::vector<std::string> chain = item.chain;
        chain.push_back(dn);
        const std::string alt = normalize_dn(*alternate);
        if (std::find(chain.begin(), chain.end(), alt) != chain.end() ||
            static_cast<int>(chain.size()) > options_.max_forward_hops) {
          fail(item, Failure{FailureKind::ForwardLoop, "altRecipient chain loops at " + e.dn});
          continue;
        }
        deliver_here = is_true(e.first("deliverAndRedirect"));
        leads_to[dn].push_back(alt);
        requests.push_back(Request{Item{item.owner, nullptr, e.dn, item.depth, item.replaces_recipient && !deliver_here,
                                        false, std::move(chain)},
                                   alt, std::string(*alternate)});
      }
      if (!deliver_here) continue;

      Delivery d;
      d.object_dn = e.dn;
      d.primary_address = primary_address_of(e);
      d.expanded_from_dn = item.expanded_from_dn;
      d.replaces_recipient = item.replaces_recipient;
      if (e.is_a("contact") || (!e.has("homeMDB") && e.has("targetAddress"))) {
        const auto target = e.first("targetAddress");
        if (!target) {
          fail(item, Failure{FailureKind::CategorizerFailure, "contact " + e.dn + " has no targetAddress"});
          continue;
        }
        const auto colon = target->find(':');
        std::optional<MailAddress> target_address;
        if (colon != std::string_view::npos && iequals(target->substr(0, colon), "smtp"))
          target_address = parse_mail_address(target->substr(colon + 1));
        if (!target_address) {
          fail(item, Failure{FailureKind::BadAddressSyntax, "targetAddress of " + e.dn + " is not SMTP:<address>"});
          continue;
        }
        std::string target_text(target->substr(colon + 1));
        // A contact's own primary proxy usually is its external targetAddress; only a target in one
        // of our own domains that names the contact itself would send the message round in circles.
        if (domains_.is_local(target_address->domain) && entry_has_address(e, target_text)) {
          fail(item, Failure{FailureKind::ForwardLoop, "targetAddress of " + e.dn + " is its own address"});
          continue;
        }
        d.kind = ResolutionKind::Contact;
        d.target_address = target_text;
        d.address = target_text;
        staged.push_back(StagedDelivery{item.owner, std::move(d), {}, {}});
        continue;
      }
      if (auto store = e.first("homeMDB")) {
        d.kind = ResolutionKind::Mailbox;
        d.home_mdb_dn = std::string(*store);
        d.address = d.primary_address.empty() ? outcomes[item.owner].address : d.primary_address;
        staged.push_back(StagedDelivery{item.owner, std::move(d), normalize_dn(*store), {}});
        continue;
      }
      if (e.is_a("user") || e.is_a("person")) {
        fail(item, Failure{FailureKind::InvalidHomeServer, "mailbox user " + e.dn + " has no homeMDB"});
      } else {
        fail(item, Failure{FailureKind::CategorizerFailure, e.dn + " is not a deliverable recipient"});
      }
    }

    // Fetch the next level in batches.
    round.clear();
    if (requests.empty()) break;
    std::vector<std::string> dns;
    dns.reserve(requests.size());
    for (const auto& r : requests) dns.push_back(r.dn);
    auto fetched = co_await fetch_by_dn(dns);
    if (!fetched) co_return std::unexpected(fetched.error());
    for (auto& r : requests) {
      const auto& entry = (*fetched)[r.dn];
      if (!entry) {
        if (!r.item.chain.empty()) {  // a missing alternate recipient is a broken forward
          Entry ghost;
          ghost.dn = r.item.expanded_from_dn;
          r.item.entry = std::make_shared<const Entry>(std::move(ghost));
          fail(r.item, Failure{FailureKind::CategorizerFailure, "altRecipient " + r.as_written + " does not exist"});
          continue;
        }
        // A member the directory says does not exist (or that the service identity may not see):
        // reported beside its group, never skipped in silence.
        Entry ghost;
        ghost.dn = r.as_written;
        r.item.entry = std::make_shared<const Entry>(std::move(ghost));
        fail(r.item, Failure{FailureKind::CategorizerFailure,
                             "member " + r.as_written + " of " + r.item.expanded_from_dn + " does not exist"});
        continue;
      }
      if (!r.item.replaces_recipient) ++stats_.expanded_members;
      r.item.entry = entry;
      round.push_back(std::move(r.item));
    }
  }

  // 4. Home servers of mailboxes: store -> owning server -> FQDN. Stores the metabase lists need
  // no search; the others and their servers are fetched together (the server is guessed three
  // RDNs up, where Exchange puts it), and only an msExchOwningServer elsewhere costs one more.
  if (depth == Depth::Full) {
    std::vector<std::string> stores;
    for (const auto& s : staged)
      if (!s.store_dn.empty() && !options_.known_stores.contains(s.store_dn)) stores.push_back(s.store_dn);
    EntryMap store_entries, server_entries;
    std::unordered_map<std::string, std::string> server_of_store;
    if (!stores.empty()) {
      std::vector<std::string> wanted = stores;
      for (const auto& store : stores)
        if (auto server = ancestor_dn(store, 3)) wanted.push_back(*server);
      auto fetched = co_await fetch_by_dn(wanted);
      if (!fetched) co_return std::unexpected(fetched.error());
      std::vector<std::string> missing_servers;
      for (const auto& store : stores) {
        const auto& entry = (*fetched)[store];
        store_entries[store] = entry;
        if (!entry) continue;
        std::optional<std::string> server;
        if (auto owning = entry->first("msExchOwningServer")) server = normalize_dn(*owning);
        else server = ancestor_dn(store, 3);  // CN=<store>,CN=<SG>,CN=InformationStore,CN=<SERVER>,...
        if (!server) continue;
        server_of_store[store] = *server;
        if (auto it = fetched->find(*server); it != fetched->end()) server_entries[*server] = it->second;
        else missing_servers.push_back(*server);
      }
      if (!missing_servers.empty()) {
        auto more = co_await fetch_by_dn(missing_servers);
        if (!more) co_return std::unexpected(more.error());
        for (auto& [dn, entry] : *more) server_entries[dn] = entry;
      }
    }
    for (auto& s : staged) {
      if (s.store_dn.empty()) continue;
      std::string problem;
      if (auto known = options_.known_stores.find(s.store_dn); known != options_.known_stores.end()) {
        s.delivery.home_server_dn = known->second.server_dn;
        s.delivery.home_server_fqdn = to_lower(known->second.fqdn);
        if (s.delivery.home_server_fqdn.empty())
          problem = "server " + known->second.server_dn + " has no ncacn_ip_tcp networkAddress";
      } else if (!store_entries[s.store_dn]) {
        problem = "homeMDB store " + s.store_dn + " does not exist";
      } else if (!server_of_store.contains(s.store_dn) || !server_entries[server_of_store[s.store_dn]]) {
        problem = "home server of store " + s.store_dn + " does not exist";
      } else {
        const auto& server = server_entries[server_of_store[s.store_dn]];
        for (const auto& na : server->values("networkAddress"))
          if (na.size() > 13 && iequals(std::string_view(na).substr(0, 13), "ncacn_ip_tcp:")) {
            s.delivery.home_server_fqdn = to_lower(std::string_view(na).substr(13));
            break;
          }
        s.delivery.home_server_dn = server->dn;
        if (s.delivery.home_server_fqdn.empty()) problem = "server " + server->dn + " has no ncacn_ip_tcp networkAddress";
      }
      if (!problem.empty()) {
        Failure failure{FailureKind::InvalidHomeServer, std::move(problem)};
        if (s.delivery.replaces_recipient) {
          if (!outcomes[s.owner].failure) outcomes[s.owner].failure = std::move(failure);
        } else {
          const auto& d = s.delivery;
          outcomes[s.owner].member_failures.push_back(
              MemberFailure{d.primary_address.empty() ? d.object_dn : d.primary_address, d.object_dn,
                            d.expanded_from_dn, std::move(failure)});
        }
        s.owner = SIZE_MAX;
      }
    }
  }

  std::unordered_set<std::string> delivered;  // objects that receive a copy, whoever brought them in
  for (auto& s : staged)
    if (s.owner != SIZE_MAX) {
      delivered.insert(normalize_dn(s.delivery.object_dn));
      outcomes[s.owner].deliveries.push_back(std::move(s.delivery));
    }
  for (auto& o : outcomes)
    if (o.failure) {
      o.deliveries.clear();
      o.member_failures.clear();
      o.is_group = false;
    }

  // 5. A group (or a forward to one) that reaches no object receiving a copy -- in this recipient's
  // expansion or through another recipient of the message -- is reported, never dropped.
  if (depth == Depth::Full) {
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      auto& o = outcomes[i];
      if (o.failure || !o.is_group || !o.deliveries.empty()) continue;
      std::unordered_set<std::string> seen;
      std::vector<std::string> stack{normalize_dn(o.object_dn)};
      bool reaches_someone = false;
      while (!stack.empty() && !reaches_someone) {
        std::string dn = std::move(stack.back());
        stack.pop_back();
        if (!seen.insert(dn).second) continue;
        reaches_someone = delivered.contains(dn);
        if (auto it = leads_to.find(dn); it != leads_to.end())
          stack.insert(stack.end(), it->second.begin(), it->second.end());
      }
      if (reaches_someone) continue;
      std::string detail = "no member of " + o.object_dn + " can receive mail";
      if (!o.member_failures.empty() || skipped_members[i] != 0)
        detail += ": " + std::to_string(o.member_failures.size()) + " failed, " + std::to_string(skipped_members[i]) +
                  " without mail attributes";
      o.failure = Failure{FailureKind::GroupWithoutRecipients, std::move(detail)};
      o.is_group = false;  // its failed members stay in member_failures, reported beside it
    }
  }
  co_return outcomes;
}

}  // namespace gw::categorizer
