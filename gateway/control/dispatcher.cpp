#include "gateway/control/dispatcher.h"

#include <ctime>

#include "gateway/common/ascii.h"
#include "gateway/events/bus.h"
#include "gateway/queue/spool_error.h"

namespace gw::control {
namespace {

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string lower_enum(std::string name) {
  name = ascii_lower(name);
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

std::string error_text(const Error& error, const QueueId* id) {
  if (error.code == queue::SpoolErrc::NotFound && id != nullptr)
    return "no message " + id->str() + " in the queue";
  return error.message();
}

Response done(const Result<void>& result, const QueueId* id = nullptr) {
  if (!result) return Response::failure(error_text(result.error(), id));
  return Response{};
}

}  // namespace

std::string format_utc(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return {};
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char buffer[32];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

Record queue_record(const queue::QueueSummary& summary) {
  Record r{"queue", {}};
  r.add("queue", queue_argument(summary.key.queue))
      .add("next_hop", summary.key.next_hop)
      .add("name", summary.display_name.empty() ? queue::display_name(summary.key) : summary.display_name)
      .add("messages", std::to_string(summary.messages))
      .add("frozen", yes_no(summary.frozen));
  return r;
}

Record message_record(const queue::QueuedMessage& message) {
  Record r{"message", {}};
  r.add("id", message.id.str())
      .add("queue", queue_argument(message.queue))
      .add("next_hop", message.next_hop)
      .add("sender", message.sender)
      .add("recipients", std::to_string(message.recipients))
      .add("size", std::to_string(message.size))
      .add("arrival", format_utc(message.arrival_unix))
      .add("frozen", yes_no(message.frozen));
  return r;
}

std::vector<Record> envelope_records(const envelope::Envelope& e) {
  std::vector<Record> out;
  Record m{"message", {}};
  std::string client = e.client_ip();
  if (!client.empty() && e.client_port() != 0) {
    client = client.find(':') != std::string::npos ? "[" + client + "]" : client;
    client += ":" + std::to_string(e.client_port());
  }
  m.add("id", e.queue_id())
      .add("queue", queue_argument(e.queue()))
      .add("sender", e.sender())
      .add("size", std::to_string(e.body_size()))
      .add("arrival", format_utc(e.arrival_unix()))
      .add("virtual_server", e.virtual_server_id())
      .add("received_by", e.received_by())
      .add("client", client)
      .add("helo", e.helo())
      .add("auth", e.auth_identity())
      .add("tls", e.tls())
      .add("message_id", e.message_id())
      .add("envid", e.envid())
      .add("hop_count", std::to_string(e.hop_count()))
      .add("frozen", yes_no(e.frozen()))
      .add("next_attempt", format_utc(e.next_attempt_unix()));
  out.push_back(std::move(m));
  for (const auto& rcpt : e.recipients()) {
    Record r{"recipient", {}};
    r.add("address", rcpt.address())
        .add("state", lower_enum(envelope::RecipientState_Name(rcpt.state())))
        .add("status", rcpt.status())
        .add("reply_code", rcpt.reply_code() == 0 ? std::string() : std::to_string(rcpt.reply_code()))
        .add("diagnostic", rcpt.diagnostic())
        .add("next_hop", rcpt.next_hop())
        .add("remote_mta", rcpt.remote_mta())
        .add("attempts", std::to_string(rcpt.attempts()))
        .add("next_attempt", format_utc(rcpt.next_attempt_unix()));
    out.push_back(std::move(r));
  }
  return out;
}

// An administrator's action on a message, for the event stream (tracking log,
// application log, metrics); `env` is the message as it was before the action.
static void emit_admin(const QueueId& id, const Result<envelope::Envelope>& env, std::string action, std::string detail = {}) {
  events::AdminAction e;
  e.subject.queue_id = id.str();
  if (env) {
    e.subject.message_id = env->message_id();
    e.subject.sender = env->sender();
  }
  e.action = std::move(action);
  e.detail = std::move(detail);
  events::emit(std::move(e));
}

asio::awaitable<Response> execute(queue::QueueAdmin& admin, Request request, Explainer* explainer) {
  if (auto* r = std::get_if<ExplainCommand>(&request)) {
    if (explainer == nullptr) co_return Response::failure("explain is not available");
    ExplainCommand command = *r;
    co_return co_await explainer->explain(std::move(command));
  }
  if (auto* r = std::get_if<QueuesCommand>(&request)) {
    (void)r;
    const auto queues = co_await admin.list_queues();
    Response response;
    for (const auto& summary : queues) response.records.push_back(queue_record(summary));
    co_return response;
  }
  if (auto* r = std::get_if<ListCommand>(&request)) {
    queue::QueueKey key = r->key;
    const auto messages = co_await admin.list_messages(std::move(key), r->limit);
    Response response;
    for (const auto& message : messages) response.records.push_back(message_record(message));
    co_return response;
  }
  if (auto* r = std::get_if<ShowCommand>(&request)) {
    const QueueId id = r->id;
    QueueId argument = id;
    auto envelope = co_await admin.message(std::move(argument));
    if (!envelope) co_return Response::failure(error_text(envelope.error(), &id));
    if (envelope->queue_id().empty()) envelope->set_queue_id(id.str());
    Response response;
    response.records = envelope_records(*envelope);
    co_return response;
  }
  if (auto* r = std::get_if<FreezeCommand>(&request)) {
    const QueueId id = r->id;
    QueueId argument = id;
    const auto result = co_await admin.freeze_message(std::move(argument), r->frozen);
    if (result) {
      QueueId again = id;
      const auto env = co_await admin.message(std::move(again));
      emit_admin(id, env, r->frozen ? "freeze" : "thaw");
    }
    co_return done(result, &id);
  }
  if (auto* r = std::get_if<FreezeQueueCommand>(&request)) {
    queue::QueueKey key = r->key;
    const auto result = co_await admin.freeze_queue(std::move(key), r->frozen);
    co_return done(result);
  }
  if (auto* r = std::get_if<RetryCommand>(&request)) {
    const QueueId id = r->id;
    QueueId argument = id;
    const auto result = co_await admin.retry_message(std::move(argument));
    if (!result) co_return done(result, &id);
    // A frozen message stays frozen: retry does not release it (thaw does).
    QueueId again = id;
    const auto env = co_await admin.message(std::move(again));
    const bool frozen = env && env->frozen();
    emit_admin(id, env, "retry", frozen ? "frozen: not attempted" : "");
    Response response;
    response.records.push_back(Record{"retried", {}}.add("frozen", yes_no(frozen)));
    co_return response;
  }
  if (auto* r = std::get_if<RetryQueueCommand>(&request)) {
    queue::QueueKey key = r->key;
    const auto result = co_await admin.retry_queue(std::move(key));
    if (!result) co_return Response::failure(result.error().message());
    Response response;
    response.records.push_back(Record{"retried", {}}.add("messages", std::to_string(*result)));
    co_return response;
  }
  if (auto* r = std::get_if<DeleteCommand>(&request)) {
    const QueueId id = r->id;
    QueueId argument = id;
    QueueId before_id = id;
    const auto before = co_await admin.message(std::move(before_id));
    const auto result = co_await admin.delete_message(std::move(argument), r->send_ndr);
    if (result) emit_admin(id, before, r->send_ndr ? "delete-ndr" : "delete");
    co_return done(result, &id);
  }
  auto& etrn = std::get<EtrnCommand>(request);
  std::string domain = etrn.domain;
  const auto released = co_await admin.release_domain(std::move(domain));
  Response response;
  response.records.push_back(Record{"released", {}}
                                 .add("known_domain", yes_no(released.known_domain))
                                 .add("messages", std::to_string(released.messages)));
  co_return response;
}

}  // namespace gw::control
