#include "gateway/qmgr/reports.h"

#include <span>
#include <string>

#include "gateway/dsn/dsn_builder.h"
#include "gateway/events/bus.h"
#include "gateway/qmgr/spooled_body.h"

namespace gw::qmgr {
namespace {

// A header section longer than this is returned cut short in a report.
constexpr std::size_t kMaxReturnedHeader = 1024 * 1024;

}  // namespace

ReportWriter::ReportWriter(queue::Spool& spool, queue::NamedQueues& index, const Clock& clock, DeliveryStats& stats,
                           ReportOptions options)
    : spool_(spool), index_(index), clock_(clock), stats_(stats), options_(std::move(options)) {}

asio::awaitable<Result<void>> ReportWriter::queue_report(const log::Context& ctx, const QueueId& id,
                                                         const envelope::Envelope& env,
                                                         const dsn::PlannedReport& planned, const Settings& settings,
                                                         const metabase::VirtualServer* vs,
                                                         const queue::RetrySchedule& schedule) {
  const std::int64_t now = clock_.unix_now();
  const std::string fqdn = settings.fqdn(vs);
  const std::uint64_t sequence = ++sequence_;
  dsn::ReportSettings report_settings;
  report_settings.reporting_mta = fqdn;
  report_settings.now_unix = now;
  report_settings.message_id = "<" + env.queue_id() + "." + std::to_string(sequence) + ".report@" + fqdn + ">";
  report_settings.boundary = dsn::make_boundary(env.queue_id(), now, sequence);
  report_settings.retry_until_unix = env.arrival_unix() + schedule.expiration.count();
  report_settings.max_full_return_size = options_.max_full_return_size;
  const auto content = dsn::report_from_envelope(env, planned, report_settings);

  auto stream = dsn::ReportStream::start(content);
  if (!stream) co_return std::unexpected(stream.error());

  envelope::Envelope report;
  report.set_virtual_server_id(env.virtual_server_id());
  report.set_received_by(fqdn);
  report.set_message_id(report_settings.message_id);
  for (const auto& address : planned.send_to) {
    auto* recipient = report.add_recipients();
    recipient->set_address(address);
    recipient->mutable_notify()->set_never(true);
  }
  auto writer = co_await spool_.begin(std::move(report));
  if (!writer) co_return std::unexpected(writer.error());
  std::uint64_t size = stream->head().size();
  if (auto written = co_await writer->write(stream->head()); !written) co_return std::unexpected(written.error());
  // The original streams from its spool file into the report's, a chunk at a
  // time on the spool's pool; only what is returned is read (the header
  // section, cut at kMaxReturnedHeader, when RET=HDRS or the message is too big).
  auto original = co_await SpooledBody::open(spool_, id);
  if (!original) co_return std::unexpected(original.error());
  const bool header_only = content.ret == dsn::ReturnContent::Headers;
  std::string chunk(64 * 1024, '\0');
  const std::span<char> into(chunk.data(), chunk.size());
  std::string out;
  std::uint64_t read = 0;
  while (!stream->original_done() && !(header_only && read >= kMaxReturnedHeader)) {
    auto n = co_await (*original)->read(into);
    if (!n) co_return std::unexpected(n.error());
    if (*n == 0) break;
    read += *n;
    out.clear();
    stream->put_original(std::string_view(chunk.data(), *n), out);
    size += out.size();
    if (auto written = co_await writer->write(out); !written) co_return std::unexpected(written.error());
  }
  out = stream->finish();
  size += out.size();
  if (auto written = co_await writer->write(out); !written) co_return std::unexpected(written.error());
  auto committed = co_await spool_.commit(std::move(*writer));
  if (!committed) co_return std::unexpected(committed.error());
  ++stats_.reports;
  const char* type = planned.type == dsn::ReportType::Failure ? "failure"
                     : planned.type == dsn::ReportType::Delay ? "delay"
                                                               : "success";
  log::debug(ctx, "{} report queued as {}", type, committed->str());
  {
    events::DsnQueued queued{{{}, id.str(), env.message_id(), env.sender(), ""}, type, committed->str(), {}};
    for (int index : planned.recipients)
      if (index >= 0 && index < env.recipients_size()) queued.recipients.push_back(env.recipients(index).address());
    events::emit(std::move(queued));
    events::Received received;
    received.subject = {{}, committed->str(), report_settings.message_id, std::string(), ""};
    received.recipients = planned.send_to;
    received.size = size;
    received.virtual_server = env.virtual_server_id();
    received.origin = "report";
    received.related_id = id.str();
    events::emit(std::move(received));
  }
  index_.upsert(queue::QueuedMessage{*committed, envelope::AWAITING_DIRECTORY_LOOKUP, {}, "", planned.send_to.size(),
                                     size, now, false});
  if (options_.on_queued) options_.on_queued(*committed);
  co_return Result<void>{};
}

}  // namespace gw::qmgr
