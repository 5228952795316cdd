// The gateway's status page: one read-only HTML document built from a
// StatusSnapshot (virtual servers and their bindings, named queues with counts
// and the age of their oldest message, connectors with their retry state,
// directory servers with their health, the metabase's provenance, and the
// event counters of the day's work). Pure: the daemon fills the snapshot on its
// control loop; this unit only renders it, escaping every text. The page
// reloads itself every `refresh_seconds` and has no forms, links that act, or
// scripts.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gw::http {

struct StatusSnapshot {
  std::string server_name;     // this server's FQDN
  std::string version;
  std::chrono::system_clock::time_point now{};
  std::chrono::system_clock::time_point started{};

  struct VirtualServer {
    std::string id;
    std::string name;
    std::string state;                  // started, paused, stopped
    std::vector<std::string> bindings;  // "0.0.0.0:25", "127.0.0.1:465 (TLS)"
    std::string fqdn;
  };
  std::vector<VirtualServer> virtual_servers;

  struct Queue {
    std::string name;                   // display name with [next hop]
    std::uint64_t messages = 0;
    std::int64_t oldest_age_seconds = 0;
    bool frozen = false;
  };
  std::vector<Queue> queues;

  struct Connector {
    std::string name;
    std::vector<std::string> address_spaces;  // "SMTP:partner.example;10"
    std::string next_hops;                    // smart hosts or "DNS"
    std::string state;                        // "ready", "retry until 2026-...", "scheduled"
  };
  std::vector<Connector> connectors;

  struct DirectoryServer {
    std::string uri;
    std::string health;                       // "up", "down", "no search yet"
  };
  std::vector<DirectoryServer> directory_servers;

  struct Provenance {
    std::string metabase_file;
    std::string source_uri;
    std::uint64_t serial = 0;
    std::string synced_at;                    // local time with offset
    std::int64_t age_seconds = 0;
    std::string context_csn;
  } provenance;

  // Labelled numbers from the event counters ("Messages received", "12").
  std::vector<std::pair<std::string, std::string>> activity;
};

std::string render_status_page(const StatusSnapshot& snapshot, unsigned refresh_seconds = 10);
// "3 s", "4 min", "2 h 5 min", "3 d 1 h".
std::string format_age(std::int64_t seconds);
std::string html_escape(std::string_view text);

}  // namespace gw::http
