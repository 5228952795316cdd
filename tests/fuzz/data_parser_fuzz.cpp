// libFuzzer target: DataParser in DATA mode. Differential: the content fed whole
// and in small pieces must produce the same output, summary and end position;
// the output never exceeds the input, and the end of data is only ever found
// right after "\r\n.\r\n" (or ".\r\n" at the very start).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/smtp/data_parser.h"

namespace {

struct Outcome {
  std::string output;
  std::size_t consumed = 0;
  bool done = false;
  gw::smtp::BodySummary summary;
  bool operator==(const Outcome&) const = default;
};

Outcome run(std::string_view input, std::size_t piece, gw::smtp::BodyLimits limits) {
  gw::smtp::DataParser parser(limits);
  parser.begin_data();
  Outcome outcome;
  while (outcome.consumed < input.size() && !parser.done()) {
    const std::string_view chunk = input.substr(outcome.consumed, piece);
    const std::size_t used = parser.put(chunk, outcome.output);
    if (used > chunk.size() || (used < chunk.size() && !parser.done())) std::abort();
    outcome.consumed += used;
  }
  outcome.done = parser.done();
  outcome.summary = parser.summary();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  gw::smtp::BodyLimits limits;
  limits.max_message_size = data[0] % 4 == 0 ? 0 : data[0] * 4;
  const std::size_t piece = 1 + data[1] % 13;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  const Outcome whole = run(input, input.size() + 1, limits);
  if (!(whole == run(input, piece, limits))) std::abort();
  if (whole.output.size() > whole.consumed) std::abort();
  if (whole.done) {
    const std::string_view seen = input.substr(0, whole.consumed);
    if (!(seen == ".\r\n" || seen.ends_with("\r\n.\r\n"))) std::abort();
  }
  return 0;
}
