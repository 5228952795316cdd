#include "gateway/queue/queue_id_generator.h"


namespace gw::queue {
namespace {

void append_hex(std::string& out, std::uint64_t value, std::size_t digits) {
  static constexpr std::string_view kDigits = "0123456789ABCDEF";
  for (std::size_t i = digits; i-- > 0;) out.push_back(kDigits[(value >> (4 * i)) & 0xFu]);
}

std::uint64_t parse_hex(std::string_view text) {
  std::uint64_t value = 0;
  for (char c : text) value = (value << 4) | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'A' + 10);
  return value;
}

}  // namespace

QueueIdGenerator::QueueIdGenerator() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device()};
  random_.seed(seed);
}

QueueId QueueIdGenerator::next() {
  using namespace std::chrono;
  const auto now = static_cast<std::uint64_t>(
      duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
  std::lock_guard lock(mutex_);
  constexpr std::uint32_t kCounterLimit = 1u << (4 * QueueId::kCounterDigits);
  if (now > last_micros_) {
    last_micros_ = now;
    counter_ = 0;
  } else if (++counter_ == kCounterLimit) {
    // Same (or an earlier, after a clock step) microsecond and the counter is
    // used up: borrow the next microsecond so ids keep increasing.
    ++last_micros_;
    counter_ = 0;
  }
  return make(last_micros_, counter_, static_cast<std::uint32_t>(random_()));
}

QueueId QueueIdGenerator::make(std::uint64_t unix_micros, std::uint32_t counter, std::uint32_t random) {
  std::string text;
  text.reserve(QueueId::kLength);
  append_hex(text, unix_micros, QueueId::kTimeDigits);
  append_hex(text, counter, QueueId::kCounterDigits);
  append_hex(text, random, QueueId::kRandomDigits);
  return *QueueId::parse(text);
}

std::chrono::system_clock::time_point QueueIdGenerator::time_of(const QueueId& id) {
  const auto micros = parse_hex(std::string_view(id.str()).substr(0, QueueId::kTimeDigits));
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(micros)));
}

}  // namespace gw::queue
