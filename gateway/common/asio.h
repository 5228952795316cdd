// The one way the project includes Boost.Asio.
//
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>;
// including it first keeps every translation unit compiling on Debian 12.
// Boost 1.74 also has no default completion token: always pass
// asio::use_awaitable (or redirect_error(use_awaitable, ec)) explicitly.
#pragma once

#include <utility>

#include <boost/asio.hpp>

namespace gw {
namespace asio = boost::asio;
}  // namespace gw
