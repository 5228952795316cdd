#include "gateway/smtp/data_parser.h"

namespace gw::smtp {
namespace {

constexpr std::string_view kReceived = "received:";

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

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

void DataParser::observe(char c) {
  if (c == '\n') {
    if (!limits_.binary) {
      if (!prev_cr_) summary_.bare_lf = true;
      if (line_length_ + 1 > limits_.max_line) summary_.line_too_long = true;
    }
    // An empty line (CRLF alone) ends the header section.
    if (in_headers_ && (line_length_ == 0 || (line_length_ == 1 && prev_cr_))) in_headers_ = false;
    line_length_ = 0;
    header_name_.clear();
    prev_cr_ = false;
    return;
  }
  if (prev_cr_ && !limits_.binary) summary_.bare_cr = true;
  prev_cr_ = c == '\r';
  ++line_length_;
  if (!limits_.binary && line_length_ > limits_.max_line) summary_.line_too_long = true;
  if (in_headers_ && line_length_ <= kReceived.size()) {
    header_name_ += ascii_lower(c);
    if (header_name_ == kReceived) ++summary_.received_headers;
  }
}

void DataParser::finish_content() {
  if (prev_cr_ && !limits_.binary) summary_.bare_cr = true;
}

void DataParser::emit(char c, std::string& output) {
  observe(c);
  ++summary_.octets;
  if (limits_.max_message_size != 0 && summary_.octets > limits_.max_message_size)
    summary_.size_exceeded = true;
  if (!summary_.size_exceeded) output += c;
}

std::size_t DataParser::put(std::string_view input, std::string& output) {
  if (done_ || mode_ == Mode::Idle) return 0;
  std::size_t i = 0;
  if (mode_ == Mode::Chunk) {
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, input.size()));
    for (; i < take; ++i) emit(input[i], output);
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
  while (i < input.size() && !done_) {
    const char c = input[i++];
    switch (data_state_) {
      case DataState::LineStart:
        if (c == '.') {
          data_state_ = DataState::Dot;
        } else if (c == '\r') {
          data_state_ = DataState::CrInLine;
        } else {
          emit(c, output);
          data_state_ = DataState::InLine;
        }
        break;
      case DataState::InLine:
        if (c == '\r') {
          data_state_ = DataState::CrInLine;
        } else {
          emit(c, output);
        }
        break;
      case DataState::CrInLine:
        emit('\r', output);
        if (c == '\n') {
          emit('\n', output);
          data_state_ = DataState::LineStart;
        } else if (c == '\r') {
          data_state_ = DataState::CrInLine;  // the new CR is pending
        } else {
          emit(c, output);
          data_state_ = DataState::InLine;
        }
        break;
      case DataState::Dot:
        // The leading dot is dropped whatever follows (transparency).
        if (c == '\r') {
          data_state_ = DataState::DotCr;
        } else {
          emit(c, output);
          data_state_ = DataState::InLine;
        }
        break;
      case DataState::DotCr:
        if (c == '\n') {
          done_ = true;
          mode_ = Mode::Idle;
          finish_content();
        } else {
          emit('\r', output);
          if (c == '\r') {
            data_state_ = DataState::CrInLine;
          } else {
            emit(c, output);
            data_state_ = DataState::InLine;
          }
        }
        break;
    }
  }
  return i;
}

}  // namespace gw::smtp
