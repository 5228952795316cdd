// The defaults and unit conversions metabase-sync applies, in one place.
//
// Values are the Exchange 2000 defaults of a freshly created SMTP virtual server
// (KB 321757) and of the organization's Message Delivery settings; they apply
// when the attribute is absent. Directory units are converted here and nowhere
// else: sizes are KB in the directory and bytes in the metabase, queue timers are
// minutes in the directory and seconds in the metabase. This header holds no
// logic beyond those conversions.
#pragma once

#include <cstdint>

namespace msync::defaults {

// Virtual server limits.
inline constexpr std::uint64_t kMaxMessageSizeKb = 0;        // msExchSmtpMaxMessageSize; 0 = unlimited
inline constexpr std::uint64_t kMaxSessionSizeKb = 0;        // msExchSmtpMaxSessionSize; 0 = unlimited
inline constexpr std::uint32_t kMaxRecipientsPerMessage = 64000;   // msExchSmtpMaxRecipients
inline constexpr std::uint32_t kMaxIncomingConnections = 2000000000;  // msExchMaxIncomingConnections
inline constexpr std::uint32_t kIncomingConnectionTimeoutSeconds = 600;  // msExchIncomingConnectionTimeout
inline constexpr std::uint32_t kMaxHopCount = 15;             // msExchSmtpMaxHopCount
inline constexpr std::uint32_t kAuthenticationFlags = 7;      // anonymous | basic | integrated
inline constexpr bool kRelayForAuthenticated = true;          // msExchSmtpRelayForAuth
inline constexpr bool kServerAutoStart = true;                // msExchServerAutoStart

// Outbound (queue) settings.
inline constexpr std::uint32_t kOutgoingPort = 25;            // msExchSmtpOutgoingPort
inline constexpr std::uint32_t kRetryMinutes[4] = {10, 10, 10, 15};  // msExchSmtpRemoteQueueRetries
inline constexpr std::uint32_t kDelayNotificationMinutes = 720;      // 12 hours
inline constexpr std::uint32_t kExpirationTimeoutMinutes = 2880;     // 2 days
inline constexpr std::uint32_t kMaxOutgoingConnections = 1000;       // msExchSmtpMaxOutgoingConnections
inline constexpr std::uint32_t kMaxOutgoingConnectionsPerDomain = 100;
inline constexpr std::uint32_t kOutgoingConnectionTimeoutSeconds = 600;
inline constexpr std::uint32_t kMaxOutboundMessagesPerConnection = 20;  // when its flag is TRUE

// Organization-wide Message Delivery defaults.
inline constexpr std::uint32_t kRecipientLimit = 5000;        // msExchRecipLimit
inline constexpr std::uint64_t kSendSizeKb = 0;               // submissionContLength; 0 = unlimited
inline constexpr std::uint64_t kReceiveSizeKb = 0;            // delivContLength; 0 = unlimited

// Mailbox delivery endpoints (gwDeliveryEndpoint absent).
inline constexpr std::uint32_t kSmtpDeliveryPort = 25;
inline constexpr std::uint32_t kLmtpDeliveryPort = 24;

// Directory endpoints for the categorizer.
inline constexpr std::uint32_t kSearchTimeoutMs = 5000;

// Unit conversions.
inline constexpr std::uint64_t kb_to_bytes(std::uint64_t kb) { return kb * 1024; }
inline constexpr std::uint32_t minutes_to_seconds(std::uint32_t minutes) { return minutes * 60; }

}  // namespace msync::defaults
