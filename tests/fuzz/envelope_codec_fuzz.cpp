// libFuzzer target: the spool's envelope framing (gateway/queue/envelope_codec.h).
// The first octet picks the input's form: raw (the bytes are a whole frame, as
// a torn or tampered file would be) or payload (the bytes are wrapped in a frame
// with a correct header and CRC, so the protobuf parser sees them). Checks that
// decoding never crashes, that a decoded envelope encodes to a frame that
// decodes to the same envelope, and that a frame cut short by one octet or with
// one flipped bit is refused. And whatever octets the string fields of an
// envelope hold (a next hop's reply text, a client's HELO), the frame
// encode_envelope() writes decodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/queue/envelope_codec.h"

namespace {

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string frame_around(std::string_view payload) {
  std::string fields;
  put_u32(fields, gw::queue::kEnvelopeFrameVersion);
  put_u32(fields, static_cast<std::uint32_t>(payload.size()));
  const std::uint32_t crc = gw::queue::crc32c(payload, gw::queue::crc32c(fields));
  std::string frame = "GWQE" + fields;
  put_u32(frame, crc);
  frame.append(payload);
  return frame;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  gw::envelope::Envelope built;
  const std::size_t third = bytes.size() / 3;
  built.set_helo(std::string(bytes.substr(0, third)));
  auto* recipient = built.add_recipients();
  recipient->set_diagnostic(std::string(bytes.substr(third, third)));
  recipient->mutable_resolution()->set_object_dn(std::string(bytes.substr(2 * third)));
  built.add_sender_group_dns(std::string(bytes));
  if (!gw::queue::decode_envelope(gw::queue::encode_envelope(built))) std::abort();

  const std::string frame = (data[0] & 1) ? frame_around(bytes) : std::string(bytes);
  const auto decoded = gw::queue::decode_envelope(frame);
  if (!decoded) return 0;

  const std::string again = gw::queue::encode_envelope(*decoded);
  const auto redecoded = gw::queue::decode_envelope(again);
  if (!redecoded || redecoded->SerializeAsString() != decoded->SerializeAsString()) std::abort();

  // A torn write or a flipped bit is never taken for a valid envelope.
  if (gw::queue::decode_envelope(std::string_view(again).substr(0, again.size() - 1))) std::abort();
  std::string flipped = again;
  const std::size_t at = (data[0] >> 1) % flipped.size();
  flipped[at] = static_cast<char>(flipped[at] ^ (1 << (data[0] >> 5)));
  if (gw::queue::decode_envelope(flipped)) std::abort();
  return 0;
}
