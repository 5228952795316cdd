#include "gateway/qmgr/message_facts.h"

#include <span>

#include "gateway/common/ascii.h"

namespace gw::qmgr {
namespace {

std::string strip_prefix(std::string_view value, std::string_view prefix) {
  if (istarts_with(value, prefix)) value.remove_prefix(prefix.size());
  return std::string(value);
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

}  // namespace

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

asio::awaitable<routing::Priority> read_priority(queue::Spool& spool, const QueueId& id) {
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

std::optional<routing::CategorizedRecipient> categorized_for_routing(const envelope::Envelope& env, int index,
                                                                     routing::Priority priority) {
  auto categorized = routing::categorized_recipient(env, index);
  if (!categorized) return std::nullopt;
  categorized->message.priority = priority;
  categorized->message.sender_dn = routing::normalize_dn(env.sender_dn());
  for (const auto& group : env.sender_group_dns())
    categorized->message.sender_group_dns.push_back(routing::normalize_dn(group));
  return categorized;
}

delivery::OutboundMessage outbound_message(const envelope::Envelope& env, const std::vector<int>& recipients,
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

}  // namespace gw::qmgr
