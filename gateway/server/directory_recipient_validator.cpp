#include "gateway/server/directory_recipient_validator.h"

#include "gateway/common/failure_kind.h"
#include "gateway/dsn/status_table.h"

namespace gw::server {

smtp::RecipientVerdict DirectoryRecipientValidator::to_smtp(const categorizer::RecipientVerdict& verdict) {
  if (const auto* reject = std::get_if<categorizer::Reject>(&verdict)) {
    const auto& row = dsn::status_of(reject->kind);
    if (row.status.klass == 4) {
      return {smtp::RecipientVerdict::Kind::TryLater, smtp::Reply(row.reply_code, row.status, std::string(row.text))};
    }
    return smtp::RecipientVerdict::reject(row.reply_code, row.status, std::string(row.text));
  }
  if (std::holds_alternative<categorizer::TryLater>(verdict)) {
    const auto& row = dsn::status_of(FailureKind::DirectoryUnavailable);
    return {smtp::RecipientVerdict::Kind::TryLater, smtp::Reply(row.reply_code, row.status, std::string(row.text))};
  }
  return smtp::RecipientVerdict::accept();
}

asio::awaitable<smtp::RecipientVerdict> DirectoryRecipientValidator::check(RecipientQuery query) {
  auto categorizer = directory_.categorizer();
  if (!categorizer) co_return smtp::RecipientVerdict::accept();
  // The categorizer and its client live on the directory executor; the result comes back here.
  auto lookup = [categorizer, query = std::move(query)]() -> asio::awaitable<categorizer::RecipientVerdict> {
    // The sender's groups are looked up only for a recipient restricted by group.
    std::string sender_address = query.sender;
    auto sender = co_await categorizer->resolve_sender(std::move(sender_address), query.authenticated,
                                                       categorizer::SenderGroups::WhenNeeded);
    if (!sender) {
      categorizer::RecipientVerdict later = categorizer::TryLater{sender.error().message()};
      co_return later;
    }
    std::string recipient = query.recipient.str();
    std::string virtual_server_id = query.virtual_server_id;
    auto verdict = co_await categorizer->check_recipient(std::move(recipient), *sender, query.accepted_so_far,
                                                         query.declared_size, std::move(virtual_server_id));
    co_return verdict;
  };
  auto spawned = asio::co_spawn(directory_.executor(), std::move(lookup), asio::use_awaitable);
  const auto verdict = co_await std::move(spawned);
  co_return to_smtp(verdict);
}

}  // namespace gw::server
