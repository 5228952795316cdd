// GatewayServer: the running gateway daemon -- the wiring of every library into
// one process: spool recovery, the virtual servers of the metabase and their
// listeners (gw_server), the directory service (categorizer), the queue manager
// (gw_qmgr) and the control socket (gw_control), hot reload and shutdown. It is
// the only unit that knows all of them; the libraries do not know each other.
//
// Threading: one io_context per worker thread ("one event loop per core",
// contract 8 in docs/architecture.md). Context 0 is also the control loop: listeners accept
// there, reloads and signals run there, so the listener and virtual-server
// tables need no locks. Each accepted socket is created on the next context
// round-robin and its whole session runs on that one thread, so a session needs
// no strand. Shared state touched by sessions (connection counters, the
// protocol log, settings snapshots) is thread-safe; the Spool runs its blocking
// calls on its own pool.
//
// Behind the listeners: the categorize stage (directory look-ups after
// queuing), the queue manager (routing, delivery, retries, DSNs; it is also
// the QueueAdmin behind ETRN, ATRN and gatewayctl's control socket). Recovered
// messages resume in the stage their envelope names.
// Start-up: load and validate the metabase, Spool::recover() (before any
// listener opens), open every running virtual server's sockets; any failure
// there throws (main reports it and exits non-zero).
// Reload (metabase file renamed into place, or SIGHUP): a metabase that fails
// to load or validate is logged and ignored; otherwise new virtual servers
// start, removed or paused/stopped ones stop accepting, changed settings apply
// to new sessions. Sessions in flight always complete on the settings they
// started with. A socket that cannot be bound on reload is logged; the rest of
// the configuration still applies.
// SIGTERM/SIGINT: close the listeners (new connections are refused), tell every
// open session to close (421 4.3.2 instead of its next command; a transaction in
// progress is finished first), let them finish for up to kDrainTimeout, then
// stop the loops; a second signal stops at once. Dropping a session is safe: no reply was promised for an
// uncommitted message, and committed ones are on disk. Tear-down destroys what
// is still queued on every loop before it destroys any loop: a frame queued on
// one loop may own an object whose I/O belongs to another (a session holding the
// directory client, which lives on the control loop).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "categorizer/directory_service.h"
#include "gateway/common/asio.h"
#include "gateway/control/control_server.h"
#include "gateway/http/http_server.h"
#include "gateway/http/status_page.h"
#include "gateway/main/explainer.h"
#include "gateway/main/observability.h"
#include "gateway/qmgr/categorize_stage.h"
#include "gateway/qmgr/queue_manager.h"
#include "gateway/queue/named_queues.h"
#include "gateway/queue/spool.h"
#include "gateway/server/auth_throttle.h"
#include "gateway/server/directory_auth.h"
#include "gateway/server/directory_recipient_validator.h"
#include "gateway/server/listener.h"
#include "gateway/server/metabase_loader.h"
#include "gateway/server/metabase_watcher.h"
#include "gateway/server/recipient_validator.h"
#include "gateway/server/sasl_authenticator.h"
#include "gateway/server/smtp_connection.h"
#include "gateway/server/virtual_server.h"

namespace gw::daemon {

struct GatewayOptions {
  std::filesystem::path metabase_file;
  std::filesystem::path spool_directory;
  unsigned threads = 0;  // 0 = one per core
  // Directory look-ups (RCPT time and after queuing); tests shorten the retry steps.
  qmgr::CategorizeStageOptions categorize;
  categorizer::DirectoryServiceOptions directory;
  // Routing and delivery from the queue (retry times come from the metabase).
  qmgr::QueueManagerOptions delivery;
  // gatewayctl's Unix socket; empty = <spool>/control.sock.
  std::filesystem::path control_socket;
  // AUTH failures per client address (slow-down and lockout).
  server::AuthThrottleSettings auth_throttle;
  // Message tracking files (tracking-YYYYMMDD.log); empty = <spool>/tracking.
  std::filesystem::path tracking_directory;
  // The read-only HTTP endpoint, "ADDRESS:PORT"; empty = none.
  std::string http_listen;
};

class GatewayServer {
 public:
  static constexpr std::chrono::seconds kDrainTimeout{10};

  // Loads the metabase and recovers the spool; throws std::runtime_error with a
  // readable message on failure.
  explicit GatewayServer(GatewayOptions options);
  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // Opens the listeners and runs the event loops until SIGTERM/SIGINT or stop().
  // Throws when a listener of the initial configuration cannot be opened.
  void run();
  // Thread-safe: asks the loops to finish.
  void stop();

 private:
  Result<void> apply(const server::MetabasePtr& metabase, bool startup);
  void reload();
  void add_collectors();
  void start_http();
  http::Response http_response(const http::Request& request);
  http::StatusSnapshot status_snapshot();
  void dispatch(asio::ip::tcp::socket socket, const std::string& server_id, bool implicit_tls);
  asio::awaitable<void> drain_then_stop();
  std::size_t open_sessions();
  asio::any_io_executor next_worker();
  asio::any_io_executor control() { return contexts_.front()->get_executor(); }

  // An io_context whose queued handlers and coroutine frames can be destroyed
  // before the context itself (execution_context::shutdown(), which the
  // destructor repeats harmlessly).
  class EventLoop : public asio::io_context {
   public:
    using asio::io_context::io_context;
    void destroy_pending_work() { shutdown(); }
  };

  GatewayOptions options_;
  // First in, last out: every component may emit events until it is gone.
  std::unique_ptr<Observability> observability_;
  std::vector<std::unique_ptr<EventLoop>> contexts_;
  std::unique_ptr<queue::Spool> spool_;
  server::AcceptLocalDomains validator_;
  // The directory and the post-queue stage live on the control loop (context 0).
  queue::NamedQueues queues_;
  std::unique_ptr<categorizer::DirectoryService> directory_;
  std::unique_ptr<server::DirectoryRecipientValidator> directory_validator_;
  std::unique_ptr<qmgr::CategorizeStage> categorize_stage_;
  std::unique_ptr<qmgr::QueueManager> queue_manager_;
  std::unique_ptr<control::ControlServer> control_server_;
  std::unique_ptr<AddressExplainer> explainer_;  // gatewayctl explain, on the control loop
  std::shared_ptr<http::HttpServer> http_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  // AUTH: passwords are checked on the directory's loop; every worker loop
  // shares one throttle, so a client cannot escape it by reconnecting.
  std::unique_ptr<server::DirectoryServicePasswordVerifier> directory_passwords_;
  std::unique_ptr<server::ExecutorBoundPasswordVerifier> password_verifier_;
  std::unique_ptr<server::AuthThrottle> auth_throttle_;
  std::unique_ptr<server::SaslAuthenticator> authenticator_;
  std::vector<QueueId> awaiting_categorization_;  // recovered at start-up
  std::vector<QueueId> awaiting_delivery_;        // recovered in the later queues
  server::MetabasePtr metabase_;
  std::map<std::string, std::shared_ptr<server::VirtualServer>> servers_;
  std::map<std::string, std::shared_ptr<server::Listener>> listeners_;  // by SocketPlan::key()
  std::shared_ptr<server::MetabaseWatcher> watcher_;
  std::atomic<std::uint64_t> next_session_id_{1};
  // Open sessions by id, told to close when the gateway stops (sessions run on
  // every loop: guarded).
  std::mutex sessions_mutex_;
  std::map<std::uint64_t, std::weak_ptr<server::SmtpConnection>> sessions_;
  bool sessions_closing_ = false;  // under sessions_mutex_: a session accepted now is told at once
  bool stopping_ = false;
  std::size_t next_worker_ = 0;
};

}  // namespace gw::daemon
