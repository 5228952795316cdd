// libFuzzer target: the DSN builder's input (gateway/dsn). The input is an
// envelope (protobuf, as a hostile client and next hop can shape it: ENVID,
// ORCPT, HELO, remote replies) and the original message; the plan and the
// report are built as the delivery stage builds them, the original streamed in
// pieces. Checks the builder's promises on every report: CRLF line ends only,
// no NUL, no line of the report's own header or status part over 998 octets,
// and only failure reports carry more of the original than its header section.
//   input: u16 little-endian envelope length, envelope octets, original octets
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "gateway/dsn/dsn_builder.h"
#include "gateway/dsn/report_plan.h"

namespace {

class StringSource final : public gw::dsn::BodySource {
 public:
  StringSource(std::string_view text, std::size_t piece) : text_(text), piece_(piece) {}
  gw::Result<std::size_t> read(std::span<char> buffer) override {
    const std::size_t n = std::min({buffer.size(), piece_, text_.size()});
    std::copy_n(text_.data(), n, buffer.data());
    text_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view text_;
  std::size_t piece_;
};

class StringSink final : public gw::dsn::ReportSink {
 public:
  gw::Result<void> write(std::string_view octets) override {
    out.append(octets);
    return {};
  }
  std::string out;
};

void check_lines(std::string_view text, std::size_t max_line) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\0') std::abort();
    if (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) std::abort();
    if (text[i] == '\n') {
      if (i == 0 || text[i - 1] != '\r') std::abort();
      if (max_line != 0 && i - 1 - start > max_line) std::abort();
      start = i + 1;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t envelope_size = std::min<std::size_t>(data[0] | (data[1] << 8), size - 3);
  const std::uint8_t flags = data[2];
  gw::envelope::Envelope envelope;
  if (!envelope.ParseFromArray(data + 3, static_cast<int>(envelope_size))) return 0;
  if (envelope.recipients_size() > 64) return 0;
  const std::string_view original(reinterpret_cast<const char*>(data + 3 + envelope_size),
                                  size - 3 - envelope_size);

  gw::dsn::PlanOptions options;
  options.now_unix = 1'800'000'000;
  options.delay_notification_seconds = (flags & 1) ? 60 : 0;
  options.hold_failures_until_final = (flags & 2) != 0;
  if (flags & 4) options.ndr_copy_to = "postmaster@example.com";
  const gw::dsn::ReportPlan plan = gw::dsn::plan_reports(envelope, options);

  for (const auto& planned : plan.reports) {
    for (const int index : planned.recipients)
      if (index < 0 || index >= envelope.recipients_size()) std::abort();
    gw::dsn::ReportSettings settings;
    settings.reporting_mta = "bh1.example.com";
    settings.now_unix = options.now_unix;
    settings.message_id = "<report@bh1.example.com>";
    settings.boundary = gw::dsn::make_boundary("QUEUEID", options.now_unix);
    settings.retry_until_unix = options.now_unix + 86400;
    settings.max_full_return_size = (flags & 8) ? 64 : 0;
    const gw::dsn::ReportContent content = gw::dsn::report_from_envelope(envelope, planned, settings);
    if (planned.type != gw::dsn::ReportType::Failure && content.ret != gw::dsn::ReturnContent::Headers)
      std::abort();  // success and delay reports never reflect the message

    StringSource source(original, 1 + (flags >> 4) * 97);
    StringSink sink;
    if (!gw::dsn::write_report(content, source, sink)) continue;
    check_lines(sink.out, 0);
    auto stream = gw::dsn::ReportStream::start(content);
    if (!stream) continue;
    check_lines(stream->head(), 998);
    if (content.ret == gw::dsn::ReturnContent::Headers) {
      // Nothing of the original beyond its header section (plus repaired line ends).
      const std::size_t header_end = original.find("\r\n\r\n");
      const std::size_t header_size = header_end == std::string_view::npos ? original.size() : header_end + 4;
      if (sink.out.size() > stream->head().size() + stream->finish().size() + 2 * header_size + 4) std::abort();
    }
  }
  return 0;
}
