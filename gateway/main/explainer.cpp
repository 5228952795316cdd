#include "gateway/main/explainer.h"

#include <chrono>
#include <map>

#include "categorizer/categorizer.h"
#include "gateway/common/address.h"
#include "gateway/common/ascii.h"
#include "gateway/routing/address_space.h"
#include "gateway/routing/router.h"
#include "gateway/routing/routing_snapshot.h"
#include "gateway/smtp/policy.h"
#include "gateway/server/directory_recipient_validator.h"

namespace gw::daemon {

namespace {

using control::Record;
using control::Response;

// Forwards every search to the gateway's client and keeps what was asked and
// what came back.
class RecordingClient final : public categorizer::DirectoryClient {
 public:
  struct Search {
    categorizer::SearchRequest request;
    std::size_t entries = 0;
    std::string result;  // "ok" or the error
    std::chrono::microseconds duration{0};
    std::vector<categorizer::Entry> found;
  };

  explicit RecordingClient(categorizer::DirectoryClient* next) : next_(next) {}

  asio::awaitable<Result<std::vector<categorizer::Entry>>> search(categorizer::SearchRequest request) override {
    Search record;
    record.request = request;
    const auto started = std::chrono::steady_clock::now();
    // g++ 12: no temporaries inside a co_await expression (see docs), so no ?: around it.
    Result<std::vector<categorizer::Entry>> result =
        make_error(categorizer::make_error_code(categorizer::DirectoryErrc::Unavailable), "no directory configured");
    if (next_) result = co_await next_->search(std::move(request));
    record.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    if (result) {
      record.result = "ok";
      record.entries = result->size();
      record.found = *result;
    } else {
      record.result = result.error().message();
    }
    searches.push_back(std::move(record));
    co_return result;
  }

  asio::awaitable<Result<std::optional<categorizer::Entry>>> read(std::string dn,
                                                                  std::vector<std::string> attributes) override {
    Search record;
    record.request.base = dn;
    record.request.scope = categorizer::SearchScope::Base;
    record.request.attributes = attributes;
    const auto started = std::chrono::steady_clock::now();
    Result<std::optional<categorizer::Entry>> result =
        make_error(categorizer::make_error_code(categorizer::DirectoryErrc::Unavailable), "no directory configured");
    if (next_) result = co_await next_->read(std::move(dn), std::move(attributes));
    record.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    if (result) {
      record.result = "ok";
      record.entries = *result ? 1 : 0;
      if (*result) record.found.push_back(**result);
    } else {
      record.result = result.error().message();
    }
    searches.push_back(std::move(record));
    co_return result;
  }

  // The root DSE read that tells the directory's kind, listed like a search.
  asio::awaitable<Result<DirectoryKind>> kind() override {
    Search record;
    record.request.base = "";
    record.request.scope = categorizer::SearchScope::Base;
    record.request.attributes = {"supportedCapabilities"};
    const auto started = std::chrono::steady_clock::now();
    Result<DirectoryKind> result =
        make_error(categorizer::make_error_code(categorizer::DirectoryErrc::Unavailable), "no directory configured");
    if (next_) result = co_await next_->kind();
    record.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    record.result = result ? "ok" : result.error().message();
    record.entries = result ? 1 : 0;
    searches.push_back(std::move(record));
    co_return result;
  }

  std::vector<Search> searches;

 private:
  categorizer::DirectoryClient* next_;
};

const char* scope_name(categorizer::SearchScope scope) {
  switch (scope) {
    case categorizer::SearchScope::Base: return "base";
    case categorizer::SearchScope::OneLevel: return "one";
    default: return "subtree";
  }
}

const char* domain_class_name(smtp::DomainClass c) {
  switch (c) {
    case smtp::DomainClass::Authoritative: return "authoritative";
    case smtp::DomainClass::NonAuthoritative: return "non-authoritative";
    case smtp::DomainClass::RelayConnector: return "relay connector";
    default: return "remote";
  }
}

const char* state_name(envelope::RecipientState state) {
  switch (state) {
    case envelope::PENDING: return "pending";
    case envelope::RESOLVED: return "resolved";
    case envelope::RETRY: return "retry";
    case envelope::DELIVERED: return "delivered";
    case envelope::FAILED: return "failed";
    case envelope::EXPANDED: return "expanded";
    case envelope::RELAYED: return "relayed";
    default: return "unknown";
  }
}

const char* resolution_name(const envelope::Recipient& r) {
  if (r.state() == envelope::FAILED) return "failed";
  if (r.state() == envelope::EXPANDED) return "group (expanded)";
  switch (r.resolution().kind()) {
    case envelope::Resolution::MAILBOX: return "mailbox";
    case envelope::Resolution::CONTACT: return "contact";
    case envelope::Resolution::GROUP: return "group";
    case envelope::Resolution::NON_AUTHORITATIVE: return "non-authoritative (routed onward)";
    case envelope::Resolution::REMOTE: return "remote";
    default: return "unresolved";
  }
}

std::string reply_text(const smtp::Reply& reply) {
  std::string out = std::to_string(reply.code);
  if (reply.status) out += " " + reply.status->str();
  for (const auto& line : reply.lines) out += " " + line;
  return out;
}

// Which attribute of `entry` carries `address`: proxyAddresses (smtp:/SMTP:),
// mail, or another attribute the filter asked about.
std::string matched_attribute(const categorizer::Entry& entry, const std::string& address) {
  const std::string wanted = ascii_lower(address);
  for (const auto& value : entry.values("proxyAddresses"))
    if (ascii_lower(value) == "smtp:" + wanted) return "proxyAddresses (" + value + ")";
  for (const auto& value : entry.values("mail"))
    if (ascii_lower(value) == wanted) return "mail";
  for (const auto& [name, values] : entry.attributes)
    for (const auto& value : values)
      if (ascii_lower(value) == wanted) return name;
  return "(filter)";
}

std::string class_of(const categorizer::Entry& entry) {
  for (const char* c : {"group", "groupOfNames", "contact", "user", "inetOrgPerson", "person"})
    if (entry.is_a(c)) return c;
  const auto& classes = entry.values("objectClass");
  return classes.empty() ? std::string("?") : classes.back();
}

void add_route(Response& response, const routing::RoutingSnapshot& snapshot, const metabase::Metabase& metabase,
               const envelope::Envelope& env, int index) {
  const auto& recipient = env.recipients(index);
  Record r{"route", {}};
  r.add("address", recipient.address());
  auto categorized = routing::categorized_recipient(env, index);
  if (!categorized) return;
  categorized->message.sender_dn = routing::normalize_dn(env.sender_dn());
  for (const auto& group : env.sender_group_dns())
    categorized->message.sender_group_dns.push_back(routing::normalize_dn(group));
  const auto hop = routing::route(snapshot, *categorized, routing::RouteState{});
  std::string kind, next_hop, connector, host, detail;
  if (const auto* local = std::get_if<routing::LocalDelivery>(&hop)) {
    kind = "mailbox server";
    next_hop = local->server_fqdn.empty() ? local->server : local->server_fqdn;
    host = local->host + ":" + std::to_string(local->port);
    detail = std::string(local->protocol == routing::Protocol::Lmtp ? "LMTP" : "SMTP") + " to " + host;
  } else if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) {
    kind = "smart host";
    connector = smart->connector;
    for (const auto& h : smart->hosts) next_hop += (next_hop.empty() ? "" : ", ") + h.host;
    if (smart->tls_required) detail = "TLS required";
  } else if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) {
    kind = "DNS MX of";
    connector = dns->connector;
    next_hop = dns->domain;
    if (dns->tls_required) detail = "TLS required";
  } else if (const auto* unreachable = std::get_if<routing::Unreachable>(&hop)) {
    kind = "unreachable";
    next_hop = unreachable->destination;
  } else {
    const auto& fail = std::get<routing::Fail>(hop);
    kind = "fail";
    detail = fail.detail;
  }
  r.add("next_hop", next_hop).add("kind", kind).add("connector", connector);
  // The connector's address space that matched the recipient's domain best, and its cost.
  std::string space;
  unsigned cost = 0;
  if (!connector.empty()) {
    const auto at = categorized->address.rfind('@');
    const std::string domain = at == std::string::npos ? std::string() : categorized->address.substr(at + 1);
    std::optional<routing::Specificity> best;
    for (const auto& c : metabase.connectors()) {
      if (!iequals(c.name(), connector)) continue;
      for (const auto& a : c.address_spaces()) {
        if (a.type() != metabase::ADDRESS_SPACE_SMTP) continue;
        const auto match = routing::match_address_space(a.pattern(), domain);
        if (match && (!best || *match > *best)) {
          best = match;
          space = a.pattern();
          cost = a.cost();
        }
      }
    }
  }
  r.add("address_space", space).add("cost", connector.empty() ? std::string() : std::to_string(cost));
  r.add("host", host).add("detail", detail);
  response.records.push_back(std::move(r));
}

}  // namespace

asio::awaitable<Response> AddressExplainer::explain(control::ExplainCommand command) {
  Response response;
  const auto metabase = metabase_();
  if (!metabase) co_return Response::failure("no metabase loaded");
  std::string vs_id = command.virtual_server;
  if (vs_id.empty() && metabase->virtual_servers_size() > 0) vs_id = metabase->virtual_servers(0).id();
  const auto settings = settings_(vs_id);
  if (!settings) co_return Response::failure("no virtual server \"" + command.virtual_server + "\"");

  std::string_view text = command.address;
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  auto parsed = parse_mailbox(text, AddressOptions{.allow_utf8 = true});
  if (!parsed) co_return Response::failure("not an address: \"" + command.address + "\"");
  const std::string address = parsed->str();
  const std::string domain = parsed->domain();
  const auto domain_class = settings->policy.domains.classify(domain);

  Record head{"explain", {}};
  head.add("address", address).add("sender", command.sender).add("virtual_server", vs_id).add("domain", domain);
  head.add("authenticated", command.authenticated ? "yes" : "no");
  head.add("domain_class", domain_class_name(domain_class));

  // A categorizer of the metabase in force, over the gateway's own connection.
  auto client = directory_.client();
  RecordingClient recorder(client.get());
  auto options = categorizer::CategorizerOptions::from_metabase(*metabase);
  categorizer::Categorizer categorizer(recorder, *metabase, options);

  // The sender as the directory knows it (restrictions are checked against it).
  categorizer::SenderIdentity sender;
  sender.address = command.sender;
  if (!command.sender.empty()) {
    auto resolved = co_await categorizer.resolve_sender(command.sender, command.authenticated);
    if (resolved) sender = std::move(*resolved);
  }

  // RCPT TO: the session's relay decision, then the directory check.
  std::string rcpt_reply;
  if (domain_class == smtp::DomainClass::Remote && command.authenticated && settings->policy.allow_authenticated_relay) {
    head.add("rcpt_reply", "250 2.1.5 Recipient OK")
        .add("rcpt_assumption", "the client authenticated (authenticated clients may relay)");
  } else if (domain_class == smtp::DomainClass::Remote) {
    rcpt_reply = "550 5.7.1 Unable to relay";
    head.add("rcpt_reply", rcpt_reply)
        .add("rcpt_assumption", "an anonymous client outside the relay IP list (authenticated clients and listed "
                                "networks may relay)");
  } else {
    const bool directory_configured = !metabase->directory().uris().empty();
    smtp::RecipientVerdict verdict = smtp::RecipientVerdict::accept();
    if (directory_configured) {
      auto checked = co_await categorizer.check_recipient(address, sender, 0, 0, vs_id);
      verdict = server::DirectoryRecipientValidator::to_smtp(checked);
    }
    rcpt_reply = verdict.kind == smtp::RecipientVerdict::Kind::Accept ? "250 2.1.5 Recipient OK" : reply_text(verdict.reply);
    head.add("rcpt_reply", rcpt_reply).add("rcpt_assumption", "");
  }
  response.records.push_back(std::move(head));
  if (!command.sender.empty())
    response.records.push_back(Record{"sender", {}}
                                   .add("address", command.sender)
                                   .add("dn", sender.dn)
                                   .add("groups", std::to_string(sender.group_dns.size())));

  // Categorization of a one-recipient message, as the categorize stage would do it.
  envelope::Envelope env;
  env.set_sender(command.sender);
  env.set_virtual_server_id(vs_id);
  env.add_recipients()->set_address(address);
  bool categorized = false;
  if (domain_class != smtp::DomainClass::Remote || !metabase->directory().uris().empty()) {
    auto done = co_await categorizer.categorize(env);
    categorized = static_cast<bool>(done);
    if (!done)
      response.records.push_back(Record{"recipient", {}}
                                     .add("address", address)
                                     .add("depth", "0")
                                     .add("state", "pending")
                                     .add("resolution", "not categorized: " + done.error().message() +
                                                            " (the message would wait in Messages awaiting "
                                                            "directory lookup)"));
  }

  // Every search, in order, and the object the address was found as.
  int n = 0;
  for (const auto& search : recorder.searches) {
    response.records.push_back(Record{"search", {}}
                                   .add("n", std::to_string(++n))
                                   .add("base", search.request.base)
                                   .add("scope", scope_name(search.request.scope))
                                   .add("filter", search.request.filter.str())
                                   .add("entries", std::to_string(search.entries))
                                   .add("duration_us", std::to_string(search.duration.count()))
                                   .add("result", search.result));
  }
  const auto stats = categorizer.stats();
  response.records.push_back(Record{"cache", {}}
                                 .add("lookups", std::to_string(stats.resolver.cache_hits + stats.resolver.cache_misses))
                                 .add("hits", std::to_string(stats.resolver.cache_hits)));
  for (const auto& search : recorder.searches) {
    bool done = false;
    for (const auto& entry : search.found) {
      const auto matched = matched_attribute(entry, address);
      if (matched == "(filter)") continue;
      response.records.push_back(Record{"object", {}}
                                     .add("address", address)
                                     .add("dn", entry.dn)
                                     .add("class", class_of(entry))
                                     .add("matched", matched));
      done = true;
      break;
    }
    if (done) break;
  }

  if (categorized) {
    // The expansion tree: depth from the chain of expanded_from_dn up to the address asked about.
    std::map<std::string, int> depth_of_group;  // group DN -> depth of its members
    const auto snapshot = routing::RoutingSnapshot::build(*metabase);
    for (int i = 0; i < env.recipients_size(); ++i) {
      const auto& r = env.recipients(i);
      int depth = 0;
      if (const auto& parent = r.resolution().expanded_from_dn(); !parent.empty()) {
        const auto it = depth_of_group.find(ascii_lower(parent));
        depth = it == depth_of_group.end() ? 1 : it->second;
      }
      if (r.state() == envelope::EXPANDED) depth_of_group[ascii_lower(r.resolution().object_dn())] = depth + 1;
      response.records.push_back(Record{"recipient", {}}
                                     .add("address", r.address())
                                     .add("depth", std::to_string(depth))
                                     .add("parent", r.resolution().expanded_from_dn())
                                     .add("state", state_name(r.state()))
                                     .add("resolution", resolution_name(r))
                                     .add("dn", r.resolution().object_dn())
                                     .add("target", !r.resolution().home_server_fqdn().empty()
                                                        ? "home server " + r.resolution().home_server_fqdn()
                                                        : r.resolution().target_address())
                                     .add("status", r.status())
                                     .add("reply_code", r.reply_code() ? std::to_string(r.reply_code()) : "")
                                     .add("diagnostic", r.diagnostic()));
      if (r.state() == envelope::RESOLVED || r.state() == envelope::RETRY) add_route(response, snapshot, *metabase, env, i);
    }
  } else if (domain_class == smtp::DomainClass::Remote) {
    response.records.push_back(
        Record{"recipient", {}}.add("address", address).add("depth", "0").add("state", "refused").add(
            "resolution", "not accepted: relaying"));
  }
  co_return response;
}

}  // namespace gw::daemon
