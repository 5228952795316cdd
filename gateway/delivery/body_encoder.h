// DotStuffer: turns message content into the DATA stream of RFC 5321 4.5.2.
//
// The driver streams the spooled content through put() in chunks of any size and
// writes what comes out; finish() returns the tail, ending in the terminating
// "<CRLF>.<CRLF>". A line starting with "." gets one more "."; bare CR or LF
// become CRLF so no peer can read an end-of-data the gateway did not mean
// (SMTP smuggling); content without a final line break gets one. The state that
// spans chunk boundaries is one octet, so memory does not grow with the message.
// Not responsible for BDAT framing (BDAT sends the content unchanged) or for
// reading the spool.
#pragma once

#include <string>
#include <string_view>

namespace gw::delivery {

class DotStuffer {
 public:
  // Appends the encoded form of `chunk` to `out`.
  void put(std::string_view chunk, std::string& out);
  // Appends the end of the stream, "<CRLF>." and CRLF as needed, to `out`.
  void finish(std::string& out);

 private:
  bool at_line_start_ = true;
  bool pending_cr_ = false;   // the previous chunk ended with CR
};

}  // namespace gw::delivery
