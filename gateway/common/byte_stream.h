// ByteStream: an open connection as a stream of octets, whoever opened it.
// ATRN (RFC 2645 4.2) turns an accepted inbound connection around: the
// gateway, which was the server, becomes the SMTP client on the same socket
// (plaintext or the server side of TLS). The server side hands its connection
// over as a ByteStream, and the outbound client (delivery::OutboundConnection::
// adopt()) drives its session through this interface instead of a socket it
// connected itself; neither side needs the other's headers.
//
// Contract: read_some() and write() report errors through `ec`, never by
// throwing; write() writes the whole buffer or fails. cancel() aborts pending
// operations (a timeout) and leaves the stream usable; close() ends it. All
// calls come from one coroutine on the stream's executor.
#pragma once

#include <cstddef>

#include "gateway/common/asio.h"

namespace gw {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, boost::system::error_code& ec) = 0;
  virtual asio::awaitable<void> write(asio::const_buffer buffer, boost::system::error_code& ec) = 0;
  virtual void cancel() noexcept = 0;
  virtual void close() noexcept = 0;
};

}  // namespace gw
