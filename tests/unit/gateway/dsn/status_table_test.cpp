#include "gateway/dsn/status_table.h"

#include <gtest/gtest.h>

#include <set>

namespace gw::dsn {
namespace {

TEST(StatusTable, EveryKindHasItsOwnRowInEnumOrder) {
  const auto rows = status_rows();
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(FailureKind::TlsNotAvailable) + 1);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(rows[i].kind), i) << failure_kind_name(rows[i].kind);
    EXPECT_EQ(&status_of(rows[i].kind), &rows[i]);
  }
}

TEST(StatusTable, ReplyCodeClassAgreesWithEnhancedStatusClass) {
  for (const auto& row : status_rows())
    EXPECT_EQ(row.reply_code / 100, row.status.klass) << failure_kind_name(row.kind);
}

TEST(StatusTable, TextIsPrintableAsciiWithoutTrailingPeriod) {
  for (const auto& row : status_rows()) {
    ASSERT_FALSE(row.text.empty());
    EXPECT_NE(row.text.back(), '.') << row.text;
    for (char c : row.text) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << row.text;
  }
}

struct Expected {
  FailureKind kind;
  int reply;
  const char* status;
};

// The gateway's NDR codes (gateway/dsn/README.md), one by one.
TEST(StatusTable, DesignNdrCodes) {
  const Expected cases[] = {
      {FailureKind::UnknownRecipient, 550, "5.1.1"},
      {FailureKind::CategorizerFailure, 550, "5.1.0"},
      {FailureKind::BadAddressSyntax, 553, "5.1.3"},
      {FailureKind::AmbiguousRecipient, 550, "5.1.4"},
      {FailureKind::InvalidHomeServer, 550, "5.1.6"},
      {FailureKind::BadSenderAddress, 553, "5.1.7"},
      {FailureKind::MessageTooLargeForRecipient, 552, "5.2.3"},
      {FailureKind::MessageTooLargeForConnector, 552, "5.2.3"},
      {FailureKind::GroupExpansionLimit, 550, "5.2.4"},
      {FailureKind::GroupWithoutRecipients, 550, "5.2.4"},
      {FailureKind::LoopBackToSelf, 554, "5.3.5"},
      {FailureKind::NoMailExchanger, 554, "5.4.0"},
      {FailureKind::BadSmartHost, 554, "5.4.0"},
      {FailureKind::NoRoute, 554, "5.4.4"},
      {FailureKind::ForwardLoop, 554, "5.4.6"},
      {FailureKind::DomainIsServerFqdn, 554, "5.4.8"},
      {FailureKind::TooManyRecipients, 550, "5.5.3"},
      {FailureKind::RelayDenied, 550, "5.7.1"},
      {FailureKind::SenderRestricted, 550, "5.7.1"},
      {FailureKind::ContentRestricted, 550, "5.7.1"},
      {FailureKind::HostNotResponding, 451, "4.4.1"},
      {FailureKind::ConnectionDropped, 451, "4.4.2"},
      {FailureKind::DirectoryUnavailable, 451, "4.4.3"},
      {FailureKind::HopCountExceeded, 451, "4.4.6"},
      {FailureKind::ExpiredInQueue, 451, "4.4.7"},
      {FailureKind::QueueFrozen, 451, "4.3.2"},
  };
  for (const auto& want : cases) {
    const auto& got = status_of(want.kind);
    EXPECT_EQ(got.reply_code, want.reply) << failure_kind_name(want.kind);
    EXPECT_EQ(got.status.str(), want.status) << failure_kind_name(want.kind);
  }
}

TEST(StatusTable, DirectoryOutageIsTransientNeverABounce) {
  EXPECT_TRUE(status_of(FailureKind::DirectoryUnavailable).status.transient());
  EXPECT_EQ(reply_line(FailureKind::DirectoryUnavailable), "451 4.4.3 Directory is unavailable, try again later");
}

TEST(StatusTable, ReplyLineIsCodeStatusAndText) {
  EXPECT_EQ(reply_line(FailureKind::UnknownRecipient), "550 5.1.1 Recipient address rejected: user unknown");
}

TEST(StatusTable, KindNamesAreUnique) {
  std::set<std::string_view> names;
  for (const auto& row : status_rows()) EXPECT_TRUE(names.insert(failure_kind_name(row.kind)).second);
}

}  // namespace
}  // namespace gw::dsn
