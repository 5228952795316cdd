#include "metabase-sync/sync_service.h"

#include <ldap.h>

#include <algorithm>
#include <thread>

#include "gateway/common/log.h"
#include "metabase-sync/errors.h"
#include "metabase-sync/lint.h"
#include "metabase-sync/metabase_builder.h"

namespace msync {
namespace {

const gw::log::Context kLog{.subsystem = "metabase-sync"};

bool is(const gw::Error& error, SyncErrc code) { return error.code == make_error_code(code); }

// Sleeps up to `duration`, returning early (false) when stop is requested.
bool sleep_unless_stopped(std::chrono::milliseconds duration, const std::atomic<bool>& stop) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (!stop.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                             std::chrono::milliseconds(50)));
  }
  return false;
}

std::string printable_cookie(const berval& cookie) {
  std::string text(cookie.bv_val ? cookie.bv_val : "", cookie.bv_val ? cookie.bv_len : 0);
  return gw::log::printable(text, 1024);
}

// RFC 4533 refreshAndPersist over the configuration NC, used only as a change
// notification: any entry callback after the refresh phase marks the
// configuration dirty; the full read happens in the caller.
class ContentSync {
 public:
  ContentSync(LDAP* ld, const std::string& base) : base_(base) {
    ldap_sync_initialize(&sync_);
    sync_.ls_base = base_.data();
    sync_.ls_scope = LDAP_SCOPE_SUBTREE;
    sync_.ls_filter = filter_.data();
    sync_.ls_attrs = attrs_;
    sync_.ls_timelimit = 0;
    sync_.ls_sizelimit = 0;
    sync_.ls_timeout = 0;  // ldap_sync_poll() does not block: the loop sleeps itself
    sync_.ls_search_entry = &ContentSync::on_entry;
    sync_.ls_search_reference = &ContentSync::on_reference;
    sync_.ls_intermediate = &ContentSync::on_intermediate;
    sync_.ls_search_result = &ContentSync::on_result;
    sync_.ls_private = this;
    sync_.ls_ld = ld;
  }
  ~ContentSync() {
    // The caller owns the LDAP handle and the strings; only the cookie is ours.
    sync_.ls_ld = nullptr;
    sync_.ls_base = nullptr;
    sync_.ls_filter = nullptr;
    sync_.ls_attrs = nullptr;
    ldap_sync_destroy(&sync_, 0);
  }
  ContentSync(const ContentSync&) = delete;
  ContentSync& operator=(const ContentSync&) = delete;

  // Runs the refresh phase; returns the LDAP result code.
  int start() {
    const int rc = ldap_sync_init_refresh_and_persist(&sync_);
    changed_ = false;
    return rc;
  }

  // Processes whatever has arrived; returns <0 / an LDAP error when the
  // connection or the persistent search is gone.
  int poll() { return ldap_sync_poll(&sync_); }

  bool take_changed() { return std::exchange(changed_, false); }
  bool ended() const { return ended_; }
  std::string cookie() const { return printable_cookie(sync_.ls_cookie); }

 private:
  static ContentSync& self(ldap_sync_t* ls) { return *static_cast<ContentSync*>(ls->ls_private); }
  static int on_entry(ldap_sync_t* ls, LDAPMessage*, struct berval*, ldap_sync_refresh_t phase) {
    if (phase != LDAP_SYNC_CAPI_PRESENT) self(ls).changed_ = true;
    return LDAP_SUCCESS;
  }
  static int on_reference(ldap_sync_t*, LDAPMessage*) { return LDAP_SUCCESS; }
  static int on_intermediate(ldap_sync_t* ls, LDAPMessage*, BerVarray, ldap_sync_refresh_t phase) {
    // syncIdSet deletes carry removed entries.
    if (phase == LDAP_SYNC_CAPI_DELETES || phase == LDAP_SYNC_CAPI_DELETES_IDSET) self(ls).changed_ = true;
    return LDAP_SUCCESS;
  }
  static int on_result(ldap_sync_t* ls, LDAPMessage*, int) {
    self(ls).ended_ = true;
    return LDAP_SUCCESS;
  }

  std::string base_;
  std::string filter_ = "(objectClass=*)";
  char one_one_[4] = "1.1";  // no attributes: notifications only
  char* attrs_[2] = {one_one_, nullptr};
  ldap_sync_t sync_{};
  bool changed_ = false;
  bool ended_ = false;
};

class Follower {
 public:
  Follower(const SyncOptions& options, const std::atomic<bool>& stop)
      : options_(options), stop_(stop), writer_(options.out) {}

  gw::Result<void> run() {
    if (auto opened = writer_.open(); !opened) return opened;
    auto backoff = options_.min_backoff;
    while (!stop_.load()) {
      auto session = LdapSession::connect(options_.connect);
      if (!session) {
        if (!had_good_read_ && is(session.error(), SyncErrc::BindFailed)) return std::unexpected(session.error());
        gw::log::warn(kLog, "{}; retrying in {} ms", describe(session.error()), backoff.count());
        if (!sleep_unless_stopped(backoff, stop_)) break;
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      auto outcome = serve(*session);
      if (!outcome) return outcome;
      if (stop_.load()) break;
      // The connection failed after working: reconnect promptly, then back off.
      if (served_ok_) backoff = options_.min_backoff;
      gw::log::warn(kLog, "{}: connection lost; reconnecting in {} ms", options_.connect.uri, backoff.count());
      if (!sleep_unless_stopped(backoff, stop_)) break;
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    gw::log::info(kLog, "stopping");
    return {};
  }

 private:
  // Reads and publishes. Returns false when the connection should be dropped,
  // an error when the failure is fatal.
  gw::Result<bool> refresh(LdapSession& session, const std::string& cookie) {
    auto snapshot = read_snapshot(session, options_.read);
    if (snapshot) {
      snapshot->sync_cookie = cookie;
      auto metabase = build_metabase(*snapshot);
      if (metabase) {
        if (auto publishable = check_publishable(*metabase); !publishable)
          metabase = std::unexpected(publishable.error());
      }
      if (!metabase) {
        report_once(describe(metabase.error()) + "; keeping the last good metabase");
        had_good_read_ = true;  // the tool's own settings are right; the directory is not
        return true;
      }
      auto written = writer_.publish(std::move(*metabase));
      if (!written) {
        // Disk full and the like: the next read tries again; the old file stays.
        report_once(describe(written.error()) + "; keeping the last good metabase");
        return true;
      }
      last_problem_.clear();
      if (*written)
        gw::log::info(kLog, "wrote {} (serial {})", options_.out.string(),
                      writer_.current()->provenance().serial());
      had_good_read_ = true;
      served_ok_ = true;
      return true;
    }
    const auto& error = snapshot.error();
    if (is(error, SyncErrc::DirectoryUnavailable) || is(error, SyncErrc::DirectoryError)) {
      gw::log::warn(kLog, "{}", describe(error));
      return false;
    }
    if (!had_good_read_) return std::unexpected(error);
    report_once(describe(error) + "; keeping the last good metabase");
    return true;
  }

  // Logs a persistent problem once, not at every reconciliation.
  void report_once(const std::string& problem) {
    if (problem == last_problem_) return;
    gw::log::error(kLog, "{}", problem);
    last_problem_ = problem;
  }

  gw::Result<void> serve(LdapSession& session) {
    served_ok_ = false;
    auto info = read_server_info(session);
    if (!info) {
      gw::log::warn(kLog, "{}", describe(info.error()));
      return {};
    }
    if (options_.force_polling) return serve_by_polling(session);
    if (info->kind == gw::DirectoryKind::ActiveDirectory) return serve_by_change_marks(session, *info);
    if (!info->content_sync) {
      gw::log::info(kLog, "{}: no RFC 4533 content synchronization; polling every {} ms", options_.connect.uri,
                    options_.poll_interval.count());
      return serve_by_polling(session);
    }
    return serve_with_sync(session);
  }

  // Active Directory: every change_poll_interval, one RootDSE read; when the
  // DC's highestCommittedUSN moved, the change marks (DN and uSNChanged) of
  // the configuration objects; when those differ, a full read. A change thus
  // reaches the file within one change poll interval plus one read; deletions
  // and renames show as a different set of DNs. A full read every poll
  // interval reconciles anyway. (DirSync would report changes too, but tells
  // of deletions only to accounts holding "Replicating Directory Changes".)
  gw::Result<void> serve_by_change_marks(LdapSession& session, ServerInfo info) {
    const std::string base = config_nc(session);
    gw::log::info(kLog, "{}: following {} ({}: uSNChanged every {} ms)", options_.connect.uri, base,
                  gw::directory_kind_name(info.kind), options_.change_poll_interval.count());
    // Marks first, then the read: a change in between shows at the next poll.
    auto marks = read_change_marks(session, base);
    if (!marks) {
      gw::log::warn(kLog, "{}", describe(marks.error()));
      return {};
    }
    auto first = refresh(session, usn_cookie(info));
    if (!first) return std::unexpected(first.error());
    if (!*first) return {};
    auto last_read = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      if (!sleep_unless_stopped(options_.change_poll_interval, stop_)) break;
      auto now = read_server_info(session);
      if (!now) {
        gw::log::warn(kLog, "{}", describe(now.error()));
        return {};
      }
      const bool reconcile = std::chrono::steady_clock::now() - last_read >= options_.poll_interval;
      if (now->highest_committed_usn == info.highest_committed_usn && !reconcile) continue;
      info = std::move(*now);
      auto current = read_change_marks(session, base);
      if (!current) {
        gw::log::warn(kLog, "{}", describe(current.error()));
        return {};
      }
      if (*current == *marks && !reconcile) continue;
      marks = std::move(current);
      last_read = std::chrono::steady_clock::now();
      auto again = refresh(session, usn_cookie(info));
      if (!again) return std::unexpected(again.error());
      if (!*again) return {};
    }
    return {};
  }

  static std::string usn_cookie(const ServerInfo& info) {
    return info.highest_committed_usn.empty() ? std::string() : "highestCommittedUSN=" + info.highest_committed_usn;
  }

  gw::Result<void> serve_with_sync(LdapSession& session) {
    ContentSync sync(session.handle(), config_nc(session));
    const int rc = sync.start();
    if (rc != LDAP_SUCCESS) {
      if (rc < 0) return {};  // LDAP_SERVER_DOWN, LDAP_TIMEOUT ...: reconnect
      gw::log::warn(kLog, "{}: content synchronization refused ({}); polling instead", options_.connect.uri,
                    ldap_err2string(rc));
      return serve_by_polling(session);
    }
    gw::log::info(kLog, "{}: following {} (RFC 4533 refreshAndPersist)", options_.connect.uri,
                  config_nc(session));
    auto first = refresh(session, sync.cookie());
    if (!first) return std::unexpected(first.error());
    if (!*first) return {};
    auto last_read = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      const int polled = sync.poll();
      if (polled < 0 || polled == LDAP_SERVER_DOWN || polled == LDAP_CONNECT_ERROR) return {};
      if (sync.ended()) {
        gw::log::warn(kLog, "{}: the server ended the persistent search", options_.connect.uri);
        return {};
      }
      // A full read every poll interval even while notified: it bounds the damage
      // of a lost notification and, through the search timeout, detects a server
      // that hangs without closing the connection.
      const bool reconcile = std::chrono::steady_clock::now() - last_read >= options_.poll_interval;
      if (sync.take_changed() || reconcile) {
        last_read = std::chrono::steady_clock::now();
        auto again = refresh(session, sync.cookie());
        if (!again) return std::unexpected(again.error());
        if (!*again) return {};
        continue;  // drain anything that arrived meanwhile before sleeping
      }
      sleep_unless_stopped(std::chrono::milliseconds(50), stop_);
    }
    return {};
  }

  gw::Result<void> serve_by_polling(LdapSession& session) {
    while (!stop_.load()) {
      auto outcome = refresh(session, {});
      if (!outcome) return std::unexpected(outcome.error());
      if (!*outcome) return {};
      if (!sleep_unless_stopped(options_.poll_interval, stop_)) break;
    }
    return {};
  }

  std::string config_nc(LdapSession& session) {
    if (!options_.read.config_nc.empty()) return options_.read.config_nc;
    if (writer_.current() && !writer_.current()->directory().config_base_dn().empty())
      return writer_.current()->directory().config_base_dn();
    // Discover it the same way read_snapshot() does.
    auto entries = session.search("", Scope::Base, "(objectClass=*)",
                                  {"configurationNamingContext", "defaultNamingContext", "namingContexts"});
    if (entries && !entries->empty()) {
      const auto& dse = entries->front();
      if (auto config = dse.first("configurationNamingContext")) return *config;
      auto base = options_.read.default_nc;
      if (base.empty()) base = dse.first("defaultNamingContext").value_or(dse.first("namingContexts").value_or(""));
      return "CN=Configuration," + base;
    }
    return {};
  }

  const SyncOptions& options_;
  const std::atomic<bool>& stop_;
  MetabaseWriter writer_;
  bool had_good_read_ = false;
  bool served_ok_ = false;
  std::string last_problem_;
};

}  // namespace

gw::Result<gw::metabase::Metabase> read_metabase_from_directory(const SyncOptions& options) {
  auto session = LdapSession::connect(options.connect);
  if (!session) return std::unexpected(session.error());
  auto snapshot = read_snapshot(*session, options.read);
  if (!snapshot) return std::unexpected(snapshot.error());
  return build_metabase(*snapshot);
}

gw::Result<bool> run_once(const SyncOptions& options) {
  MetabaseWriter writer(options.out);
  if (auto opened = writer.open(); !opened) return std::unexpected(opened.error());
  auto metabase = read_metabase_from_directory(options);
  if (!metabase) return std::unexpected(metabase.error());
  if (auto publishable = check_publishable(*metabase); !publishable) return std::unexpected(publishable.error());
  return writer.publish(std::move(*metabase));
}

gw::Result<void> follow(const SyncOptions& options, const std::atomic<bool>& stop) {
  return Follower(options, stop).run();
}

}  // namespace msync
