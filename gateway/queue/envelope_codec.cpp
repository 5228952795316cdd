#include "gateway/queue/envelope_codec.h"

#include <array>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "gateway/common/utf8.h"
#include "gateway/queue/spool_error.h"

namespace gw::queue {
namespace {

constexpr std::string_view kMagic = "GWQE";

// Byte-at-a-time table for the reflected Castagnoli polynomial 0x1EDC6F41.
constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}
constexpr auto kCrc32cTable = make_crc32c_table();

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xFFu));
}

std::uint32_t get_u32(std::string_view in, std::size_t offset) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(in[offset + static_cast<std::size_t>(i)]);
  return value;
}

std::unexpected<Error> corrupt(std::string reason) {
  return make_error(make_error_code(SpoolErrc::Corrupt), "envelope: " + std::move(reason));
}

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

bool is_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Every octet that does not begin a well-formed sequence becomes '?'.
std::string to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = static_cast<unsigned char>(text[i]) < 0x80 ? 1 : utf8_sequence(text, i);
    if (n == 0) {
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

// Walks every string field of `message` and its sub-messages. With `repair`
// null it only answers whether all are UTF-8; otherwise it rewrites the ones
// that are not (into *repair, which is `message` itself) and answers false.
bool strings_are_utf8(const Message& message, Message* repair) {
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  bool all = true;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
      for (int k = 0; k < count; ++k) {
        std::string scratch;
        const std::string& value = field->is_repeated()
                                       ? reflection->GetRepeatedStringReference(message, field, k, &scratch)
                                       : reflection->GetStringReference(message, field, &scratch);
        if (is_utf8(value)) continue;
        if (repair == nullptr) return false;
        all = false;
        std::string fixed = to_utf8(value);
        if (field->is_repeated())
          reflection->SetRepeatedString(repair, field, k, std::move(fixed));
        else
          reflection->SetString(repair, field, std::move(fixed));
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int k = 0, n = reflection->FieldSize(message, field); k < n; ++k) {
          Message* inner = repair != nullptr ? reflection->MutableRepeatedMessage(repair, field, k) : nullptr;
          if (!strings_are_utf8(reflection->GetRepeatedMessage(message, field, k), inner)) {
            if (repair == nullptr) return false;
            all = false;
          }
        }
      } else if (reflection->HasField(message, field)) {
        Message* inner = repair != nullptr ? reflection->MutableMessage(repair, field) : nullptr;
        if (!strings_are_utf8(reflection->GetMessage(message, field), inner)) {
          if (repair == nullptr) return false;
          all = false;
        }
      }
    }
  }
  return all;
}

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) noexcept {
  crc = ~crc;
  for (char c : data) crc = kCrc32cTable[(crc ^ static_cast<unsigned char>(c)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::string encode_envelope(const envelope::Envelope& envelope) {
  std::string payload;
  if (strings_are_utf8(envelope, nullptr)) {
    envelope.SerializeToString(&payload);
  } else {
    envelope::Envelope repaired = envelope;
    strings_are_utf8(repaired, &repaired);
    repaired.SerializeToString(&payload);
  }
  std::string frame;
  frame.reserve(kEnvelopeHeaderSize + payload.size());
  frame.append(kMagic);
  put_u32(frame, kEnvelopeFrameVersion);
  put_u32(frame, static_cast<std::uint32_t>(payload.size()));
  // The checksum covers version and length too, so a flipped length is caught
  // even when the remaining bytes happen to parse.
  const std::uint32_t crc = crc32c(payload, crc32c(std::string_view(frame).substr(4, 8)));
  put_u32(frame, crc);
  frame.append(payload);
  return frame;
}

Result<envelope::Envelope> decode_envelope(std::string_view frame) {
  if (frame.size() < kEnvelopeHeaderSize) return corrupt("truncated header");
  if (frame.substr(0, 4) != kMagic) return corrupt("bad magic");
  const std::uint32_t version = get_u32(frame, 4);
  if (version != kEnvelopeFrameVersion) return corrupt("unsupported version " + std::to_string(version));
  const std::uint32_t length = get_u32(frame, 8);
  if (length > kMaxEnvelopePayload) return corrupt("length " + std::to_string(length) + " over limit");
  const std::string_view payload = frame.substr(kEnvelopeHeaderSize);
  if (payload.size() < length) return corrupt("truncated payload");
  if (payload.size() > length) return corrupt("trailing octets after payload");
  const std::uint32_t want = get_u32(frame, 12);
  const std::uint32_t got = crc32c(payload, crc32c(frame.substr(4, 8)));
  if (got != want) return corrupt("crc mismatch");
  envelope::Envelope envelope;
  if (!envelope.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return corrupt("payload is not an Envelope");
  }
  return envelope;
}

}  // namespace gw::queue
