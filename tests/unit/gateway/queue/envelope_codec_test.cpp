#include "gateway/queue/envelope_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/queue/spool_error.h"

namespace gw::queue {
namespace {

// Known answers from RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check value.
TEST(Crc32c, MatchesRfc3720VectorOf32Zeros) { EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu); }

TEST(Crc32c, MatchesRfc3720VectorOf32Ones) { EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u); }

TEST(Crc32c, MatchesRfc3720IncrementingVector) {
  std::string data;
  for (int i = 0; i < 32; ++i) data.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(data), 0x46DD794Eu);
}

TEST(Crc32c, MatchesRfc3720DecrementingVector) {
  std::string data;
  for (int i = 31; i >= 0; --i) data.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(data), 0x113FDB5Cu);
}

TEST(Crc32c, MatchesCheckValueOf123456789) { EXPECT_EQ(crc32c("123456789"), 0xE3069283u); }

TEST(Crc32c, OfEmptyInputIsZero) { EXPECT_EQ(crc32c(""), 0u); }

TEST(Crc32c, CanBeComputedInPieces) {
  const std::string data = "The quick brown fox jumps over the lazy dog";
  for (std::size_t split = 0; split <= data.size(); ++split) {
    EXPECT_EQ(crc32c(std::string_view(data).substr(split), crc32c(std::string_view(data).substr(0, split))),
              crc32c(data))
        << "split at " << split;
  }
}

envelope::Envelope sample() {
  envelope::Envelope envelope;
  envelope.set_format_version(1);
  envelope.set_queue_id("0005F1A2B3C4D500000A1B2C");
  envelope.set_sender("alice@example.com");
  for (const char* address : {"bob@example.com", "carol@example.net", "dave@shared.example.org"}) {
    auto* rcpt = envelope.add_recipients();
    rcpt->set_address(address);
    rcpt->set_orcpt(std::string("rfc822;") + address);
    rcpt->mutable_notify()->set_failure(true);
  }
  envelope.set_body_size(12345);
  envelope.set_queue(envelope::AWAITING_DIRECTORY_LOOKUP);
  return envelope;
}

Error decode_error(std::string_view frame) {
  auto decoded = decode_envelope(frame);
  EXPECT_FALSE(decoded.has_value());
  return decoded ? Error{} : decoded.error();
}

TEST(EnvelopeCodec, RoundTripsAnEnvelope) {
  const auto original = sample();
  auto decoded = decode_envelope(encode_envelope(original));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
  EXPECT_EQ(decoded->SerializeAsString(), original.SerializeAsString());
}

TEST(EnvelopeCodec, RoundTripsAnEmptyEnvelope) {
  auto decoded = decode_envelope(encode_envelope(envelope::Envelope{}));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->recipients_size(), 0);
}

// A next hop answering in Latin-1, an 8-bit HELO name, a directory value: a
// string field that is not UTF-8 must not make the envelope unreadable.
TEST(EnvelopeCodec, TextThatIsNotUtf8IsWrittenWithQuestionMarksAndDecodes) {
  auto original = sample();
  original.mutable_recipients(1)->set_diagnostic("550 5.1.1 Empf\xe4nger unbekannt");
  original.mutable_recipients(2)->mutable_resolution()->set_object_dn("CN=J\xfcrgen,DC=example,DC=com");
  original.set_helo("h\xc3\xa9\xc3");  // a well-formed sequence, then a cut-off one
  original.add_sender_group_dns("CN=\xff\xfe");
  auto decoded = decode_envelope(encode_envelope(original));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
  EXPECT_EQ(decoded->recipients(1).diagnostic(), "550 5.1.1 Empf?nger unbekannt");
  EXPECT_EQ(decoded->recipients(2).resolution().object_dn(), "CN=J?rgen,DC=example,DC=com");
  EXPECT_EQ(decoded->helo(), "h\xc3\xa9?");
  EXPECT_EQ(decoded->sender_group_dns(0), "CN=??");
  EXPECT_EQ(decoded->recipients(0).address(), "bob@example.com");
  EXPECT_EQ(decoded->recipients_size(), 3);
  EXPECT_EQ(original.recipients(1).diagnostic(), "550 5.1.1 Empf\xe4nger unbekannt");  // the caller's copy is untouched
}

TEST(EnvelopeCodec, Utf8TextIsWrittenUnchanged) {
  auto original = sample();
  original.mutable_recipients(0)->set_diagnostic("550 5.1.1 Empf\xc3\xa4nger unbekannt \xf0\x9f\x93\xa8");
  auto decoded = decode_envelope(encode_envelope(original));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->SerializeAsString(), original.SerializeAsString());
}

TEST(EnvelopeCodec, FrameStartsWithMagicVersionAndLength) {
  const auto original = sample();
  const std::string frame = encode_envelope(original);
  EXPECT_EQ(frame.substr(0, 4), "GWQE");
  EXPECT_EQ(frame.substr(4, 4), std::string("\x01\x00\x00\x00", 4));
  EXPECT_EQ(frame.size(), kEnvelopeHeaderSize + original.ByteSizeLong());
}

TEST(EnvelopeCodec, RejectsTruncationAtEveryLength) {
  const std::string frame = encode_envelope(sample());
  for (std::size_t length = 0; length < frame.size(); ++length) {
    auto decoded = decode_envelope(std::string_view(frame).substr(0, length));
    ASSERT_FALSE(decoded.has_value()) << "accepted a frame cut at " << length << " of " << frame.size();
    EXPECT_EQ(decoded.error().code, SpoolErrc::Corrupt) << "cut at " << length;
  }
}

TEST(EnvelopeCodec, RejectsEverySingleBitFlip) {
  const std::string frame = encode_envelope(sample());
  for (std::size_t offset = 0; offset < frame.size(); ++offset) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = frame;
      damaged[offset] = static_cast<char>(damaged[offset] ^ (1 << bit));
      auto decoded = decode_envelope(damaged);
      ASSERT_FALSE(decoded.has_value()) << "accepted a flip of bit " << bit << " at " << offset;
      EXPECT_EQ(decoded.error().code, SpoolErrc::Corrupt);
    }
  }
}

TEST(EnvelopeCodec, RejectsTrailingOctets) {
  const Error error = decode_error(encode_envelope(sample()) + "x");
  EXPECT_EQ(error.code, SpoolErrc::Corrupt);
  EXPECT_EQ(error.detail, "envelope: trailing octets after payload");
}

TEST(EnvelopeCodec, RejectsBadMagic) {
  std::string frame = encode_envelope(sample());
  frame[0] = 'X';
  EXPECT_EQ(decode_error(frame).detail, "envelope: bad magic");
}

TEST(EnvelopeCodec, RejectsUnknownVersion) {
  std::string frame = encode_envelope(sample());
  frame[4] = 2;
  EXPECT_EQ(decode_error(frame).detail, "envelope: unsupported version 2");
}

TEST(EnvelopeCodec, RejectsLengthOverTheLimitBeforeReadingPayload) {
  std::string frame = encode_envelope(sample());
  frame.replace(8, 4, std::string("\xFF\xFF\xFF\x7F", 4));
  EXPECT_EQ(decode_error(frame).detail, "envelope: length 2147483647 over limit");
}

TEST(EnvelopeCodec, RejectsPayloadThatIsNotAnEnvelopeEvenWithValidChecksum) {
  // Framing is intact but the payload is not protobuf: a tag with wire type 7.
  const std::string payload = "\x0F\x0F\x0F";
  std::string frame = "GWQE";
  frame += std::string("\x01\x00\x00\x00", 4);
  frame += std::string("\x03\x00\x00\x00", 4);
  const std::uint32_t crc = crc32c(payload, crc32c(std::string_view(frame).substr(4, 8)));
  for (int shift = 0; shift < 32; shift += 8) frame.push_back(static_cast<char>((crc >> shift) & 0xFF));
  frame += payload;
  EXPECT_EQ(decode_error(frame).detail, "envelope: payload is not an Envelope");
}

}  // namespace
}  // namespace gw::queue
