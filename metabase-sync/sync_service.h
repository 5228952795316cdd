// SyncService: keeps the metabase file equal to the directory.
//
// run_once(): connect, read, build, validate, publish; the first error ends it.
// follow(): the daemon loop. On each connection it first starts an RFC 4533
// refreshAndPersist search (libldap ldap_sync_*) over the configuration NC,
// then reads and publishes the full configuration, then waits: every entry the
// server reports as added, modified or deleted triggers a re-read (well within
// two seconds), and a full re-read every poll interval reconciles anyway (and,
// bounded by the search timeout, detects a server that hangs silently). When the
// server does not offer Content Synchronization the loop re-reads every poll
// interval instead. Active Directory (told by the RootDSE) has no RFC 4533: it
// is followed by update sequence numbers instead -- every change_poll_interval
// the RootDSE's highestCommittedUSN, when that moved the uSNChanged of the
// configuration objects, and a full read when those differ -- so a change
// reaches the file within change_poll_interval plus one read. libldap runs the RFC 4533 refresh phase in a loop without a
// deadline; the server answered the RootDSE search just before, so only a server
// that hangs in that very instant can delay the loop (and SIGTERM) there. A lost or hung connection is dropped and
// re-established with exponential backoff (bounded by max_backoff). A
// configuration that fails validation is logged with its DN and attribute and
// not written; the last good file stays untouched. follow() returns when `stop`
// becomes true (SIGTERM/SIGINT), checking it at least every 250 ms.
// Fatal in follow(): only misconfiguration of the tool itself before the first
// successful read (bind refused, unknown server, no configuration container)
// and an unusable metabase directory at start; later the same conditions, and
// failed writes (disk full), are logged once and retried at the next read.
// Not responsible for: argument parsing and signal installation (main.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>

#include "gateway/common/result.h"
#include "metabase-sync/config_reader.h"
#include "metabase-sync/ldap_session.h"
#include "metabase-sync/metabase_file.h"

namespace msync {

struct SyncOptions {
  ConnectOptions connect;
  ReadOptions read;
  std::filesystem::path out;
  std::chrono::milliseconds poll_interval{30000};
  // Active Directory: how often the RootDSE's highestCommittedUSN is read to
  // notice a change (the bound on how late a change reaches the file, plus one read).
  std::chrono::milliseconds change_poll_interval{1000};
  bool force_polling = false;               // ignore syncrepl even if offered
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{10000};
};

// Reads the directory once and returns the built (validated) metabase.
gw::Result<gw::metabase::Metabase> read_metabase_from_directory(const SyncOptions& options);

// --once: read and publish. Returns whether the file was (re)written.
gw::Result<bool> run_once(const SyncOptions& options);

// --follow. Returns success on a requested stop, an error when fatal.
gw::Result<void> follow(const SyncOptions& options, const std::atomic<bool>& stop);

}  // namespace msync
