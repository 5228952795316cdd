// For tests that talk to a directory through libldap, which writes to its
// sockets with write(2): a server that has gone away must not kill the test
// process with SIGPIPE (gatewayd ignores the signal the same way). Including
// this header is enough.
#pragma once

#include <csignal>

namespace gw::test {

inline const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

}  // namespace gw::test
