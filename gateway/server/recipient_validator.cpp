#include "gateway/server/recipient_validator.h"

namespace gw::server {

asio::awaitable<smtp::RecipientVerdict> AcceptLocalDomains::check(RecipientQuery) {
  co_return smtp::RecipientVerdict::accept();
}

}  // namespace gw::server
