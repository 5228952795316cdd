// RecipientValidator: the RCPT-time recipient check the connection driver runs
// when the Session asks (smtp::CheckRecipient).
//
// Contract: check() answers Accept, Reject (with the exact reply, e.g. 550
// 5.1.1) or TryLater (451 4.4.3 when the directory is unavailable: contract
// 3 in docs/architecture.md, never a bounce for an outage). It completes on the caller's
// executor and never blocks it. Relay decisions are already made by the Session
// before it asks; the validator only says whether the recipient exists.
//
// AcceptLocalDomains is the default: it accepts every recipient the Session
// passes on (local domains and permitted relay), leaving unknown users to the
// categorizer after queuing. The directory-backed validator plugs in here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/common/address.h"
#include "gateway/common/asio.h"
#include "gateway/smtp/policy.h"
#include "gateway/smtp/session.h"

namespace gw::server {

struct RecipientQuery {
  Address recipient;
  smtp::DomainClass domain_class = smtp::DomainClass::Remote;
  bool vrfy = false;
  std::string virtual_server_id;
  // The transaction so far, for delivery restrictions and limits (empty sender = <>).
  std::string sender;
  bool authenticated = false;         // the session used AUTH
  std::size_t accepted_so_far = 0;    // recipients already accepted in this transaction
  std::uint64_t declared_size = 0;    // MAIL FROM SIZE=, 0 when not given
};

class RecipientValidator {
 public:
  virtual ~RecipientValidator() = default;
  virtual asio::awaitable<smtp::RecipientVerdict> check(RecipientQuery query) = 0;
};

class AcceptLocalDomains final : public RecipientValidator {
 public:
  asio::awaitable<smtp::RecipientVerdict> check(RecipientQuery query) override;
};

}  // namespace gw::server
