// The version every program prints for --version and the status page shows:
// the CMake project's version (GW_VERSION, set on gw_common), one place.
#pragma once

#ifndef GW_VERSION
#define GW_VERSION "0.1.0"
#endif

namespace gw {
inline constexpr const char* kVersion = GW_VERSION;
}  // namespace gw
