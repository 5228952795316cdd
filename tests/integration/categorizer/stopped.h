// wait_until_stopped: SIGSTOP is delivered asynchronously, so a test that pauses slapd waits until
// /proc reports the process as stopped before it relies on the server being hung.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace gw::categorizer::test {

inline bool wait_until_stopped(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    // Format: "pid (comm) S ..."; comm may contain spaces, so read the state after the last ')'.
    const auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'T') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

}  // namespace gw::categorizer::test
