// Helpers of the queue manager's unit tests: the sample organization as
// settings, categorized envelopes committed to a real spool, and a HopDelivery
// whose answers the test scripts (no sockets).
#pragma once

#include <google/protobuf/text_format.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/qmgr/hop_delivery.h"
#include "gateway/qmgr/settings.h"
#include "gateway/queue/spool.h"
#include "proto/metabase.pb.h"
#include "tests/support/run_to_completion.h"

namespace gw::qmgr::test {

inline metabase::Metabase sample_org() {
  std::ifstream in(std::string(GW_ROUTING_TESTDATA) + "/org.textproto");
  std::stringstream text;
  text << in.rdbuf();
  metabase::Metabase mb;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &mb)) throw std::runtime_error("bad org.textproto");
  return mb;
}

inline SettingsPtr settings_of(metabase::Metabase mb) {
  return std::make_shared<const Settings>(std::make_shared<const metabase::Metabase>(std::move(mb)));
}

inline const std::string kMbx1Store =
    "CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore,CN=MBX1,CN=Servers,CN=First Administrative "
    "Group,CN=Administrative Groups,CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com";

// A recipient as the categorizer leaves it: routed by domain (REMOTE).
inline void add_remote(envelope::Envelope& env, const std::string& address) {
  auto* r = env.add_recipients();
  r->set_address(address);
  r->set_state(envelope::RESOLVED);
  r->mutable_resolution()->set_kind(envelope::Resolution::REMOTE);
}

// A mailbox user on MBX1.
inline void add_mailbox(envelope::Envelope& env, const std::string& address) {
  auto* r = env.add_recipients();
  r->set_address(address);
  r->set_state(envelope::RESOLVED);
  r->mutable_resolution()->set_kind(envelope::Resolution::MAILBOX);
  r->mutable_resolution()->set_home_mdb_dn(kMbx1Store);
  r->mutable_resolution()->set_home_server_fqdn("mbx1.example.com");
}

// A categorized message from alice@example.com, arrived at `arrival_unix`.
inline envelope::Envelope categorized(std::int64_t arrival_unix, const std::string& sender = "alice@example.com") {
  envelope::Envelope env;
  env.set_sender(sender);
  env.set_virtual_server_id("1");
  env.set_arrival_unix(arrival_unix);
  env.set_queue(envelope::WAITING_TO_BE_ROUTED);
  return env;
}

inline QueueId commit(asio::io_context& io, queue::Spool& spool, envelope::Envelope env,
                      const std::string& body = "Subject: test\r\n\r\nHello\r\n") {
  auto op = [&]() -> asio::awaitable<QueueId> {
    auto writer = co_await spool.begin(std::move(env));
    if (!writer) throw std::runtime_error(writer.error().message());
    if (auto written = co_await writer->write(body); !written) throw std::runtime_error(written.error().message());
    auto id = co_await spool.commit(std::move(*writer));
    if (!id) throw std::runtime_error(id.error().message());
    co_return *id;
  };
  return gw::test::run_to_completion(io, op());
}

// Replies every recipient of an attempt gets.
inline delivery::MessageResult all_answered(const HopAttempt& attempt, delivery::Outcome outcome, int code,
                                            EnhancedStatus status, std::string text) {
  delivery::MessageResult result;
  for (const auto& recipient : attempt.message.recipients)
    result.recipients.push_back(delivery::RecipientResult{recipient.address, outcome, code, status, text});
  result.peer_offers_dsn = true;
  return result;
}

// A HopDelivery that answers as the test says, per hop name; a hop the test
// did not script takes everything ("250 2.0.0 ok" from mx.test).
class ScriptedDelivery final : public HopDelivery {
 public:
  using Script = std::function<HopReport(const HopAttempt&)>;

  struct Call {
    std::string hop_name;
    std::vector<std::string> recipients;
  };

  void answer(const std::string& hop_name, Script script) { scripts_[hop_name] = std::move(script); }

  asio::awaitable<HopReport> deliver(const HopAttempt& attempt) override {
    Call call{attempt.hop_name, {}};
    for (const auto& r : attempt.message.recipients) call.recipients.push_back(r.address);
    calls.push_back(std::move(call));
    if (const auto it = scripts_.find(attempt.hop_name); it != scripts_.end()) co_return it->second(attempt);
    HopReport report;
    report.result = all_answered(attempt, delivery::Outcome::Delivered, 250, EnhancedStatus{2, 0, 0}, "ok");
    report.remote_mta = "mx.test";
    co_return report;
  }

  std::vector<Call> calls;

 private:
  std::map<std::string, Script> scripts_;
};

}  // namespace gw::qmgr::test
