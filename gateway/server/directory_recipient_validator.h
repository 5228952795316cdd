// DirectoryRecipientValidator: the RCPT-time check against the directory.
//
// Contract: check() resolves the sender (cached by the categorizer, so in practice once per
// transaction) and asks Categorizer::check_recipient() on the DirectoryService's executor, then
// completes on the caller's executor. Replies come from gateway/dsn's status table: unknown
// recipient in an authoritative domain -> 550 5.1.1 (refused now, never a bounce later), delivery
// restriction for the known sender -> 550 5.7.1, recipient size limit -> 552 5.2.3, ... Directory
// unreachable or timing out -> 451 4.4.3. Unknown recipients of non-authoritative, relay and
// remote domains are accepted, and so are unknown recipients of authoritative domains when the
// session's virtual server forwards unresolved recipients to a host
// (gwSmtpForwardUnresolvedToHost; the categorizer and router take them there). Without
// directory endpoints in the metabase every recipient the Session passes on is accepted
// (AcceptLocalDomains behaviour).
// Not responsible for: relay decisions (the Session), keeping the directory connection
// (DirectoryService), post-queue categorization (CategorizeStage).
#pragma once

#include "gateway/server/recipient_validator.h"
#include "categorizer/directory_service.h"

namespace gw::server {

class DirectoryRecipientValidator final : public RecipientValidator {
 public:
  explicit DirectoryRecipientValidator(categorizer::DirectoryService& directory) : directory_(directory) {}
  asio::awaitable<smtp::RecipientVerdict> check(RecipientQuery query) override;

  // The SMTP verdict for a categorizer verdict (pure).
  static smtp::RecipientVerdict to_smtp(const categorizer::RecipientVerdict& verdict);

 private:
  categorizer::DirectoryService& directory_;
};

}  // namespace gw::server
