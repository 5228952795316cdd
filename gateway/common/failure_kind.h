// FailureKind: why a recipient (or a whole message) cannot be delivered, as a
// value with no SMTP text attached.
//
// The categorizer, the router and the delivery client report failures with this
// enum; gateway/dsn/status_table.h maps each kind to exactly one SMTP reply
// code, RFC 3463 enhanced status code and text, so the wording of every NDR
// lives in one table. This header does not decide codes or whether a failure
// is final; the table and the queue do.
#pragma once

#include <string_view>

namespace gw {

enum class FailureKind {
  UnknownRecipient,            // 5.1.1 no such recipient in an authoritative domain
  CategorizerFailure,          // 5.1.0 e.g. contact without targetAddress
  BadAddressSyntax,            // 5.1.3
  AmbiguousRecipient,          // 5.1.4 two objects share the proxy address
  InvalidHomeServer,           // 5.1.6 mailbox user without a valid homeMDB / home server
  BadSenderAddress,            // 5.1.7 sender with missing or malformed mail attribute
  MessageTooLargeForRecipient, // 5.2.3 recipient's delivContLength
  MessageTooLargeForConnector, // 5.2.3 connector's size restriction
  GroupExpansionLimit,         // 5.2.4 group nesting or member count over the categorizer's limit
  GroupWithoutRecipients,      // 5.2.4 a group whose expansion reaches nobody who can receive mail
  LoopBackToSelf,              // 5.3.5 next hop is this server
  NoMailExchanger,             // 5.4.0 no MX/A record for the domain
  BadSmartHost,                // 5.4.0 smart host not resolvable or malformed
  NoRoute,                     // 5.4.4 no connector for the address space
  ForwardLoop,                 // 5.4.6 alternate recipient / contact chain loops
  DomainIsServerFqdn,          // 5.4.8 recipient domain equals a server FQDN
  TooManyRecipients,           // 5.5.3
  RelayDenied,                 // 5.7.1
  SenderRestricted,            // 5.7.1 delivery restriction (authOrig / unauthOrig)
  ContentRestricted,           // 5.7.1 priority or system/non-system restriction
  HostNotResponding,           // 4.4.1
  ConnectionDropped,           // 4.4.2
  DirectoryUnavailable,        // 4.4.3 LDAP unreachable: never a bounce
  DnsTemporaryFailure,         // 4.4.3 DNS server failure
  NoRouteAvailableNow,         // 4.4.4 every matching connector is down
  HopCountExceeded,            // 4.4.6
  ExpiredInQueue,              // 4.4.7
  QueueFrozen,                 // 4.3.2
  TlsNotAvailable,             // 4.7.4 TLS required but not offered or failed
};

// Stable identifier for logs and golden files ("UnknownRecipient").
constexpr std::string_view failure_kind_name(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::UnknownRecipient: return "UnknownRecipient";
    case FailureKind::CategorizerFailure: return "CategorizerFailure";
    case FailureKind::BadAddressSyntax: return "BadAddressSyntax";
    case FailureKind::AmbiguousRecipient: return "AmbiguousRecipient";
    case FailureKind::InvalidHomeServer: return "InvalidHomeServer";
    case FailureKind::BadSenderAddress: return "BadSenderAddress";
    case FailureKind::MessageTooLargeForRecipient: return "MessageTooLargeForRecipient";
    case FailureKind::MessageTooLargeForConnector: return "MessageTooLargeForConnector";
    case FailureKind::GroupExpansionLimit: return "GroupExpansionLimit";
    case FailureKind::GroupWithoutRecipients: return "GroupWithoutRecipients";
    case FailureKind::LoopBackToSelf: return "LoopBackToSelf";
    case FailureKind::NoMailExchanger: return "NoMailExchanger";
    case FailureKind::BadSmartHost: return "BadSmartHost";
    case FailureKind::NoRoute: return "NoRoute";
    case FailureKind::ForwardLoop: return "ForwardLoop";
    case FailureKind::DomainIsServerFqdn: return "DomainIsServerFqdn";
    case FailureKind::TooManyRecipients: return "TooManyRecipients";
    case FailureKind::RelayDenied: return "RelayDenied";
    case FailureKind::SenderRestricted: return "SenderRestricted";
    case FailureKind::ContentRestricted: return "ContentRestricted";
    case FailureKind::HostNotResponding: return "HostNotResponding";
    case FailureKind::ConnectionDropped: return "ConnectionDropped";
    case FailureKind::DirectoryUnavailable: return "DirectoryUnavailable";
    case FailureKind::DnsTemporaryFailure: return "DnsTemporaryFailure";
    case FailureKind::NoRouteAvailableNow: return "NoRouteAvailableNow";
    case FailureKind::HopCountExceeded: return "HopCountExceeded";
    case FailureKind::ExpiredInQueue: return "ExpiredInQueue";
    case FailureKind::QueueFrozen: return "QueueFrozen";
    case FailureKind::TlsNotAvailable: return "TlsNotAvailable";
  }
  return "Unknown";
}

}  // namespace gw
