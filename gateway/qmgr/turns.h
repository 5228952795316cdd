// TurnLender: the queue manager's side of ATRN (RFC 2645). take() routes every
// pending recipient of the messages in Remote delivery and lends out those
// whose next hop is a remote-triggered hold of one of the ATRN account's
// connectors and whose delivery domain was asked for ("x" or "*.x"); frozen
// messages and queues and messages owned by a pass or another ATRN are left
// alone. A lent message is owned by the lender (ActiveQueue) until
// give_back() records the ATRN connection's per-recipient answers exactly as a
// delivery attempt (reports and removal follow as after any pass), or, with no
// answer, lets it go unchanged. The outbound session itself runs over the
// reversed connection (QueueManager::deliver_turn).
// Executor: the queue manager's.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/delivery/client_session.h"
#include "gateway/qmgr/delivery_pass.h"
#include "gateway/queue/queue_admin.h"

namespace gw::qmgr {

class TurnLender {
 public:
  TurnLender(PassContext& context, std::function<SettingsPtr()> settings);

  asio::awaitable<queue::Turn> take(std::vector<std::string> connectors, std::vector<std::string> domains,
                                    std::size_t limit);
  // The transactions of lent messages, in `ids` order (nullopt: not lent).
  std::vector<std::optional<delivery::OutboundMessage>> messages(const std::vector<QueueId>& ids) const;
  // `result`: the client's answer for each recipient of messages(); nullopt = not attempted.
  asio::awaitable<void> give_back(const QueueId& id, std::optional<delivery::MessageResult> result,
                                  const std::string& remote_mta);

 private:
  struct Loan {
    std::vector<int> recipients;                      // envelope indices, in `message` order
    std::vector<std::string> hops;                    // their next hops
    std::map<int, envelope::QueueName> queue_by_recipient;
    delivery::OutboundMessage message;                // only the recipients held for the ATRN client
  };
  asio::awaitable<bool> lend(const QueueId& id, const Settings& settings, const std::vector<std::string>& connectors,
                             const std::vector<std::string>& domains);

  PassContext& context_;
  std::function<SettingsPtr()> settings_;
  std::map<QueueId, Loan> loans_;
};

}  // namespace gw::qmgr
