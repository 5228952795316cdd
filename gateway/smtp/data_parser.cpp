#include "gateway/smtp/data_parser.h"

#include <algorithm>

namespace gw::smtp {
namespace {

constexpr std::string_view kReceived = "received:";
constexpr std::size_t kMaxHeaderLine = 998;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_line_octet(char c) { return c == '\r' || c == '\n'; }

std::size_t run_length(std::string_view text, std::size_t from) {
  std::size_t end = from;
  while (end < text.size() && !is_line_octet(text[end])) ++end;
  return end - from;
}

}  // namespace

DataParser::DataParser(BodyLimits limits) : limits_(limits) {}

void DataParser::begin_data() {
  mode_ = Mode::Data;
  data_state_ = DataState::LineStart;
  done_ = false;
}

void DataParser::begin_chunk(std::uint64_t octets, bool last) {
  mode_ = Mode::Chunk;
  chunk_left_ = octets;
  last_chunk_ = last;
  done_ = false;
  if (octets == 0) {
    done_ = true;
    if (last) finish_content();
  }
}

void DataParser::append_output(std::string_view bytes, std::string& output) {
  const std::uint64_t before = summary_.octets;
  summary_.octets += bytes.size();
  if (summary_.size_exceeded) return;
  if (limits_.max_message_size != 0 && summary_.octets > limits_.max_message_size) {
    // Keep exactly the octets up to the limit; nothing after it reaches the spool.
    summary_.size_exceeded = true;
    const std::uint64_t room = limits_.max_message_size > before ? limits_.max_message_size - before : 0;
    output.append(bytes.substr(0, static_cast<std::size_t>(room)));
    return;
  }
  output.append(bytes);
}

void DataParser::emit_run(std::string_view run, std::string& output) {
  if (run.empty()) return;
  if (prev_cr_) {
    if (!limits_.binary) summary_.bare_cr = true;
    prev_cr_ = false;
  }
  // The first nine octets of a header line tell whether it is "Received:".
  if (in_headers_ && line_length_ < kReceived.size()) {
    const std::size_t take = std::min(kReceived.size() - line_length_, run.size());
    for (std::size_t i = 0; i < take; ++i) header_name_ += ascii_lower(run[i]);
    if (header_name_ == kReceived) ++summary_.received_headers;
  }
  if (in_headers_ && header_line_.size() < kMaxHeaderLine)
    header_line_.append(run.substr(0, std::min(run.size(), kMaxHeaderLine - header_line_.size())));
  line_length_ += run.size();
  if (!limits_.binary && line_length_ > limits_.max_line) summary_.line_too_long = true;
  append_output(run, output);
}

void DataParser::emit(char c, std::string& output) {
  if (!is_line_octet(c)) {
    emit_run(std::string_view(&c, 1), output);
    return;
  }
  if (c == '\n') {
    if (!limits_.binary) {
      if (!prev_cr_) summary_.bare_lf = true;
      if (line_length_ + 1 > limits_.max_line) summary_.line_too_long = true;
    }
    // An empty line (CRLF alone) ends the header section.
    if (in_headers_ && (line_length_ == 0 || (line_length_ == 1 && prev_cr_))) in_headers_ = false;
    if (in_headers_) end_header_line();
    line_length_ = 0;
    header_name_.clear();
    prev_cr_ = false;
  } else {  // '\r'
    if (prev_cr_ && !limits_.binary) summary_.bare_cr = true;
    prev_cr_ = true;
    ++line_length_;
    if (in_headers_ && line_length_ <= kReceived.size()) header_name_ += c;
    if (!limits_.binary && line_length_ > limits_.max_line) summary_.line_too_long = true;
  }
  append_output(std::string_view(&c, 1), output);
}

void DataParser::emit_text(std::string_view text, std::string& output) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t run = run_length(text, i);
    emit_run(text.substr(i, run), output);
    i += run;
    if (i < text.size()) emit(text[i++], output);
  }
}

// RFC 5322 3.6.4: "Message-ID:" msg-id; a line starting with a blank
// continues the previous field (folding).
void DataParser::end_header_line() {
  constexpr std::string_view kMessageId = "message-id:";
  const std::string_view line = header_line_;
  const auto trim = [](std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
  };
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    if (in_message_id_ && summary_.message_id.size() < kMaxHeaderLine) summary_.message_id += trim(line);
  } else {
    in_message_id_ = line.size() >= kMessageId.size() && summary_.message_id.empty();
    for (std::size_t i = 0; in_message_id_ && i < kMessageId.size(); ++i)
      in_message_id_ = ascii_lower(line[i]) == kMessageId[i];
    if (in_message_id_) summary_.message_id = std::string(trim(line.substr(kMessageId.size())));
  }
  header_line_.clear();
}

void DataParser::finish_content() {
  if (prev_cr_ && !limits_.binary) summary_.bare_cr = true;
}

std::size_t DataParser::put(std::string_view input, std::string& output) {
  if (done_ || mode_ == Mode::Idle) return 0;
  if (mode_ == Mode::Chunk) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, input.size()));
    emit_text(input.substr(0, take), output);
    chunk_left_ -= take;
    if (chunk_left_ == 0) {
      done_ = true;
      if (last_chunk_) finish_content();
    }
    return take;
  }

  // DATA (RFC 5321 4.5.2): the end is CRLF "." CRLF, where the first CRLF is the
  // one that ended the previous line (or the DATA command). A line starting with
  // "." has that dot removed. A bare CR or LF never starts a line, so none of the
  // smuggling variants (\n.\n, \r.\r, \r.\n, \n.\r\n) can end the content.
  // States that "reprocess" leave `i` unchanged and look at the octet again.
  std::size_t i = 0;
  while (i < input.size() && !done_) {
    const char c = input[i];
    switch (data_state_) {
      case DataState::LineStart:
        if (c == '.') {
          data_state_ = DataState::Dot;
          ++i;
        } else {
          data_state_ = DataState::InLine;  // reprocess
        }
        break;
      case DataState::InLine:
        if (c == '\r') {
          data_state_ = DataState::CrInLine;  // held until we know what follows
          ++i;
        } else if (c == '\n') {
          emit('\n', output);  // bare LF: content, recorded
          ++i;
        } else {
          const std::size_t run = run_length(input, i);
          emit_run(input.substr(i, run), output);
          i += run;
        }
        break;
      case DataState::CrInLine:
        emit('\r', output);
        if (c == '\n') {
          emit('\n', output);
          data_state_ = DataState::LineStart;
          ++i;
        } else if (c == '\r') {
          ++i;  // the new CR is held in turn
        } else {
          data_state_ = DataState::InLine;  // reprocess
        }
        break;
      case DataState::Dot:
        // The leading dot is dropped whatever follows (transparency).
        if (c == '\r') {
          data_state_ = DataState::DotCr;
          ++i;
        } else {
          data_state_ = DataState::InLine;  // reprocess
        }
        break;
      case DataState::DotCr:
        if (c == '\n') {
          ++i;
          done_ = true;
          mode_ = Mode::Idle;
          finish_content();
        } else {
          emit('\r', output);
          data_state_ = DataState::InLine;  // reprocess
        }
        break;
    }
  }
  return i;
}

}  // namespace gw::smtp
