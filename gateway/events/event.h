// gw::events: the typed events every stage of the gateway emits -- the one
// spine of observability. A session opening, a message received, a recipient
// rejected at RCPT time, categorized, routed, a delivery attempt and its reply,
// a deferral, a report queued, an expiry, an administrator's action, a move to
// Badmail: each is one struct here, emitted once to the process's Bus
// (bus.h). The application log, the message-tracking log and the metrics are
// sinks of that bus; no component keeps counters or writes tracking lines
// beside it.
//
// Pure values: no I/O, no clock reads (the emitter stamps `time`). Addresses
// and texts are kept as they arrived (UTF-8 where the peer used it); each sink
// escapes them for its own format.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gw::events {

using Time = std::chrono::system_clock::time_point;

// Who and what an event is about; empty fields are unknown or do not apply.
struct Subject {
  Time time{};
  std::string queue_id;     // 24 hex digits
  std::string message_id;   // the Message-ID header field, with its angle brackets
  // Reverse-path without brackets: "" = the null sender; nullopt = not known here.
  std::optional<std::string> sender;
  std::string recipient;    // one forward-path; empty for message-wide events
};

// An SMTP session began (after the connection gate let it in).
struct SessionOpened {
  Subject subject;
  std::uint64_t session = 0;
  std::string peer;             // "ip:port"
  std::string virtual_server;   // the metabase's virtual server id
  std::string local;            // "ip:port" it connected to
};

// An SMTP session ended.
struct SessionClosed {
  Subject subject;
  std::uint64_t session = 0;
  std::string peer;
  std::string virtual_server;
  std::uint64_t messages = 0;   // messages accepted in it
  std::string reason;           // "quit", "timeout", "closed", "stopping" ...
};

// The connection gate refused a client before its greeting.
struct ConnectionRefused {
  Subject subject;
  std::string peer;
  std::string virtual_server;
  unsigned reply_code = 0;
  std::string status;           // enhanced status "4.7.0"
  std::string reason;
};

// TLS was established on a session (STARTTLS or implicit).
struct TlsEstablished {
  Subject subject;
  std::uint64_t session = 0;
  std::string peer;
  std::string virtual_server;
  std::string protocol;         // "TLSv1.3"
  std::string cipher;
};

// A recipient (or the whole transaction) refused at RCPT TO.
struct RecipientRejected {
  Subject subject;              // sender and recipient as given
  std::uint64_t session = 0;
  std::string peer;
  std::string virtual_server;
  unsigned reply_code = 0;      // 550, 451 ...
  std::string status;           // "5.1.1"
  std::string reason;           // the reply text
};

// A message was committed to the spool and acknowledged (250). Reports the
// gateway writes itself are Received too, with `origin` = "report".
struct Received {
  Subject subject;
  std::vector<std::string> recipients;
  std::uint64_t size = 0;       // octets
  std::uint64_t session = 0;    // 0 for reports
  std::string peer;
  std::string virtual_server;
  std::string helo;
  std::string auth;             // authenticated identity; empty = anonymous
  std::string tls;              // "TLSv1.3 TLS_AES_256_GCM_SHA384"; empty = none
  std::string origin = "smtp";  // "smtp", "report"
  std::string related_id;       // for a report: the queue id of the message it reports on
};

// The categorizer resolved one recipient of a queued message.
struct Categorized {
  Subject subject;
  std::string resolution;       // "mailbox", "contact", "group", "unknown", "non-authoritative", "failed"
  std::string object;           // DN of the directory object; empty when none
  std::string target;           // mailbox server, contact target address ...
  unsigned reply_code = 0;      // for a failed recipient: its code and status
  std::string status;
  std::string detail;
};

// Categorization could not run (directory unavailable); the message waits.
struct CategorizationDeferred {
  Subject subject;
  unsigned attempt = 0;
  std::chrono::milliseconds retry_in{0};
  std::string reason;
};

// The router chose a next hop for one recipient.
struct Routed {
  Subject subject;
  std::string next_hop;         // the queue's next hop ("partner.example", "mbx1.example.com")
  std::string kind;             // "mailbox-server", "connector", "smart-host", "dns", "fail"
  std::string connector;        // connector name, when a connector was chosen
  std::string address_space;    // the address space that matched
  unsigned cost = 0;
};

// One recipient's result of one delivery transaction.
struct DeliveryAttempt {
  Subject subject;
  std::string next_hop;
  std::string remote;           // host that answered; empty = none reached
  std::string outcome;          // "delivered", "relayed", "deferred", "failed"
  unsigned reply_code = 0;
  std::string status;
  std::string reply;            // the peer's reply line, or the local diagnostic
  std::chrono::milliseconds latency{0};  // the transaction, connect to final reply
  unsigned attempt = 0;         // this recipient's attempts so far, this one included
};

// A recipient waits for a later attempt.
struct Deferred {
  Subject subject;
  std::string next_hop;
  std::string status;
  std::string reason;
  Time next_attempt{};
};

// A delivery status notification was queued as a new message.
struct DsnQueued {
  Subject subject;              // the original message (recipient empty)
  std::string type;             // "failure", "delay", "success"
  std::string report_id;        // queue id of the report
  std::vector<std::string> recipients;  // the recipients it reports on
};

// A recipient expired in the queue (4.4.7).
struct Expired {
  Subject subject;
  std::string last_error;
};

// A message left the spool: every recipient is final.
struct Completed {
  Subject subject;
};

// An administrator acted on a message (gatewayctl, or the control socket).
struct AdminAction {
  Subject subject;
  std::string action;           // "delete", "delete-ndr", "freeze", "thaw", "retry"
  std::string detail;
};

// A message was moved to Badmail.
struct Badmail {
  Subject subject;
  std::string reason;
};

// One LDAP search the categorizer or the RCPT-time check issued.
struct DirectorySearch {
  Subject subject;
  std::string server;           // "ldap://host:port"
  std::string base;
  std::string filter;
  std::string result;           // "ok", "unavailable", "timeout", "error"
  std::uint64_t entries = 0;
  std::chrono::microseconds duration{0};
};

// A look-up answered from the categorizer's cache (hit) or not (miss).
struct DirectoryCacheLookup {
  Subject subject;
  bool hit = false;
};

// A connector whose hosts would not take a session is put in retry until `until`.
struct ConnectorRetry {
  Subject subject;
  std::string connector;
  Time until{};
  std::string reason;
};

using Event = std::variant<SessionOpened, SessionClosed, ConnectionRefused, TlsEstablished, RecipientRejected,
                           Received, Categorized, CategorizationDeferred, Routed, DeliveryAttempt, Deferred,
                           DsnQueued, Expired, Completed, AdminAction, Badmail, DirectorySearch,
                           DirectoryCacheLookup, ConnectorRetry>;

// The event's name in the tracking log, the application log and the metrics
// ("received", "rcpt-rejected", "delivery-attempt" ...).
std::string_view name_of(const Event& event) noexcept;
const Subject& subject_of(const Event& event) noexcept;
Subject& subject_of(Event& event) noexcept;

}  // namespace gw::events
