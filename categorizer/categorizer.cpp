#include "categorizer/categorizer.h"

#include <algorithm>

#include "categorizer/names.h"
#include "gateway/common/log.h"
#include "gateway/dsn/status_table.h"

namespace gw::categorizer {
namespace {

const gw::log::Context kLog{"categorizer"};

envelope::Resolution::Kind to_proto(ResolutionKind kind) {
  switch (kind) {
    case ResolutionKind::Mailbox: return envelope::Resolution::MAILBOX;
    case ResolutionKind::Contact: return envelope::Resolution::CONTACT;
    case ResolutionKind::Remote: return envelope::Resolution::REMOTE;
    case ResolutionKind::NonAuthoritative: return envelope::Resolution::NON_AUTHORITATIVE;
  }
  return envelope::Resolution::UNRESOLVED;
}

void stamp_failure(envelope::Recipient& r, const Failure& failure) {
  const auto& row = dsn::status_of(failure.kind);
  r.set_state(envelope::FAILED);
  r.set_status(row.status.str());
  r.set_reply_code(row.reply_code);
  r.set_diagnostic(std::string(row.text) + (failure.detail.empty() ? "" : " (" + failure.detail + ")"));
}

void stamp_delivery(envelope::Recipient& r, const Delivery& d) {
  auto* res = r.mutable_resolution();
  res->set_kind(to_proto(d.kind));
  res->set_object_dn(d.object_dn);
  res->set_home_server_fqdn(d.home_server_fqdn);
  res->set_home_server_dn(d.home_server_dn);
  res->set_home_mdb_dn(d.home_mdb_dn);
  res->set_target_address(d.target_address);
  res->set_primary_address(d.primary_address);
  res->set_expanded_from_dn(d.expanded_from_dn);
  r.set_state(envelope::RESOLVED);
  if (d.forwarded_unresolved)
    r.set_diagnostic("not in the directory; forwarded to the virtual server's unresolved-recipient host");
}

// A recipient the categorizer adds for `parent` (a group member, a forwarded copy). It keeps the
// parent's NOTIFY, and its ORCPT names the address the client gave (RFC 3461 section 4.2: an
// added ORCPT carries the RCPT TO address as received), so every report on it names the group.
envelope::Recipient& append_like(envelope::Envelope& env, const envelope::Recipient& parent, std::string address) {
  auto* added = env.add_recipients();
  added->set_address(std::move(address));
  *added->mutable_notify() = parent.notify();
  added->set_orcpt(!parent.orcpt().empty() ? parent.orcpt() : "rfc822;" + parent.address());
  return *added;
}

}  // namespace

CategorizerOptions CategorizerOptions::from_metabase(const metabase::Metabase& metabase) {
  CategorizerOptions options;
  const auto& dir = metabase.directory();
  options.resolver.recipient_base_dn = dir.recipient_base_dn();
  options.resolver.config_base_dn = dir.config_base_dn();
  const auto& delivery = metabase.message_delivery();
  if (delivery.default_recipient_limit() != 0)
    options.resolver.default_recipient_limit = delivery.default_recipient_limit();
  options.resolver.default_receive_size_kb = delivery.default_receive_size();
  for (const auto& server : metabase.mailbox_servers())
    for (const auto& store : server.store_dns())
      options.resolver.known_stores[normalize_dn(store)] = KnownHomeServer{server.dn(), server.fqdn()};
  for (const auto& vs : metabase.virtual_servers())
    if (!vs.messages().forward_unresolved_to_host().empty()) options.forward_unresolved_virtual_servers.insert(vs.id());
  for (const auto& connector : metabase.connectors())
    if (!connector.delivery_restrictions().accept_from_group_dns().empty() ||
        !connector.delivery_restrictions().reject_from_group_dns().empty())
      options.connectors_restrict_by_group = true;
  return options;
}

Categorizer::Categorizer(DirectoryClient& client, const metabase::Metabase& metabase, CategorizerOptions options)
    : cache_(options.use_cache ? options.cache : DirectoryCache::Options{0, {}, {}}),
      resolver_(client, DomainClassifier(metabase), options.resolver, &cache_),
      forward_unresolved_virtual_servers_(std::move(options.forward_unresolved_virtual_servers)),
      connectors_restrict_by_group_(options.connectors_restrict_by_group) {}

UnresolvedPolicy Categorizer::unresolved_policy(const std::string& virtual_server_id) const {
  return forward_unresolved_virtual_servers_.contains(virtual_server_id) ? UnresolvedPolicy::Forward
                                                                         : UnresolvedPolicy::Reject;
}

asio::awaitable<Result<SenderIdentity>> Categorizer::resolve_sender(std::string address, bool authenticated,
                                                                    SenderGroups groups) {
  co_return co_await resolver_.resolve_sender(std::move(address), authenticated, groups);
}

asio::awaitable<RecipientVerdict> Categorizer::check_recipient(std::string address, const SenderIdentity& sender,
                                                               std::size_t accepted_so_far,
                                                               std::uint64_t declared_size,
                                                               std::string virtual_server_id) {
  ++recipients_checked_;
  if (sender.failure) co_return Reject{*sender.failure, "sender " + sender.dn};
  if (accepted_so_far >= sender.recipient_limit)
    co_return Reject{FailureKind::TooManyRecipients, "limit " + std::to_string(sender.recipient_limit)};
  std::vector<std::string> addresses{std::move(address)};
  const UnresolvedPolicy unresolved = unresolved_policy(virtual_server_id);
  auto outcomes = co_await resolver_.resolve(std::move(addresses), sender, declared_size, Depth::Shallow, unresolved);
  if (!outcomes) {
    ++try_later_;
    gw::log::warn(kLog, "RCPT check deferred: {}", outcomes.error().message());
    co_return TryLater{outcomes.error().message()};
  }
  const auto& outcome = outcomes->front();
  if (outcome.failure) co_return Reject{outcome.failure->kind, outcome.failure->detail};
  co_return Accept{};
}

asio::awaitable<Result<void>> Categorizer::categorize(envelope::Envelope& env) {
  const gw::log::Context ctx{"categorizer", 0, {}, env.queue_id()};
  // The sender's and the recipients' addresses in one batch; the lookups below hit the cache.
  std::vector<std::string> everyone{env.sender()};
  for (const auto& r : env.recipients())
    if (r.state() == envelope::PENDING) everyone.push_back(r.address());
  auto prefetched = co_await resolver_.prefetch_addresses(std::move(everyone));
  if (!prefetched) {
    ++try_later_;
    gw::log::warn(ctx, "directory lookup deferred: {}", prefetched.error().message());
    co_return std::unexpected(prefetched.error());
  }
  const std::string sender_address = env.sender();
  const SenderGroups groups = connectors_restrict_by_group_ ? SenderGroups::Eager : SenderGroups::WhenNeeded;
  auto sender = co_await resolver_.resolve_sender(std::move(sender_address), !env.auth_identity().empty(), groups);
  if (!sender) {
    ++try_later_;
    gw::log::warn(ctx, "sender lookup deferred: {}", sender.error().message());
    co_return std::unexpected(sender.error());
  }
  // For the router's connector restrictions.
  env.set_sender_dn(sender->dn);
  env.clear_sender_group_dns();
  if (connectors_restrict_by_group_) {
    std::vector<std::string> sorted(sender->group_dns.begin(), sender->group_dns.end());
    std::sort(sorted.begin(), sorted.end());
    for (auto& group : sorted) env.add_sender_group_dns(std::move(group));
  }
  std::vector<int> pending;
  std::vector<std::string> addresses;
  for (int i = 0; i < env.recipients_size(); ++i)
    if (env.recipients(i).state() == envelope::PENDING) {
      pending.push_back(i);
      addresses.push_back(env.recipients(i).address());
    }
  // The sender's limit counts every recipient of the message, not only those still pending.
  if (static_cast<std::size_t>(env.recipients_size()) > sender->recipient_limit) {
    const Failure failure{FailureKind::TooManyRecipients, std::to_string(env.recipients_size()) +
                                                              " recipients, limit " +
                                                              std::to_string(sender->recipient_limit)};
    for (int i : pending) stamp_failure(*env.mutable_recipients(i), failure);
    ++messages_categorized_;
    co_return Result<void>{};
  }
  const std::uint64_t size = env.body_size() != 0 ? env.body_size() : env.declared_size();
  const UnresolvedPolicy unresolved = unresolved_policy(env.virtual_server_id());
  auto outcomes = co_await resolver_.resolve(std::move(addresses), *sender, size, Depth::Full, unresolved);
  if (!outcomes) {
    ++try_later_;
    gw::log::warn(ctx, "categorization deferred: {}", outcomes.error().message());
    co_return std::unexpected(outcomes.error());
  }

  for (std::size_t k = 0; k < pending.size(); ++k) {
    const auto& outcome = (*outcomes)[k];
    // Copy: appending recipients below may reallocate the repeated field.
    const envelope::Recipient parent = env.recipients(pending[k]);
    envelope::Recipient updated = parent;
    if (outcome.failure) {
      stamp_failure(updated, *outcome.failure);
      if (!outcome.object_dn.empty()) updated.mutable_resolution()->set_object_dn(outcome.object_dn);
      gw::log::info(ctx, "to=<{}>, dsn={}, status=failed ({})", gw::log::printable(parent.address()),
                    updated.status(), updated.diagnostic());
    } else if (outcome.is_group) {
      updated.set_state(envelope::EXPANDED);
      auto* res = updated.mutable_resolution();
      res->set_kind(envelope::Resolution::GROUP);
      res->set_object_dn(outcome.object_dn);
      res->set_primary_address(outcome.primary_address);
    } else {
      const Delivery* own = nullptr;
      for (const auto& d : outcome.deliveries)
        if (d.replaces_recipient) {
          own = &d;
          break;
        }
      if (own != nullptr) {
        stamp_delivery(updated, *own);
      } else {
        // The object (or its forward-only alternate) already receives a copy through another
        // recipient of this message.
        updated.set_state(envelope::EXPANDED);
        updated.set_diagnostic("delivered once with another recipient of this message");
        updated.mutable_resolution()->set_object_dn(outcome.object_dn);
        updated.mutable_resolution()->set_primary_address(outcome.primary_address);
      }
    }
    *env.mutable_recipients(pending[k]) = updated;
    // Failed members are reported beside their group, also when the group itself failed because
    // none of its members could receive the message.
    auto append_member_failures = [&] {
      for (const auto& mf : outcome.member_failures) {
        auto& added = append_like(env, parent, mf.address);
        added.mutable_resolution()->set_object_dn(mf.object_dn);
        added.mutable_resolution()->set_expanded_from_dn(mf.expanded_from_dn);
        stamp_failure(added, mf.failure);
        gw::log::info(ctx, "to=<{}>, dsn={}, status=failed ({})", gw::log::printable(mf.address), added.status(),
                      added.diagnostic());
      }
    };
    if (outcome.failure) {
      append_member_failures();
      continue;
    }
    if (updated.state() == envelope::RESOLVED)
      gw::log::info(ctx, "to=<{}>, status=resolved ({} {}{})", gw::log::printable(parent.address()),
                    envelope::Resolution::Kind_Name(updated.resolution().kind()),
                    gw::log::printable(updated.resolution().primary_address()),
                    updated.resolution().home_server_fqdn().empty() ? "" : " on " + updated.resolution().home_server_fqdn());
    else
      gw::log::info(ctx, "to=<{}>, status=expanded ({} copies, {} failed members)", gw::log::printable(parent.address()),
                    outcome.deliveries.size(), outcome.member_failures.size());

    for (const auto& d : outcome.deliveries) {
      if (d.replaces_recipient && !outcome.is_group) continue;
      auto& added = append_like(env, parent, d.address);
      stamp_delivery(added, d);
    }
    append_member_failures();
  }
  ++messages_categorized_;
  co_return Result<void>{};
}

CategorizerStats Categorizer::stats() const {
  CategorizerStats s;
  s.resolver = resolver_.stats();
  s.cache_entries = cache_.size();
  s.recipients_checked = recipients_checked_;
  s.messages_categorized = messages_categorized_;
  s.try_later = try_later_;
  return s;
}

}  // namespace gw::categorizer
