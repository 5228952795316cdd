// DataParser: the message content of one transaction, sent with DATA (RFC 5321
// 4.1.1.4, 4.5.2) or as BDAT chunks (RFC 3030), turned into the octets to spool.
//
// Contract: sans-I/O and streaming. put() consumes input and appends the content
// (dot-unstuffed for DATA, verbatim for BDAT) to the caller's `output`; the
// parser itself holds at most a few octets of look-ahead, never the body. For
// DATA, the only end of content is the sequence CRLF "." CRLF (the CRLF before the
// dot belongs to the content; the very first line may be the "." line): "\n.\n",
// "\r.\r", "\r.\n", "\n.\r\n" and every other bare-CR/LF variant are content, not
// an end (SMTP smuggling). For BDAT, exactly the announced number of octets is
// consumed. put() never consumes past the end of DATA or of a chunk: the rest of
// the input belongs to the command parser.
//
// Nothing is refused while the content is being read: every problem is recorded
// in the BodySummary and the Session turns it into the reply after the end of
// data (bare CR / bare LF -> 554 5.6.0, line over 1000 octets -> 554 5.6.0, size
// -> 552 5.3.4, hops -> 554 5.4.6; gateway/smtp/README.md). Once the size limit
// is exceeded, no more output is produced (nothing further reaches the disk), but
// input is still consumed to the end so the dialogue stays in step.
//
// Received: header lines are counted in the header section (up to the first
// empty line) across chunk boundaries; that count is the hop count (RFC 5321
// 6.3). The Message-ID field's value (unfolded, at most 998 octets) is kept
// for tracking and logs. With BODY=BINARYMIME the content is binary: no line
// checks.
//
// Not responsible for: MIME, header parsing beyond counting Received and
// reading Message-ID, writing the spool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gw::smtp {

struct BodySummary {
  std::uint64_t octets = 0;            // content octets after unstuffing (what is spooled)
  std::uint32_t received_headers = 0;  // hop count
  std::string message_id;              // the Message-ID field's value, trimmed; empty = none
  bool bare_lf = false;
  bool bare_cr = false;
  bool line_too_long = false;          // a line over max_line octets including CRLF
  bool size_exceeded = false;          // octets > max_message_size
  friend bool operator==(const BodySummary&, const BodySummary&) = default;
};

struct BodyLimits {
  std::uint64_t max_message_size = 0;  // 0 = unlimited
  std::size_t max_line = 1000;         // octets including CRLF (RFC 5321 4.5.3.1.6)
  bool binary = false;                 // BODY=BINARYMIME: no line checks
};

class DataParser {
 public:
  using Limits = BodyLimits;

  explicit DataParser(BodyLimits limits = {});

  // Starts DATA content (after the 354 reply).
  void begin_data();
  // Starts one BDAT chunk of `octets`; the summary accumulates over chunks.
  // `last`: the chunk ends the content (BDAT ... LAST), so a final bare CR counts.
  void begin_chunk(std::uint64_t octets, bool last = false);

  // Consumes input of the current DATA content or chunk, appends content to
  // `output`, returns the octets consumed (less than input.size() only when the
  // content or chunk ended inside `input`).
  std::size_t put(std::string_view input, std::string& output);

  // The DATA content or the current chunk is complete.
  bool done() const noexcept { return done_; }
  const BodySummary& summary() const noexcept { return summary_; }

 private:
  enum class Mode { Idle, Data, Chunk };
  // Line-state of DATA: where we are relative to the last CRLF.
  enum class DataState { LineStart, InLine, CrInLine, Dot, DotCr };

  // Content octets, with the line and header bookkeeping. emit() takes one
  // octet, emit_run() a run without CR or LF, emit_text() anything.
  void emit(char c, std::string& output);
  void emit_run(std::string_view run, std::string& output);
  void emit_text(std::string_view text, std::string& output);
  void append_output(std::string_view bytes, std::string& output);
  void finish_content();
  void end_header_line();

  Limits limits_;
  Mode mode_ = Mode::Idle;
  DataState data_state_ = DataState::LineStart;
  std::uint64_t chunk_left_ = 0;
  bool last_chunk_ = false;
  bool done_ = false;
  BodySummary summary_;

  // Content observation (shared by DATA and BDAT).
  std::size_t line_length_ = 0;   // octets in the current line so far
  bool prev_cr_ = false;          // last content octet was CR
  bool in_headers_ = true;
  bool header_line_start_ = true;
  std::string header_name_;       // first octets of the current header line
  std::string header_line_;       // the current header line (capped), for Message-ID
  bool in_message_id_ = false;    // the last header field was Message-ID (folding continues it)
};

}  // namespace gw::smtp
