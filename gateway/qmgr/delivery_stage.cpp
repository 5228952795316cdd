#include "gateway/qmgr/delivery_stage.h"

#include <algorithm>
#include <ctime>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <variant>

#include "gateway/common/address.h"
#include "gateway/common/ascii.h"
#include "gateway/common/log.h"
#include "gateway/delivery/connection_pool.h"
#include "gateway/delivery/mx_resolver.h"
#include "gateway/delivery/next_hop_hosts.h"
#include "gateway/dsn/dsn_builder.h"
#include "gateway/dsn/report_plan.h"
#include "gateway/dsn/status_table.h"
#include "gateway/queue/scheduler.h"
#include "gateway/routing/router.h"
#include "gateway/routing/routing_snapshot.h"
#include "gateway/routing/schedule.h"
#include "gateway/qmgr/spooled_body.h"

namespace gw::qmgr {
namespace {

using Clock = std::chrono::system_clock;

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

bool is_delivery_queue(envelope::QueueName queue) {
  return queue == envelope::WAITING_TO_BE_ROUTED || queue == envelope::LOCAL_DELIVERY ||
         queue == envelope::REMOTE_DELIVERY || queue == envelope::FINAL_DESTINATION_UNREACHABLE;
}

bool is_final(envelope::RecipientState state) {
  return state == envelope::DELIVERED || state == envelope::FAILED || state == envelope::EXPANDED ||
         state == envelope::RELAYED;
}

// "Remote delivery [partner.example]" -> "partner.example"; "Local delivery" -> "".
std::string hop_label(const routing::NextHop& hop) {
  const std::string name = routing::queue_name(hop);
  const auto open = name.find('[');
  if (open == std::string::npos || name.back() != ']') return {};
  return name.substr(open + 1, name.size() - open - 2);
}

envelope::QueueName queue_of(const routing::NextHop& hop) {
  if (const auto* local = std::get_if<routing::LocalDelivery>(&hop); local && local->this_server)
    return envelope::LOCAL_DELIVERY;
  if (std::holds_alternative<routing::Unreachable>(hop)) return envelope::FINAL_DESTINATION_UNREACHABLE;
  return envelope::REMOTE_DELIVERY;
}

std::string strip_prefix(std::string_view value, std::string_view prefix) {
  if (istarts_with(value, prefix)) value.remove_prefix(prefix.size());
  return std::string(value);
}

// The forward-path a recipient is sent to: contacts go to their target address.
std::string delivery_address(const routing::CategorizedRecipient& recipient) {
  if (recipient.kind == routing::RecipientKind::Contact && !recipient.target_address.empty())
    return strip_prefix(recipient.target_address, "smtp:");
  return recipient.address;
}

std::string notify_text(const envelope::Notify& notify) {
  if (notify.never()) return "NEVER";
  std::string out;
  auto add = [&out](bool on, std::string_view word) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += word;
  };
  add(notify.success(), "SUCCESS");
  add(notify.failure(), "FAILURE");
  add(notify.delay(), "DELAY");
  return out;
}

delivery::BodyType body_type_of(envelope::BodyType type) {
  switch (type) {
    case envelope::BODY_8BITMIME: return delivery::BodyType::EightBitMime;
    case envelope::BODY_BINARYMIME: return delivery::BodyType::BinaryMime;
    default: return delivery::BodyType::SevenBit;
  }
}

struct Outcome {
  envelope::RecipientState state = envelope::RETRY;
  unsigned reply_code = 0;
  std::string status;
  std::string diagnostic;
  std::string remote_mta;
};

Outcome outcome_of(FailureKind kind, std::string_view detail) {
  const auto& row = dsn::status_of(kind);
  Outcome outcome;
  // Expiry is final although its code is 4.4.7 (RFC 3463: the failure report
  // says "failed" with the persistent-transient status).
  outcome.state = row.status.permanent() || kind == FailureKind::ExpiredInQueue ? envelope::FAILED : envelope::RETRY;
  outcome.reply_code = row.reply_code;
  outcome.status = row.status.str();
  outcome.diagnostic = dsn::reply_line(kind);
  if (!detail.empty()) outcome.diagnostic += " (" + std::string(detail) + ")";
  return outcome;
}

void record(envelope::Recipient& recipient, const Outcome& outcome, std::string_view next_hop) {
  recipient.set_state(outcome.state);
  recipient.set_reply_code(outcome.reply_code);
  recipient.set_status(outcome.status);
  recipient.set_diagnostic(outcome.diagnostic);
  if (!outcome.remote_mta.empty()) recipient.set_remote_mta(outcome.remote_mta);
  recipient.set_next_hop(std::string(next_hop));
}

// A header section longer than this is returned cut short in a report.
constexpr std::size_t kMaxReturnedHeader = 1024 * 1024;

// The priority a message's header section asks for: Importance (RFC 2156:
// high, normal, low), else Priority (urgent, normal, non-urgent), else
// X-Priority (1-2 high, 3 normal, 4-5 low). Normal when none is present.
routing::Priority priority_of(std::string_view headers) {
  std::optional<routing::Priority> importance, priority, x_priority;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t end = headers.find('\n', pos);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view line = headers.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || line.front() == ' ' || line.front() == '\t') continue;
    const std::string name = ascii_lower(line.substr(0, colon));
    std::string value = ascii_lower(line.substr(colon + 1));
    value.erase(0, value.find_first_not_of(" \t"));
    if (name == "importance") {
      if (value.starts_with("high")) importance = routing::Priority::High;
      else if (value.starts_with("low")) importance = routing::Priority::Low;
      else if (value.starts_with("normal")) importance = routing::Priority::Normal;
    } else if (name == "priority") {
      if (value.starts_with("urgent")) priority = routing::Priority::High;
      else if (value.starts_with("non-urgent")) priority = routing::Priority::Low;
      else if (value.starts_with("normal")) priority = routing::Priority::Normal;
    } else if (name == "x-priority" && !value.empty()) {
      if (value[0] == '1' || value[0] == '2') x_priority = routing::Priority::High;
      else if (value[0] == '4' || value[0] == '5') x_priority = routing::Priority::Low;
      else if (value[0] == '3') x_priority = routing::Priority::Normal;
    }
  }
  return importance.value_or(priority.value_or(x_priority.value_or(routing::Priority::Normal)));
}

bool held_for_remote_trigger(const routing::NextHop& hop) {
  if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) return smart->hold_for_remote_trigger;
  if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) return dns->hold_for_remote_trigger;
  return false;
}

// A group of recipients of one message that share a next hop.
struct HopGroup {
  routing::NextHop hop;
  std::vector<int> recipients;           // envelope indices
  std::vector<std::string> addresses;    // forward-paths, same order
};

}  // namespace

struct DeliveryStage::State : std::enable_shared_from_this<State> {
  asio::any_io_executor executor;
  queue::Spool& spool;
  queue::NamedQueues& queues;
  DeliveryStageOptions options;
  DeliveryStageStats stats;
  queue::SystemClock clock;

  // On the executor only:
  std::shared_ptr<const metabase::Metabase> metabase;
  std::shared_ptr<const routing::RoutingSnapshot> snapshot;
  std::unique_ptr<delivery::ConnectionPool> pool;
  std::shared_ptr<asio::ssl::context> tls;
  std::map<std::string, std::unique_ptr<delivery::MxResolver>> resolvers;  // by DNS server list
  std::deque<QueueId> waiting;
  std::set<QueueId> waiting_set;
  std::set<QueueId> in_progress;              // a pass, an ATRN or an admin change has it
  std::map<QueueId, std::vector<std::shared_ptr<asio::steady_timer>>> idle_waiters;  // admin changes waiting
  std::set<QueueId> again;                   // submitted while in progress: run once more
  std::set<QueueId> forced;                  // next pass ignores retry times and holds
  std::map<QueueId, std::unique_ptr<asio::steady_timer>> timers;
  std::map<std::string, Clock::time_point> connectors_in_retry;  // lower-case connector name
  std::set<queue::QueueKey> frozen_queues;
  // Messages borrowed by ATRN connections (also in in_progress meanwhile).
  struct Turn {
    std::vector<int> recipients;                      // envelope indices, in `message` order
    std::vector<std::string> labels;                  // their next hops
    std::map<int, envelope::QueueName> queue_by_recipient;
    delivery::OutboundMessage message;                // only the recipients held for the ATRN client
  };
  std::map<QueueId, Turn> turns;
  std::size_t running = 0;
  std::uint64_t report_sequence = 0;
  bool stopped = false;

  State(asio::any_io_executor e, queue::Spool& s, queue::NamedQueues& q, DeliveryStageOptions o)
      : executor(std::move(e)), spool(s), queues(q), options(std::move(o)) {
    options.concurrency = std::max<std::size_t>(1, options.concurrency);
    delivery::TlsSettings settings;
    settings.ca_file = options.tls_ca_file;
    tls = delivery::make_client_tls_context(settings);
  }

  // --- scheduling -----------------------------------------------------------

  void enqueue(QueueId id) {
    if (stopped) return;
    if (in_progress.contains(id)) {
      again.insert(id);
      return;
    }
    if (!waiting_set.insert(id).second) return;
    waiting.push_back(std::move(id));
    start_more();
  }

  void start_more() {
    while (!stopped && snapshot && running < options.concurrency && !waiting.empty()) {
      QueueId id = std::move(waiting.front());
      waiting.pop_front();
      waiting_set.erase(id);
      ++running;
      in_progress.insert(id);
      asio::co_spawn(executor, process(shared_from_this(), std::move(id)), asio::detached);
    }
  }

  static asio::awaitable<void> process(std::shared_ptr<State> self, QueueId id) {
    try {
      co_await self->deliver_one(id);
    } catch (const std::exception& error) {
      // Nothing below throws by design; a bug must not stop the queue for everyone.
      log::error({"delivery", 0, {}, id.str()}, "delivery pass failed: {}", error.what());
    }
    --self->running;
    self->release(id);
    self->start_more();
  }

  // An admin change to a message's envelope waits until no pass or ATRN has
  // the message and keeps them out meanwhile, so neither overwrites the other.
  asio::awaitable<void> claim(const QueueId& id) {
    while (in_progress.contains(id)) {
      auto waiter = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
      idle_waiters[id].push_back(waiter);
      boost::system::error_code ignored;
      co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    in_progress.insert(id);
  }

  // The end of whatever had the message: a waiting admin change goes first,
  // then a pass asked for meanwhile.
  void release(const QueueId& id) {
    in_progress.erase(id);
    if (const auto waiting_admin = idle_waiters.find(id); waiting_admin != idle_waiters.end()) {
      const auto waiters = std::move(waiting_admin->second);
      idle_waiters.erase(waiting_admin);
      for (const auto& waiter : waiters) waiter->cancel();
      return;
    }
    if (again.erase(id) > 0) enqueue(id);
  }

  void wake_at(const QueueId& id, std::int64_t when_unix) {
    if (stopped) return;
    auto& timer = timers[id];
    if (!timer) timer = std::make_unique<asio::steady_timer>(executor);
    const auto delay = std::chrono::seconds(std::max<std::int64_t>(0, when_unix - unix_now()));
    log::debug({"delivery", 0, {}, id.str()}, "next attempt in {} s", delay.count());
    timer->expires_after(delay);
    timer->async_wait([self = shared_from_this(), id](boost::system::error_code ec) {
      if (ec) return;
      self->timers.erase(id);
      self->enqueue(id);
    });
  }

  void cancel_timer(const QueueId& id) {
    if (auto it = timers.find(id); it != timers.end()) {
      it->second->cancel();
      timers.erase(it);
    }
  }

  // --- settings ------------------------------------------------------------

  const metabase::VirtualServer* virtual_server(std::string_view id) const {
    if (!metabase) return nullptr;
    for (const auto& vs : metabase->virtual_servers())
      if (vs.id() == id) return &vs;
    return metabase->virtual_servers().empty() ? nullptr : &metabase->virtual_servers(0);
  }

  queue::RetrySchedule retry_schedule(const metabase::VirtualServer* vs, bool local) const {
    queue::RetrySchedule schedule;
    if (!vs) return schedule;
    const auto& out = vs->outbound();
    auto set = [](queue::Seconds& field, std::uint32_t value) {
      if (value != 0) field = queue::Seconds(value);
    };
    set(schedule.first_retry, out.retry().first_retry_seconds());
    set(schedule.second_retry, out.retry().second_retry_seconds());
    set(schedule.third_retry, out.retry().third_retry_seconds());
    set(schedule.subsequent_retry, out.retry().subsequent_retry_seconds());
    set(schedule.delay_notification,
        local ? out.local_delay_notification_seconds() : out.remote_delay_notification_seconds());
    set(schedule.expiration, local ? out.local_expiration_timeout_seconds() : out.remote_expiration_timeout_seconds());
    return schedule;
  }

  delivery::MxResolver& resolver_for(const metabase::VirtualServer* vs) {
    std::vector<std::string> servers;
    if (vs) servers.assign(vs->outbound().external_dns_servers().begin(), vs->outbound().external_dns_servers().end());
    std::string key;
    for (const auto& server : servers) key += server + ";";
    auto& slot = resolvers[key];
    if (!slot) {
      delivery::DnsOptions dns;
      dns.servers = servers;
      dns.timeout = options.dns_timeout;
      slot = std::make_unique<delivery::MxResolver>(executor, dns);
    }
    return *slot;
  }

  routing::RouteState route_state(const QueueId& id) {
    routing::RouteState state;
    const auto now = Clock::now();
    for (auto it = connectors_in_retry.begin(); it != connectors_in_retry.end();) {
      if (it->second <= now) {
        it = connectors_in_retry.erase(it);
      } else {
        state.connectors_down.insert(it->first);
        ++it;
      }
    }
    state.spread_key = routing::spread_key_for(id.str());
    return state;
  }

  const metabase::Connector* connector_named(std::string_view name) const {
    if (!metabase) return nullptr;
    for (const auto& connector : metabase->connectors())
      if (iequals(connector.name(), name)) return &connector;
    return nullptr;
  }

  // When a connector's schedule keeps this message from being sent now: the
  // time its next window opens (0 = no window ever: wait for ETRN or a change).
  std::optional<std::int64_t> held_by_schedule(const routing::NextHop& hop, std::uint64_t size) const {
    std::string connector;
    if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) connector = smart->connector;
    if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) connector = dns->connector;
    const metabase::Connector* found = connector.empty() ? nullptr : connector_named(connector);
    if (!found) return std::nullopt;
    const auto& schedule = routing::schedule_for(*found, size);
    const auto now = Clock::now();
    if (routing::schedule_open(schedule, now)) return std::nullopt;
    const auto next = routing::next_open(schedule, now);
    if (!next) return std::int64_t{0};
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(next->time_since_epoch()).count());
  }

  bool needs_priority() const {
    if (!snapshot) return false;
    for (const auto& connector : snapshot->connectors)
      if (connector.has_content_restrictions &&
          (connector.content.allow_high_priority() || connector.content.allow_normal_priority() ||
           connector.content.allow_low_priority()))
        return true;
    return false;
  }

  // The message's header section, read on the spool's pool (not on this loop):
  // the first 64 KiB are enough for any sane one.
  asio::awaitable<routing::Priority> read_priority(const QueueId& id) {
    auto body = co_await spool.open_body(id);
    if (!body) co_return routing::Priority::Normal;
    constexpr std::size_t kLimit = 64 * 1024;
    std::string head;
    while (head.size() < kLimit) {
      const std::size_t old_size = head.size();
      head.resize(kLimit);
      const std::span<char> rest(head.data() + old_size, kLimit - old_size);
      auto n = co_await body->read(rest);
      head.resize(old_size + (n ? *n : 0));
      if (!n || *n == 0) break;
      // The blank line may straddle two reads: look back three octets.
      if (head.find("\r\n\r\n", old_size < 3 ? 0 : old_size - 3) != std::string::npos) break;
    }
    co_return priority_of(head);
  }

  // The recipient as the router sees it, with the message facts connector
  // restrictions look at; nullopt when it was never categorized.
  static std::optional<routing::CategorizedRecipient> categorized_for_routing(const envelope::Envelope& env, int index,
                                                                             routing::Priority priority) {
    auto categorized = routing::categorized_recipient(env, index);
    if (!categorized) return std::nullopt;
    categorized->message.priority = priority;
    categorized->message.sender_dn = routing::normalize_dn(env.sender_dn());
    for (const auto& group : env.sender_group_dns())
      categorized->message.sender_group_dns.push_back(routing::normalize_dn(group));
    return categorized;
  }

  // --- one pass over one message -----------------------------------------------

  asio::awaitable<void> deliver_one(const QueueId& id) {
    const log::Context ctx{"delivery", 0, {}, id.str()};
    auto loaded = co_await spool.load(id);
    if (!loaded) {
      if (loaded.error().code != queue::SpoolErrc::NotFound)
        log::error(ctx, "cannot load envelope: {}", loaded.error().message());
      queues.erase(id);
      co_return;
    }
    envelope::Envelope env = std::move(*loaded);
    if (!is_delivery_queue(env.queue())) co_return;
    const std::string stored = env.SerializeAsString();  // a pass that changed nothing writes nothing
    const bool force = forced.erase(id) > 0;

    const auto* vs = virtual_server(env.virtual_server_id());
    const std::int64_t now = unix_now();
    const Clock::time_point arrival = Clock::from_time_t(static_cast<std::time_t>(env.arrival_unix()));
    const bool message_frozen = env.frozen();

    // Route every due recipient, group them by next hop and deliver. Recipients
    // of a connector whose hosts would not take a session are routed again at
    // once with that connector in retry, so they take the next best connector
    // (or wait in "final destination currently unreachable" when there is none).
    std::vector<int> candidates;
    for (int i = 0; i < env.recipients_size(); ++i) candidates.push_back(i);
    std::map<int, Outcome> reroute;
    std::map<int, envelope::QueueName> queue_by_recipient;  // where each routed recipient waits
    // Connectors that restrict by priority need the message's: read its header section.
    routing::Priority priority = routing::Priority::Normal;
    if (needs_priority()) priority = co_await read_priority(id);
    const std::size_t max_rounds = 1 + (metabase ? static_cast<std::size_t>(metabase->connectors_size()) : 0);
    for (std::size_t round = 0; round < max_rounds && !candidates.empty(); ++round) {
      std::map<std::string, HopGroup> groups;
      const auto state = route_state(id);
      for (int i : candidates) {
        auto& recipient = *env.mutable_recipients(i);
        if (recipient.state() != envelope::RESOLVED && recipient.state() != envelope::RETRY) continue;
        auto categorized = categorized_for_routing(env, i, priority);
        if (!categorized) {
          record(recipient, outcome_of(FailureKind::CategorizerFailure, "recipient was not categorized"), {});
          continue;
        }
        routing::NextHop hop = routing::route(*snapshot, *categorized, state);
        const bool local = std::holds_alternative<routing::LocalDelivery>(hop);
        queue::Scheduler scheduler(retry_schedule(vs, local), clock);
        const auto failed_before = reroute.find(i);
        if (scheduler.expired(arrival)) {
          Outcome expired = outcome_of(FailureKind::ExpiredInQueue, {});
          const std::string last =
              failed_before != reroute.end() ? failed_before->second.diagnostic : recipient.diagnostic();
          if (!last.empty()) expired.diagnostic += "; last error: " + last;
          record(recipient, expired, recipient.next_hop());
          continue;
        }
        if (const auto* fail = std::get_if<routing::Fail>(&hop)) {
          record(recipient, outcome_of(fail->kind, fail->detail), {});
          continue;
        }
        const auto* unreachable = std::get_if<routing::Unreachable>(&hop);
        const std::string label = unreachable ? unreachable->destination : hop_label(hop);
        recipient.set_next_hop(label);
        queue_by_recipient[i] = queue_of(hop);
        const queue::QueueKey key{queue_of(hop), label};
        if (message_frozen || frozen_queues.contains(key)) continue;
        if (round == 0 && !force && recipient.state() == envelope::RETRY && recipient.next_attempt_unix() > now)
          continue;
        log::debug(ctx, "{}: next hop {}", recipient.address(), routing::describe(hop));
        if (unreachable) {
          // Every connector is in retry: keep the failure that put the last one there.
          note_transient(recipient,
                         failed_before != reroute.end()
                             ? failed_before->second
                             : outcome_of(FailureKind::NoRouteAvailableNow, unreachable->destination),
                         scheduler, arrival);
          continue;
        }
        const bool remote_trigger = held_for_remote_trigger(hop);
        if (remote_trigger && !force) {
          recipient.set_next_attempt_unix(0);  // held until ETRN releases it
          continue;
        }
        if (!force && !remote_trigger) {
          if (auto opens = held_by_schedule(hop, env.body_size())) {
            recipient.set_next_attempt_unix(*opens);
            continue;
          }
        }
        auto& group = groups[routing::describe(hop)];
        group.hop = hop;
        group.recipients.push_back(i);
        group.addresses.push_back(delivery_address(*categorized));
      }

      std::map<int, Outcome> failed_connectors;
      for (auto& [description, group] : groups)
        co_await deliver_group(ctx, id, env, vs, arrival, group, failed_connectors);
      candidates.clear();
      for (auto& [index, outcome] : failed_connectors) {
        candidates.push_back(index);
        reroute[index] = std::move(outcome);
      }
    }
    // Out of rounds: whatever still waits for another connector is retried later.
    for (int i : candidates) {
      queue::Scheduler scheduler(retry_schedule(vs, false), clock);
      note_transient(*env.mutable_recipients(i), reroute[i], scheduler, arrival);
    }

    co_await finish(ctx, id, env, vs, stored, queue_by_recipient);
  }

  void note_transient(envelope::Recipient& recipient, Outcome outcome, const queue::Scheduler& scheduler,
                      Clock::time_point arrival) {
    recipient.set_attempts(recipient.attempts() + 1);
    const auto decision = scheduler.after_transient_failure(arrival, recipient.attempts(), recipient.delay_notified());
    const std::string hop = recipient.next_hop();
    if (decision.expired) {
      Outcome expired = outcome_of(FailureKind::ExpiredInQueue, {});
      expired.diagnostic += "; last error: " + outcome.diagnostic;
      expired.remote_mta = outcome.remote_mta;
      record(recipient, expired, hop);
      ++stats.failed;
      return;
    }
    outcome.state = envelope::RETRY;
    record(recipient, outcome, hop);
    recipient.set_next_attempt_unix(
        static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(decision.next_attempt.time_since_epoch()).count()));
    ++stats.deferred;
  }

  asio::awaitable<Result<std::vector<delivery::Endpoint>>> endpoints_for(const routing::NextHop& hop,
                                                                         const metabase::VirtualServer* vs,
                                                                         bool& smart_host) {
    auto& resolver = resolver_for(vs);
    smart_host = false;
    if (const auto* local = std::get_if<routing::LocalDelivery>(&hop)) {
      boost::system::error_code not_ip;
      asio::ip::make_address(local->host, not_ip);
      std::vector<routing::SmartHost> hosts{routing::SmartHost{ascii_lower(local->host), !not_ip, local->port}};
      smart_host = true;
      co_return co_await delivery::hosts_for_smart_hosts(resolver, std::move(hosts), local->port);
    }
    if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) {
      smart_host = true;
      auto hosts = smart->hosts;
      const std::uint16_t port = vs ? static_cast<std::uint16_t>(vs->outbound().port() ? vs->outbound().port() : 25) : 25;
      co_return co_await delivery::hosts_for_smart_hosts(resolver, std::move(hosts), port);
    }
    // A DNS hop: the virtual server's smart host (msExchSmtpSmartHost) takes
    // its place, or -- "attempt direct delivery before sending to smart
    // host" -- follows the MX hosts as the last resort.
    const auto& dns = std::get<routing::DnsMx>(hop);
    const auto virtual_smart_hosts = smart_hosts_of(vs);
    const std::uint16_t port = dns.port;
    if (!virtual_smart_hosts.empty() && vs->outbound().smart_host_type() != metabase::DNS_FIRST) {
      smart_host = true;
      auto hosts = virtual_smart_hosts;
      co_return co_await delivery::hosts_for_smart_hosts(resolver, std::move(hosts), port);
    }
    std::string domain = dns.domain;
    auto direct = co_await delivery::hosts_for_domain(resolver, std::move(domain), port);
    if (virtual_smart_hosts.empty()) co_return direct;
    auto hosts = virtual_smart_hosts;
    auto fallback = co_await delivery::hosts_for_smart_hosts(resolver, std::move(hosts), port);
    if (!fallback) co_return direct;
    std::vector<delivery::Endpoint> endpoints = direct ? std::move(*direct) : std::vector<delivery::Endpoint>{};
    endpoints.insert(endpoints.end(), fallback->begin(), fallback->end());
    co_return endpoints;
  }

  // The virtual server's own smart hosts (Outbound.smart_hosts); entries that
  // do not parse are skipped (metabase-sync --check names them).
  static std::vector<routing::SmartHost> smart_hosts_of(const metabase::VirtualServer* vs) {
    std::vector<routing::SmartHost> hosts;
    if (!vs) return hosts;
    for (const auto& text : vs->outbound().smart_hosts()) {
      auto parsed = routing::parse_smart_hosts(text);
      if (parsed) hosts.insert(hosts.end(), parsed->begin(), parsed->end());
    }
    return hosts;
  }

  delivery::ClientOptions client_options(const routing::NextHop& hop, const metabase::VirtualServer* vs) const {
    delivery::ClientOptions client;
    client.timeouts = options.timeouts;
    if (vs && vs->outbound().connection_timeout() != 0)
      client.timeouts.command = std::chrono::seconds(vs->outbound().connection_timeout());
    client.tls = tls;
    client.session.helo_name = vs && !vs->fqdn().empty() ? vs->fqdn() : (metabase ? metabase->this_server().fqdn() : "");
    if (client.session.helo_name.empty()) client.session.helo_name = "localhost";
    auto apply = [&client](bool tls_required, const routing::OutboundCredentials& credentials, bool use_helo) {
      client.session.tls = tls_required ? delivery::TlsPolicy::Required : delivery::TlsPolicy::Opportunistic;
      if (credentials.basic) client.session.credentials = delivery::Credentials{credentials.user_name, credentials.password};
      client.session.use_helo = use_helo;
    };
    if (const auto* local = std::get_if<routing::LocalDelivery>(&hop)) {
      client.session.protocol =
          local->protocol == routing::Protocol::Lmtp ? delivery::Protocol::Lmtp : delivery::Protocol::Smtp;
    } else if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) {
      apply(smart->tls_required, smart->credentials, smart->use_helo);
    } else if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) {
      // Through the virtual server's smart host, its outbound security applies
      // where the connector sets none.
      const auto& security = vs ? vs->outbound().security() : metabase::OutboundSecurity::default_instance();
      const bool via_smart_host = vs && vs->outbound().smart_host_type() != metabase::DNS_FIRST && !smart_hosts_of(vs).empty();
      routing::OutboundCredentials credentials = dns->credentials;
      if (!credentials.basic && via_smart_host && security.auth() == metabase::OUTBOUND_BASIC)
        credentials = routing::OutboundCredentials{true, security.user_name(), security.password()};
      apply(dns->tls_required || (via_smart_host && security.require_tls()), credentials, dns->use_helo);
    }
    return client;
  }

  // The transaction for `recipients` (envelope indices) sent to `addresses`
  // (their forward-paths, same order).
  static delivery::OutboundMessage outbound_message(const envelope::Envelope& env, const std::vector<int>& recipients,
                                                    const std::vector<std::string>& addresses) {
    delivery::OutboundMessage message;
    message.sender = env.sender();
    message.size = env.body_size();
    message.body = body_type_of(env.body_type());
    message.smtputf8 = env.smtputf8();
    message.ret = env.ret() == envelope::RET_FULL ? "FULL" : env.ret() == envelope::RET_HDRS ? "HDRS" : "";
    message.envid = env.envid();
    message.queue_id = env.queue_id();
    for (std::size_t k = 0; k < recipients.size(); ++k) {
      const auto& recipient = env.recipients(recipients[k]);
      delivery::OutboundRecipient out;
      out.address = addresses[k];
      out.notify = notify_text(recipient.notify());
      out.orcpt = strip_prefix(recipient.orcpt(), "rfc822;");
      if (out.orcpt.empty() && !iequals(recipient.address(), out.address)) out.orcpt = recipient.address();
      message.recipients.push_back(std::move(out));
    }
    return message;
  }

  static std::string connector_of(const routing::NextHop& hop) {
    if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) return smart->connector;
    if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) return dns->connector;
    return {};
  }

  // Delivers one group; when the hop is a connector whose hosts would not take
  // a session, the connector goes into retry and the recipients are left in
  // `failed_connectors` (with the failure) for the caller to route again.
  asio::awaitable<void> deliver_group(const log::Context& ctx, const QueueId& id, envelope::Envelope& env,
                                      const metabase::VirtualServer* vs, Clock::time_point arrival, HopGroup& group,
                                      std::map<int, Outcome>& failed_connectors) {
    const bool local = std::holds_alternative<routing::LocalDelivery>(group.hop);
    queue::Scheduler scheduler(retry_schedule(vs, local), clock);
    const std::string label = hop_label(group.hop);
    const std::string pool_key = routing::queue_name(group.hop);
    auto apply_to_all = [&](const Outcome& outcome) {
      for (int index : group.recipients) {
        auto& recipient = *env.mutable_recipients(index);
        if (outcome.state == envelope::RETRY) {
          note_transient(recipient, outcome, scheduler, arrival);
        } else {
          record(recipient, outcome, label);
          ++stats.failed;
        }
      }
    };

    bool smart_host = false;
    auto endpoints = co_await endpoints_for(group.hop, vs, smart_host);
    if (!endpoints) {
      const FailureKind kind = delivery::failure_kind_of(endpoints.error(), smart_host);
      log::warn(ctx, "{}: {}", pool_key, endpoints.error().message());
      apply_to_all(outcome_of(kind, endpoints.error().message()));
      co_return;
    }

    const delivery::OutboundMessage message = outbound_message(env, group.recipients, group.addresses);
    auto body = co_await SpooledBody::open(spool, id);
    if (!body) {
      log::error(ctx, "cannot open the body: {}", body.error().message());
      Outcome outcome;
      outcome.state = envelope::RETRY;
      outcome.reply_code = 451;
      outcome.status = "4.3.0";
      outcome.diagnostic = "451 4.3.0 queued body unreadable";
      apply_to_all(outcome);
      co_return;
    }

    ++stats.attempts;
    const auto client = client_options(group.hop, vs);
    auto report = co_await delivery::deliver_with_pool(*pool, pool_key, *endpoints, client, message, **body);
    const std::string remote = report.delivered_via ? report.delivered_via->host_name : std::string();

    // A connector whose hosts would not even take a session is put in retry, so
    // the router tries the next best connector meanwhile.
    const std::string connector = connector_of(group.hop);
    const bool connector_failed = !report.delivered_via && !connector.empty() && connector_named(connector) != nullptr;
    if (connector_failed) {
      const auto interval = scheduler.retry_interval(1);
      connectors_in_retry[ascii_lower(connector)] = Clock::now() + interval;
      log::warn(ctx, "connector \"{}\" in retry for {} s", connector, interval.count());
    }

    const std::vector<std::string> labels(group.recipients.size(), label);
    record_results(env, group.recipients, labels, report.result, remote, scheduler, arrival,
                   connector_failed ? &failed_connectors : nullptr);
    for (const auto& line : report.attempts) log::debug(ctx, "{}", line);
  }

  // Stores the peer's answer for each of `recipients` (envelope indices;
  // `labels` are their next hops). With `failed_connectors`, transient results
  // are left there for the caller to route again instead.
  void record_results(envelope::Envelope& env, const std::vector<int>& recipients,
                      const std::vector<std::string>& labels, const delivery::MessageResult& results,
                      const std::string& remote, const queue::Scheduler& scheduler, Clock::time_point arrival,
                      std::map<int, Outcome>* failed_connectors) {
    for (std::size_t k = 0; k < recipients.size() && k < results.recipients.size(); ++k) {
      const auto& result = results.recipients[k];
      const int index = recipients[k];
      auto& recipient = *env.mutable_recipients(index);
      Outcome outcome;
      outcome.reply_code = static_cast<unsigned>(result.code);
      outcome.status = result.status.str();
      outcome.diagnostic = std::to_string(result.code) + " " + result.text;
      outcome.remote_mta = remote;
      if (failed_connectors && result.outcome == delivery::Outcome::Transient) {
        outcome.state = envelope::RETRY;
        (*failed_connectors)[index] = std::move(outcome);
        continue;
      }
      switch (result.outcome) {
        case delivery::Outcome::Delivered:
          outcome.state = (!results.peer_offers_dsn && recipient.notify().success()) ? envelope::RELAYED
                                                                                      : envelope::DELIVERED;
          record(recipient, outcome, labels[k]);
          recipient.set_attempts(recipient.attempts() + 1);
          ++stats.delivered;
          break;
        case delivery::Outcome::Transient:
          note_transient(recipient, outcome, scheduler, arrival);
          break;
        case delivery::Outcome::Permanent:
          outcome.state = envelope::FAILED;
          record(recipient, outcome, labels[k]);
          recipient.set_attempts(recipient.attempts() + 1);
          ++stats.failed;
          break;
      }
    }
  }

  // --- after the pass: reports, storage, next wake-up -------------------------------

  asio::awaitable<void> finish(const log::Context& ctx, const QueueId& id, envelope::Envelope& env,
                               const metabase::VirtualServer* vs, const std::string& stored,
                               const std::map<int, envelope::QueueName>& queue_by_recipient) {
    const std::int64_t now = unix_now();
    const auto schedule = retry_schedule(vs, false);

    dsn::PlanOptions plan_options;
    plan_options.now_unix = now;
    plan_options.delay_notification_seconds = schedule.delay_notification.count();
    if (vs) plan_options.ndr_copy_to = vs->messages().send_ndr_copy_to();
    const auto plan = dsn::plan_reports(env, plan_options);
    for (const auto& planned : plan.reports) {
      if (auto queued = co_await queue_report(ctx, id, env, planned, vs, schedule); !queued) {
        // The envelope keeps saying the report is owed; the next pass tries again.
        log::error(ctx, "cannot queue the delivery status notification: {}", queued.error().message());
        co_await store(ctx, id, env, next_wake(env, now + 60), stored, queue_by_recipient);
        co_return;
      }
    }
    dsn::mark_reported(env, plan);

    bool all_final = true;
    for (const auto& r : env.recipients()) all_final = all_final && is_final(r.state());
    if (all_final && plan.badmail) {
      env.set_queue(envelope::BADMAIL);
      if (auto written = co_await spool.update(id, env); !written)
        log::error(ctx, "cannot store the envelope: {}", written.error().message());
      queues.upsert(queue::QueuedMessage::from_envelope(env));
      cancel_timer(id);
      log::warn(ctx, "null-sender message failed for every recipient: moved to Badmail");
      co_return;
    }
    if (all_final) {
      if (auto removed = co_await spool.remove(id); !removed) {
        log::error(ctx, "cannot remove the delivered message: {}", removed.error().message());
        co_return;
      }
      queues.erase(id);
      cancel_timer(id);
      ++stats.completed;
      log::info(ctx, "removed: every recipient is final");
      co_return;
    }
    co_await store(ctx, id, env, next_wake(env, held_wake(env, schedule, now)), stored, queue_by_recipient);
  }

  // Held recipients (remote trigger, a schedule with no window) have no next
  // attempt, yet the message must still be reported on and expire: the time a
  // pass is due for that; 0 = nothing held.
  static std::int64_t held_wake(const envelope::Envelope& env, const queue::RetrySchedule& schedule,
                                std::int64_t now) {
    bool held = false;
    bool delay_pending = false;
    for (const auto& r : env.recipients()) {
      if ((r.state() != envelope::RESOLVED && r.state() != envelope::RETRY) || r.next_attempt_unix() != 0) continue;
      held = true;
      delay_pending = delay_pending || !r.delay_notified();
    }
    if (!held) return 0;
    const std::int64_t delay_at = env.arrival_unix() + schedule.delay_notification.count();
    const std::int64_t expire_at = env.arrival_unix() + schedule.expiration.count();
    if (delay_pending && schedule.delay_notification.count() > 0 && delay_at > now) return std::min(delay_at, expire_at);
    return std::max(expire_at, now + 1);
  }

  // The earliest time a pending recipient becomes due; 0 = nothing scheduled.
  static std::int64_t next_wake(const envelope::Envelope& env, std::int64_t floor) {
    std::int64_t earliest = 0;
    for (const auto& r : env.recipients()) {
      if (is_final(r.state()) || r.next_attempt_unix() == 0) continue;
      if (earliest == 0 || r.next_attempt_unix() < earliest) earliest = r.next_attempt_unix();
    }
    if (floor != 0 && (earliest == 0 || earliest > floor)) earliest = floor;
    return earliest;
  }

  asio::awaitable<void> store(const log::Context& ctx, const QueueId& id, envelope::Envelope& env, std::int64_t wake,
                              const std::string& stored, const std::map<int, envelope::QueueName>& queue_by_recipient) {
    // The message's queue is where its first pending recipient waits.
    envelope::QueueName where = env.queue();
    for (int i = 0; i < env.recipients_size(); ++i) {
      if (is_final(env.recipients(i).state())) continue;
      if (const auto it = queue_by_recipient.find(i); it != queue_by_recipient.end()) where = it->second;
      break;
    }
    if (where == envelope::WAITING_TO_BE_ROUTED) where = envelope::REMOTE_DELIVERY;
    env.set_queue(where);
    if (env.SerializeAsString() == stored) {
      // Nothing to write.
    } else if (auto written = co_await spool.update(id, env); !written) {
      log::error(ctx, "cannot store the envelope: {}", written.error().message());
      wake = unix_now() + 60;
    }
    queues.upsert(queue::QueuedMessage::from_envelope(env));
    if (wake != 0) wake_at(id, wake);
  }

  asio::awaitable<Result<void>> queue_report(const log::Context& ctx, const QueueId& id, const envelope::Envelope& env,
                                             const dsn::PlannedReport& planned, const metabase::VirtualServer* vs,
                                             const queue::RetrySchedule& schedule) {
    const std::int64_t now = unix_now();
    const std::string fqdn = vs && !vs->fqdn().empty() ? vs->fqdn() : (metabase ? metabase->this_server().fqdn() : "localhost");
    dsn::ReportSettings settings;
    settings.reporting_mta = fqdn;
    settings.now_unix = now;
    settings.message_id = "<" + env.queue_id() + "." + std::to_string(++report_sequence) + ".report@" + fqdn + ">";
    settings.boundary = dsn::make_boundary(env.queue_id(), now, report_sequence);
    settings.retry_until_unix = env.arrival_unix() + schedule.expiration.count();
    settings.max_full_return_size = options.max_full_return_size;
    const auto content = dsn::report_from_envelope(env, planned, settings);

    auto stream = dsn::ReportStream::start(content);
    if (!stream) co_return std::unexpected(stream.error());

    envelope::Envelope report;
    report.set_virtual_server_id(env.virtual_server_id());
    report.set_received_by(fqdn);
    report.set_message_id(settings.message_id);
    for (const auto& address : planned.send_to) {
      auto* recipient = report.add_recipients();
      recipient->set_address(address);
      recipient->mutable_notify()->set_never(true);
    }
    auto writer = co_await spool.begin(std::move(report));
    if (!writer) co_return std::unexpected(writer.error());
    std::uint64_t size = stream->head().size();
    if (auto written = co_await writer->write(stream->head()); !written) co_return std::unexpected(written.error());
    // The original streams from its spool file into the report's, a chunk at a
    // time on the spool's pool; only what is returned is read (the header
    // section, cut at kMaxReturnedHeader, when RET=HDRS or the message is too big).
    auto original = co_await SpooledBody::open(spool, id);
    if (!original) co_return std::unexpected(original.error());
    const bool header_only = content.ret == dsn::ReturnContent::Headers;
    std::string chunk(64 * 1024, '\0');
    const std::span<char> into(chunk.data(), chunk.size());
    std::string out;
    std::uint64_t read = 0;
    while (!stream->original_done() && !(header_only && read >= kMaxReturnedHeader)) {
      auto n = co_await (*original)->read(into);
      if (!n) co_return std::unexpected(n.error());
      if (*n == 0) break;
      read += *n;
      out.clear();
      stream->put_original(std::string_view(chunk.data(), *n), out);
      size += out.size();
      if (auto written = co_await writer->write(out); !written) co_return std::unexpected(written.error());
    }
    out = stream->finish();
    size += out.size();
    if (auto written = co_await writer->write(out); !written) co_return std::unexpected(written.error());
    auto committed = co_await spool.commit(std::move(*writer));
    if (!committed) co_return std::unexpected(committed.error());
    ++stats.reports;
    const char* type = planned.type == dsn::ReportType::Failure ? "failure"
                       : planned.type == dsn::ReportType::Delay ? "delay"
                                                                 : "success";
    log::info(ctx, "{} report queued as {} for {} recipient(s)", type, committed->str(), planned.recipients.size());
    queues.upsert(queue::QueuedMessage{*committed, envelope::AWAITING_DIRECTORY_LOOKUP, {}, "", planned.send_to.size(),
                                       size, now, false});
    if (options.on_report_queued) options.on_report_queued(*committed);
    co_return Result<void>{};
  }

  // --- admin --------------------------------------------------------------------

  // The frozen named queues live in the spool's state/frozen-queues, one
  // "<QueueName enum name><TAB><next hop>" per line.
  static constexpr const char* kFrozenQueuesFile = "frozen-queues";

  void load_frozen_queues() {
    auto text = spool.read_state(kFrozenQueuesFile);
    if (!text) {
      if (text.error().code != queue::SpoolErrc::NotFound)
        log::error({"delivery"}, "cannot read the frozen queues: {}; none are frozen", text.error().message());
      return;
    }
    std::string_view rest = *text;
    while (!rest.empty()) {
      const auto end = rest.find('\n');
      const std::string_view line = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      const auto tab = line.find('\t');
      envelope::QueueName name;
      if (tab == std::string_view::npos || !envelope::QueueName_Parse(std::string(line.substr(0, tab)), &name)) {
        if (!line.empty()) log::warn({"delivery"}, "frozen queues: ignoring \"{}\"", log::printable(line));
        continue;
      }
      frozen_queues.insert(queue::QueueKey{name, std::string(line.substr(tab + 1))});
    }
    for (const auto& key : frozen_queues) log::info({"delivery"}, "queue {} is frozen", queue::display_name(key));
  }

  asio::awaitable<Result<void>> store_frozen_queues() {
    std::string text;
    for (const auto& key : frozen_queues) text += envelope::QueueName_Name(key.queue) + "\t" + key.next_hop + "\n";
    std::string name = kFrozenQueuesFile;
    co_return co_await spool.write_state(std::move(name), std::move(text));
  }

  asio::awaitable<Result<void>> set_frozen(const QueueId& id, bool frozen) {
    co_await claim(id);
    auto done = co_await set_frozen_claimed(id, frozen);
    release(id);
    co_return done;
  }

  asio::awaitable<Result<void>> set_frozen_claimed(const QueueId& id, bool frozen) {
    auto loaded = co_await spool.load(id);
    if (!loaded) co_return std::unexpected(loaded.error());
    loaded->set_frozen(frozen);
    if (auto written = co_await spool.update(id, *loaded); !written) co_return written;
    queues.upsert(queue::QueuedMessage::from_envelope(*loaded));
    if (!frozen) enqueue(id);
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> remove_message(const QueueId& id, bool send_ndr) {
    co_await claim(id);
    auto done = co_await remove_message_claimed(id, send_ndr);
    release(id);
    co_return done;
  }

  asio::awaitable<Result<void>> remove_message_claimed(const QueueId& id, bool send_ndr) {
    auto loaded = co_await spool.load(id);
    if (!loaded) co_return std::unexpected(loaded.error());
    envelope::Envelope env = std::move(*loaded);
    const log::Context ctx{"delivery", 0, {}, id.str()};
    if (send_ndr) {
      for (auto& recipient : *env.mutable_recipients()) {
        if (is_final(recipient.state())) continue;
        Outcome deleted;
        deleted.state = envelope::FAILED;
        deleted.reply_code = 550;
        deleted.status = "5.3.0";
        deleted.diagnostic = "550 5.3.0 Message deleted by the administrator";
        record(recipient, deleted, recipient.next_hop());
      }
      const auto* vs = virtual_server(env.virtual_server_id());
      dsn::PlanOptions plan_options;
      plan_options.now_unix = unix_now();
      if (vs) plan_options.ndr_copy_to = vs->messages().send_ndr_copy_to();
      const auto plan = dsn::plan_reports(env, plan_options);
      for (const auto& planned : plan.reports) {
        if (planned.type != dsn::ReportType::Failure) continue;
        if (auto queued = co_await queue_report(ctx, id, env, planned, vs, retry_schedule(vs, false)); !queued)
          co_return std::unexpected(queued.error());
      }
    }
    if (auto removed = co_await spool.remove(id); !removed) co_return removed;
    queues.erase(id);
    cancel_timer(id);
    log::info(ctx, "deleted by the administrator{}", send_ndr ? " (NDR sent)" : "");
    co_return Result<void>{};
  }

  // Messages held for remote-triggered delivery whose recipients are in
  // `domain` ("*.example.org" = every subdomain).
  asio::awaitable<queue::ReleaseResult> release(std::string domain) {
    queue::ReleaseResult result;
    domain = ascii_lower(domain);
    if (metabase) {
      for (const auto& connector : metabase->connectors()) {
        const bool remote_triggered = connector.queue_for_remote_triggered_delivery() ||
                                      connector.schedule().style() == metabase::Schedule::REMOTE_TRIGGERED;
        if (!remote_triggered) continue;
        for (const auto& etrn : connector.etrn_domains())
          if (iequals(etrn, domain)) result.known_domain = true;
        for (const auto& space : connector.address_spaces())
          if (iequals(space.pattern(), domain)) result.known_domain = true;
      }
    }
    auto candidates = queues.list(envelope::REMOTE_DELIVERY, std::numeric_limits<std::size_t>::max());
    auto unreachable = queues.list(envelope::FINAL_DESTINATION_UNREACHABLE, std::numeric_limits<std::size_t>::max());
    candidates.insert(candidates.end(), unreachable.begin(), unreachable.end());
    for (const auto& message : candidates) {
      auto loaded = co_await spool.load(message.id);
      if (!loaded) continue;
      bool matches = false;
      for (const auto& recipient : loaded->recipients())
        if (!is_final(recipient.state()) && domain_in_form(domain_of(recipient.address()).value_or(""), domain)) matches = true;
      if (!matches) continue;
      result.known_domain = true;
      ++result.messages;
      forced.insert(message.id);
      enqueue(message.id);
    }
    log::info({"delivery"}, "ETRN {}: {} message(s) released", domain, result.messages);
    co_return result;
  }

  // --- ATRN (RFC 2645): messages borrowed by a reversed connection ----------------

  asio::awaitable<queue::Turn> take_for_turn(std::vector<std::string> connectors, std::vector<std::string> domains,
                                             std::size_t limit) {
    queue::Turn taken;
    if (stopped || !snapshot) co_return taken;
    for (auto& name : connectors) name = ascii_lower(name);
    for (auto& domain : domains) domain = ascii_lower(domain);
    const auto held = queues.list(envelope::REMOTE_DELIVERY, std::numeric_limits<std::size_t>::max());
    for (const auto& queued : held) {
      if (taken.messages.size() >= limit) break;
      if (queued.frozen || in_progress.contains(queued.id)) continue;
      // Claimed before the first suspension, so no queue run starts on it meanwhile.
      in_progress.insert(queued.id);
      if (co_await borrow(queued.id, connectors, domains)) {
        taken.messages.push_back(queued.id);
        continue;
      }
      release(queued.id);
    }
    log::info({"delivery"}, "ATRN: {} message(s) taken for delivery over the client's connection",
              taken.messages.size());
    co_return taken;
  }

  // Records in `turns` the recipients of `id` held for one of `connectors` in
  // one of `domains`; false when it has none.
  asio::awaitable<bool> borrow(const QueueId& id, const std::vector<std::string>& connectors,
                               const std::vector<std::string>& domains) {
    auto loaded = co_await spool.load(id);
    if (!loaded || loaded->frozen() || !is_delivery_queue(loaded->queue())) co_return false;
    const envelope::Envelope& env = *loaded;
    routing::Priority priority = routing::Priority::Normal;
    if (needs_priority()) priority = co_await read_priority(id);
    const auto state = route_state(id);
    Turn turn;
    std::vector<std::string> addresses;
    for (int i = 0; i < env.recipients_size(); ++i) {
      const auto& recipient = env.recipients(i);
      if (recipient.state() != envelope::RESOLVED && recipient.state() != envelope::RETRY) continue;
      const auto categorized = categorized_for_routing(env, i, priority);
      if (!categorized) continue;
      const routing::NextHop hop = routing::route(*snapshot, *categorized, state);
      if (!held_for_remote_trigger(hop)) continue;
      if (std::find(connectors.begin(), connectors.end(), ascii_lower(connector_of(hop))) == connectors.end()) continue;
      std::string address = delivery_address(*categorized);
      const std::string domain = domain_of(address).value_or("");
      if (std::none_of(domains.begin(), domains.end(), [&](const std::string& form) { return domain_in_form(domain, form); }))
        continue;
      const std::string label = hop_label(hop);
      if (frozen_queues.contains(queue::QueueKey{queue_of(hop), label})) continue;
      turn.recipients.push_back(i);
      turn.labels.push_back(label);
      turn.queue_by_recipient[i] = queue_of(hop);
      addresses.push_back(std::move(address));
    }
    if (turn.recipients.empty()) co_return false;
    turn.message = outbound_message(env, turn.recipients, addresses);
    turns[id] = std::move(turn);
    co_return true;
  }

  // The transactions of borrowed messages, in `ids` order (nullopt: not borrowed).
  std::vector<std::optional<delivery::OutboundMessage>> turn_messages(const std::vector<QueueId>& ids) const {
    std::vector<std::optional<delivery::OutboundMessage>> out;
    for (const auto& id : ids) {
      const auto found = turns.find(id);
      out.push_back(found == turns.end() ? std::nullopt : std::optional(found->second.message));
    }
    return out;
  }

  // On the stream's executor: the client session over the reversed connection.
  static asio::awaitable<std::size_t> deliver_turn(std::shared_ptr<State> self, queue::Turn turn, ByteStream& stream,
                                                   queue::TurnPeer peer) {
    const log::Context ctx{"delivery", 0, peer.name};
    auto fetch = [self, ids = turn.messages]() -> asio::awaitable<std::vector<std::optional<delivery::OutboundMessage>>> {
      co_return self->turn_messages(ids);
    };
    auto fetched = asio::co_spawn(self->executor, std::move(fetch), asio::use_awaitable);
    const auto messages = co_await std::move(fetched);
    std::vector<std::optional<delivery::MessageResult>> results(turn.messages.size());
    delivery::ClientOptions options;
    options.session.helo_name = peer.helo_name;
    options.timeouts.greeting = options.timeouts.command = peer.reply_timeout;
    const std::string remote = peer.name;
    delivery::Endpoint endpoint{peer.name, peer.address};
    const asio::any_io_executor here = co_await asio::this_coro::executor;
    auto connection = co_await delivery::OutboundConnection::adopt(here, stream, std::move(endpoint), options);
    std::size_t attempted = 0;
    for (std::size_t i = 0; i < turn.messages.size() && connection->usable(); ++i) {
      if (!messages[i]) continue;
      QueueId id = turn.messages[i];
      auto body = co_await SpooledBody::open(self->spool, std::move(id));
      if (!body) {
        log::error(ctx, "ATRN: cannot open the body of {}: {}", turn.messages[i].str(), body.error().message());
        continue;
      }
      results[i] = co_await connection->deliver(*messages[i], **body);
      ++attempted;
    }
    if (connection->failure()) log::info(ctx, "ATRN: reversed session ended: {}", connection->failure()->text);
    co_await connection->quit();
    log::info(ctx, "ATRN: {} of {} message(s) sent over the reversed connection", attempted, turn.messages.size());
    auto give_back = [self, ids = std::move(turn.messages), results = std::move(results),
                      remote]() mutable -> asio::awaitable<void> {
      for (std::size_t i = 0; i < ids.size(); ++i) co_await self->return_from_turn(ids[i], std::move(results[i]), remote);
    };
    auto returned = asio::co_spawn(self->executor, std::move(give_back), asio::use_awaitable);
    co_await std::move(returned);
    co_return attempted;
  }

  // Gives a borrowed message back: `result` holds the client's answer for each
  // of its turn's recipients (recorded like any delivery attempt); nullopt = not
  // attempted, nothing changes.
  asio::awaitable<void> return_from_turn(const QueueId& id, std::optional<delivery::MessageResult> result,
                                         const std::string& remote_mta) {
    const auto found = turns.find(id);
    if (found == turns.end()) co_return;
    const Turn turn = std::move(found->second);
    turns.erase(found);
    const log::Context ctx{"delivery", 0, {}, id.str()};
    if (result) {
      auto loaded = co_await spool.load(id);
      if (loaded) {
        envelope::Envelope env = std::move(*loaded);
        const std::string stored = env.SerializeAsString();
        const auto* vs = virtual_server(env.virtual_server_id());
        const Clock::time_point arrival = Clock::from_time_t(static_cast<std::time_t>(env.arrival_unix()));
        queue::Scheduler scheduler(retry_schedule(vs, false), clock);
        ++stats.attempts;
        record_results(env, turn.recipients, turn.labels, *result, remote_mta, scheduler, arrival, nullptr);
        co_await finish(ctx, id, env, vs, stored, turn.queue_by_recipient);
      } else if (loaded.error().code != queue::SpoolErrc::NotFound) {
        log::error(ctx, "cannot load envelope after ATRN delivery: {}", loaded.error().message());
      }
    }
    release(id);
  }
};

DeliveryStage::DeliveryStage(asio::any_io_executor executor, queue::Spool& spool, queue::NamedQueues& queues,
                             DeliveryStageOptions options)
    : state_(std::make_shared<State>(std::move(executor), spool, queues, std::move(options))) {
  state_->load_frozen_queues();
}

DeliveryStage::~DeliveryStage() = default;

void DeliveryStage::configure(std::shared_ptr<const metabase::Metabase> metabase) {
  asio::post(state_->executor, [state = state_, metabase = std::move(metabase)]() mutable {
    if (!metabase) return;
    state->snapshot = std::make_shared<const routing::RoutingSnapshot>(routing::RoutingSnapshot::build(*metabase));
    if (!state->pool) {
      const auto limits = metabase->virtual_servers().empty()
                              ? delivery::PoolLimits{}
                              : delivery::pool_limits(metabase->virtual_servers(0).outbound());
      state->pool = std::make_unique<delivery::ConnectionPool>(state->executor, limits);
    }
    // DNS server lists may have changed: resolvers are made again on demand.
    if (!state->metabase || state->in_progress.empty()) state->resolvers.clear();
    const bool reload = state->metabase != nullptr;
    state->metabase = std::move(metabase);
    // Routes, schedules and connectors may have changed: every waiting message
    // is looked at again (one not yet due is left as it is, without a write).
    if (reload) {
      for (auto queue : {envelope::WAITING_TO_BE_ROUTED, envelope::LOCAL_DELIVERY, envelope::REMOTE_DELIVERY,
                         envelope::FINAL_DESTINATION_UNREACHABLE})
        for (const auto& message : state->queues.list(queue, std::numeric_limits<std::size_t>::max()))
          state->enqueue(message.id);
    }
    state->start_more();
  });
}

void DeliveryStage::submit(QueueId id) {
  asio::post(state_->executor, [state = state_, id = std::move(id)]() mutable { state->enqueue(std::move(id)); });
}

void DeliveryStage::stop() {
  asio::post(state_->executor, [state = state_] {
    state->stopped = true;
    state->waiting.clear();
    state->waiting_set.clear();
    for (auto& [id, timer] : state->timers) timer->cancel();
    state->timers.clear();
  });
}

DeliveryStageStats DeliveryStage::stats() const { return state_->stats; }

asio::any_io_executor DeliveryStage::executor() const { return state_->executor; }

asio::awaitable<std::vector<queue::QueueSummary>> DeliveryStage::list_queues() {
  std::vector<queue::QueueSummary> out;
  auto counts = state_->queues.counts();
  for (const auto& key : state_->frozen_queues) counts.try_emplace(key, 0);
  for (const auto& [key, count] : counts)
    out.push_back(queue::QueueSummary{key, queue::display_name(key), count, state_->frozen_queues.contains(key)});
  co_return out;
}

asio::awaitable<std::vector<queue::QueuedMessage>> DeliveryStage::list_messages(queue::QueueKey key, std::size_t limit) {
  std::optional<std::string_view> hop;
  if (!key.next_hop.empty()) hop = key.next_hop;
  co_return state_->queues.list(key.queue, limit, hop);
}

asio::awaitable<Result<envelope::Envelope>> DeliveryStage::message(QueueId id) { co_return co_await state_->spool.load(id); }

asio::awaitable<Result<void>> DeliveryStage::freeze_message(QueueId id, bool frozen) {
  co_return co_await state_->set_frozen(id, frozen);
}

asio::awaitable<Result<void>> DeliveryStage::freeze_queue(queue::QueueKey key, bool frozen) {
  if (key.next_hop.find_first_of("\t\r\n") != std::string::npos)
    co_return make_error(std::make_error_code(std::errc::invalid_argument), "no such queue");
  auto& frozen_queues = state_->frozen_queues;
  const bool changed = frozen ? frozen_queues.insert(key).second : frozen_queues.erase(key) > 0;
  if (changed) {
    // Stored before it is acknowledged: a freeze outlasts a restart.
    if (auto stored = co_await state_->store_frozen_queues(); !stored) {
      if (frozen)
        frozen_queues.erase(key);
      else
        frozen_queues.insert(key);
      co_return stored;
    }
  }
  if (changed && !frozen) {
    std::optional<std::string_view> hop;
    if (!key.next_hop.empty()) hop = key.next_hop;
    for (const auto& message : state_->queues.list(key.queue, std::numeric_limits<std::size_t>::max(), hop))
      state_->enqueue(message.id);
  }
  log::info({"delivery"}, "queue {} {}", queue::display_name(key), frozen ? "frozen" : "thawed");
  co_return Result<void>{};
}

asio::awaitable<Result<void>> DeliveryStage::retry_message(QueueId id) {
  if (!state_->queues.find(id)) co_return make_error(make_error_code(queue::SpoolErrc::NotFound), "no such message");
  state_->cancel_timer(id);
  state_->forced.insert(id);
  state_->enqueue(id);
  co_return Result<void>{};
}

asio::awaitable<Result<std::size_t>> DeliveryStage::retry_queue(queue::QueueKey key) {
  std::optional<std::string_view> hop;
  if (!key.next_hop.empty()) hop = key.next_hop;
  const auto messages = state_->queues.list(key.queue, std::numeric_limits<std::size_t>::max(), hop);
  for (const auto& message : messages) {
    state_->cancel_timer(message.id);
    state_->forced.insert(message.id);
    state_->enqueue(message.id);
  }
  co_return messages.size();
}

asio::awaitable<Result<void>> DeliveryStage::delete_message(QueueId id, bool send_ndr) {
  co_return co_await state_->remove_message(id, send_ndr);
}

asio::awaitable<queue::ReleaseResult> DeliveryStage::release_domain(std::string domain) {
  co_return co_await state_->release(std::move(domain));
}

asio::awaitable<queue::Turn> DeliveryStage::take_for_turn(std::vector<std::string> connectors,
                                                        std::vector<std::string> domains, std::size_t limit) {
  co_return co_await state_->take_for_turn(std::move(connectors), std::move(domains), limit);
}

asio::awaitable<std::size_t> DeliveryStage::deliver_turn(queue::Turn turn, ByteStream& stream, queue::TurnPeer peer) {
  co_return co_await State::deliver_turn(state_, std::move(turn), stream, std::move(peer));
}

asio::awaitable<void> DeliveryStage::return_turn(queue::Turn turn) {
  for (const auto& id : turn.messages) co_await state_->return_from_turn(id, std::nullopt, {});
}

}  // namespace gw::qmgr
