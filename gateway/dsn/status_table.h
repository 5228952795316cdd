// The status table: every FailureKind mapped to one SMTP reply code, one RFC 3463
// enhanced status code and one line of text.
//
// This is the single place where the wording and codes of NDRs and of SMTP
// rejections caused by categorization, routing and delivery are decided, so the
// categorizer, router, delivery client and DSN builder all agree (the role of
// Postfix's cleanup_stat_detail()). Pure data: no I/O, no allocation. It does not
// decide whether a transient failure has become final; the queue does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gateway/common/enhanced_status.h"
#include "gateway/common/failure_kind.h"

namespace gw::dsn {

struct StatusRow {
  FailureKind kind;
  std::uint16_t reply_code;  // 550, 451 ...
  EnhancedStatus status;     // class always agrees with the reply code's first digit
  std::string_view text;     // human-readable, ASCII, no trailing period
};

// The row for `kind`. Total: every enumerator has exactly one row.
const StatusRow& status_of(FailureKind kind) noexcept;

// All rows, in enum order.
std::span<const StatusRow> status_rows() noexcept;

// "550 5.1.1 Recipient address rejected: user unknown" (no CRLF).
std::string reply_line(FailureKind kind);

}  // namespace gw::dsn
