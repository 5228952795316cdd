// EnvelopeCodec: the on-disk framing of a queued message's envelope.
//
// A frame is a 16-octet header followed by the serialized gw.envelope.Envelope:
//   offset 0  magic   "GWQE"
//   offset 4  version u32 little-endian (kEnvelopeFrameVersion)
//   offset 8  length  u32 little-endian, octets of payload that follow
//   offset 12 crc     u32 little-endian, CRC32C (Castagnoli) of octets 4..11 and the payload
// decode_envelope() accepts a buffer only when all four agree and the buffer ends
// exactly where the payload does, so a torn or truncated file is reported as
// SpoolErrc::Corrupt and never parsed as a shorter valid protobuf. Pure functions:
// no files, no logging.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "proto/envelope.pb.h"

namespace gw::queue {

inline constexpr std::uint32_t kEnvelopeFrameVersion = 1;
inline constexpr std::size_t kEnvelopeHeaderSize = 16;
// Larger frames are refused as corrupt: a real envelope with the maximum
// number of recipients is a few megabytes at most.
inline constexpr std::uint32_t kMaxEnvelopePayload = 64u << 20;

// CRC32C (Castagnoli polynomial, reflected, as in iSCSI / RFC 3720 B.4).
// `crc` is the value returned for the preceding data, so a checksum can be
// computed over several pieces: crc32c(b, crc32c(a)) == crc32c(a + b).
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) noexcept;

// proto3 refuses to parse a string field that is not UTF-8, so an envelope
// carrying one (a next hop's Latin-1 reply text in a diagnostic, say) would
// be written but never read back, and its message would be lost. Such fields
// are written with every octet outside a well-formed UTF-8 sequence replaced
// by '?': the frame encode_envelope() returns always decodes.
std::string encode_envelope(const envelope::Envelope& envelope);

// SpoolErrc::Corrupt with the reason in the detail ("envelope: bad magic",
// "envelope: truncated", "envelope: crc mismatch", ...).
Result<envelope::Envelope> decode_envelope(std::string_view frame);

}  // namespace gw::queue
