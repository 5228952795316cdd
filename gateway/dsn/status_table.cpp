#include "gateway/dsn/status_table.h"

#include <array>

namespace gw::dsn {
namespace {

constexpr EnhancedStatus es(std::uint8_t klass, std::uint16_t subject, std::uint16_t detail) {
  return EnhancedStatus{klass, subject, detail};
}

// Indexed by the enum's value; status_rows_are_in_enum_order() keeps it honest.
constexpr std::array kRows = {
    StatusRow{FailureKind::UnknownRecipient, 550, es(5, 1, 1), "Recipient address rejected: user unknown"},
    StatusRow{FailureKind::CategorizerFailure, 550, es(5, 1, 0),
              "Recipient could not be resolved in the directory"},
    StatusRow{FailureKind::BadAddressSyntax, 553, es(5, 1, 3), "Bad recipient address syntax"},
    StatusRow{FailureKind::AmbiguousRecipient, 550, es(5, 1, 4),
              "Ambiguous recipient: more than one directory object has this address"},
    StatusRow{FailureKind::InvalidHomeServer, 550, es(5, 1, 6),
              "Recipient mailbox has no valid home store or server"},
    StatusRow{FailureKind::BadSenderAddress, 553, es(5, 1, 7), "Sender address is missing or malformed"},
    StatusRow{FailureKind::MessageTooLargeForRecipient, 552, es(5, 2, 3),
              "Message exceeds the size limit of the recipient"},
    StatusRow{FailureKind::MessageTooLargeForConnector, 552, es(5, 2, 3),
              "Message exceeds the size limit of the connector"},
    // RFC 3463 X.2.4 "mailing list expansion problem": the group exists but expanding it would
    // exceed the nesting depth or member count the categorizer allows.
    StatusRow{FailureKind::GroupExpansionLimit, 550, es(5, 2, 4),
              "Distribution group could not be expanded: expansion limit exceeded"},
    // X.2.4 too: the group exists, but no member can receive the message (none, none with mail
    // attributes, or every one failed), so the sender learns the list reached nobody.
    StatusRow{FailureKind::GroupWithoutRecipients, 550, es(5, 2, 4),
              "Distribution group has no member that can receive mail"},
    StatusRow{FailureKind::LoopBackToSelf, 554, es(5, 3, 5), "Mail for this destination loops back to myself"},
    StatusRow{FailureKind::NoMailExchanger, 554, es(5, 4, 0), "No mail exchanger or address found for the domain"},
    StatusRow{FailureKind::BadSmartHost, 554, es(5, 4, 0), "Smart host is invalid or cannot be resolved"},
    StatusRow{FailureKind::NoRoute, 554, es(5, 4, 4), "No route to the destination: no connector matches"},
    StatusRow{FailureKind::ForwardLoop, 554, es(5, 4, 6),
              "Forwarding loop: alternate recipient or contact chain refers back to itself"},
    StatusRow{FailureKind::DomainIsServerFqdn, 554, es(5, 4, 8),
              "Recipient domain is the name of a server in this organization"},
    StatusRow{FailureKind::TooManyRecipients, 550, es(5, 5, 3), "Too many recipients"},
    StatusRow{FailureKind::RelayDenied, 550, es(5, 7, 1), "Relay access denied"},
    StatusRow{FailureKind::SenderRestricted, 550, es(5, 7, 1),
              "Sender is not permitted to send to this destination"},
    StatusRow{FailureKind::ContentRestricted, 550, es(5, 7, 1),
              "Message type or priority is not permitted on the route to this destination"},
    StatusRow{FailureKind::HostNotResponding, 451, es(4, 4, 1), "Remote host is not responding"},
    StatusRow{FailureKind::ConnectionDropped, 451, es(4, 4, 2), "Connection to the remote host was dropped"},
    StatusRow{FailureKind::DirectoryUnavailable, 451, es(4, 4, 3),
              "Directory is unavailable, try again later"},
    StatusRow{FailureKind::DnsTemporaryFailure, 451, es(4, 4, 3), "Temporary DNS failure, try again later"},
    StatusRow{FailureKind::NoRouteAvailableNow, 451, es(4, 4, 4),
              "Every route to the destination is currently unavailable"},
    // Exchange reports hop count exhaustion as 4.4.6 even in the NDR;
    // the reply code follows the class so a 4xx/5xx mismatch never goes on the wire.
    StatusRow{FailureKind::HopCountExceeded, 451, es(4, 4, 6), "Hop count exceeded: possible mail loop"},
    StatusRow{FailureKind::ExpiredInQueue, 451, es(4, 4, 7),
              "Message expired in the queue before it could be delivered"},
    StatusRow{FailureKind::QueueFrozen, 451, es(4, 3, 2), "Queue is frozen by the administrator"},
    StatusRow{FailureKind::TlsNotAvailable, 451, es(4, 7, 4),
              "TLS is required but the remote host did not offer or complete it"},
};

}  // namespace

const StatusRow& status_of(FailureKind kind) noexcept {
  return kRows[static_cast<std::size_t>(kind)];
}

std::span<const StatusRow> status_rows() noexcept { return kRows; }

std::string reply_line(FailureKind kind) {
  const StatusRow& row = status_of(kind);
  std::string line = std::to_string(row.reply_code);
  line += ' ';
  line += row.status.str();
  line += ' ';
  line += row.text;
  return line;
}

}  // namespace gw::dsn
