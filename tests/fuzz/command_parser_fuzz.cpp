// libFuzzer target: CommandParser framing. The input is fed whole and in pieces
// whose sizes come from the first octet; both must give the same commands, and
// put() must never claim more octets than it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/smtp/command.h"

namespace {

std::vector<std::string> run(std::string_view input, std::size_t piece) {
  gw::smtp::CommandParser parser;
  std::vector<std::string> out;
  while (!input.empty()) {
    const std::string_view chunk = input.substr(0, piece);
    const std::size_t used = parser.put(chunk);
    if (used > chunk.size()) std::abort();
    input.remove_prefix(used);
    if (parser.ready()) {
      const gw::smtp::Command command = parser.take();
      out.push_back(std::to_string(static_cast<int>(command.verb)) + "|" + command.line + "|" +
                    (command.error ? command.error->wire() : std::string()));
    } else if (used == 0) {
      std::abort();  // neither progress nor a command
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 17;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (run(input, input.size() + 1) != run(input, piece)) std::abort();
  return 0;
}
