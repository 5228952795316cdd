#include "gateway/main/gateway_server.h"

#include <ctime>
#include <set>
#include <sstream>
#include <stdexcept>

#include "gateway/common/log.h"
#include "gateway/server/smtp_connection.h"

namespace gw::daemon {

using namespace gw::server;  // the daemon is assembled from the server's parts

namespace {

const char* state_name(metabase::ServerState state) {
  switch (state) {
    case metabase::STOPPED: return "stopped";
    case metabase::PAUSED: return "paused";
    default: return "started";
  }
}

}  // namespace

GatewayServer::GatewayServer(GatewayOptions options) : options_(std::move(options)) {
  observability_ = std::make_unique<Observability>(
      options_.tracking_directory.empty() ? options_.spool_directory / "tracking" : options_.tracking_directory);
  unsigned threads = options_.threads != 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) contexts_.push_back(std::make_unique<EventLoop>(1));

  auto loaded = load_metabase(options_.metabase_file);
  if (!loaded) throw std::runtime_error(loaded.error().message());
  metabase_ = *loaded;

  spool_ = std::make_unique<queue::Spool>(queue::SpoolOptions{options_.spool_directory});
  auto recovered = spool_->recover();
  if (!recovered) throw std::runtime_error("spool recover: " + recovered.error().message());
  std::map<int, std::size_t> per_queue;
  for (const auto& message : recovered->messages) {
    ++per_queue[message.envelope.queue()];
    queues_.upsert(queue::QueuedMessage::from_envelope(message.envelope));
    if (message.envelope.queue() == envelope::AWAITING_DIRECTORY_LOOKUP) awaiting_categorization_.push_back(message.id);
    else awaiting_delivery_.push_back(message.id);
  }
  directory_ = std::make_unique<categorizer::DirectoryService>(control(), options_.directory);
  directory_validator_ = std::make_unique<DirectoryRecipientValidator>(*directory_);
  // Categorized messages go on to delivery; reports the delivery stage queues go
  // through categorization like any other mail.
  auto categorize_options = options_.categorize;
  categorize_options.on_categorized = [this](const QueueId& id) { queue_manager_->submit(id); };
  categorize_stage_ =
      std::make_unique<qmgr::CategorizeStage>(*spool_, queues_, *directory_, std::move(categorize_options));
  auto delivery_options = options_.delivery;
  delivery_options.on_report_queued = [this](const QueueId& id) { categorize_stage_->submit(id); };
  queue_manager_ = std::make_unique<qmgr::QueueManager>(control(), *spool_, queues_, std::move(delivery_options));
  // gatewayctl's socket: the queues can be inspected while the loops run.
  const auto control_socket =
      options_.control_socket.empty() ? options_.spool_directory / "control.sock" : options_.control_socket;
  control_server_ = std::make_unique<control::ControlServer>(*queue_manager_, control_socket);
  explainer_ = std::make_unique<AddressExplainer>(
      *directory_, [this] { return metabase_; },
      [this](const std::string& id) -> server::SettingsPtr {
        const auto found = servers_.find(id);
        return found == servers_.end() ? nullptr : found->second->settings();
      });
  control_server_->set_explainer(explainer_.get());
  control_server_->start();
  if (auto sasl = initialize_sasl_library(); !sasl) throw std::runtime_error("SASL: " + sasl.error().message());
  directory_passwords_ = std::make_unique<DirectoryServicePasswordVerifier>(*directory_);
  password_verifier_ = std::make_unique<ExecutorBoundPasswordVerifier>(directory_->executor(), *directory_passwords_);
  auth_throttle_ = std::make_unique<AuthThrottle>(options_.auth_throttle);
  authenticator_ = std::make_unique<SaslAuthenticator>(*password_verifier_, *auth_throttle_);
  add_collectors();
  log::info({"gateway"}, "spool {}: recovered {} message(s), removed {} incomplete, {} to badmail",
            options_.spool_directory.string(), recovered->messages.size(), recovered->incomplete_removed,
            recovered->moved_to_badmail);
  for (const auto& [queue, count] : per_queue)
    log::info({"gateway"}, "spool: {} message(s) in {}", count,
              envelope::QueueName_Name(static_cast<envelope::QueueName>(queue)));
}

GatewayServer::~GatewayServer() {
  // Sockets, timers and coroutine frames belong to the contexts: release them
  // while the contexts and the spool still exist, then the contexts themselves.
  watcher_.reset();
  listeners_.clear();
  servers_.clear();
  for (auto& context : contexts_) context->stop();
  control_server_.reset();
  explainer_.reset();
  http_.reset();
  categorize_stage_.reset();
  queue_manager_.reset();
  authenticator_.reset();
  auth_throttle_.reset();
  password_verifier_.reset();
  directory_passwords_.reset();
  directory_validator_.reset();
  directory_.reset();
  // The spool's pool threads complete their work onto the contexts' executors:
  // let them finish while the (stopped) contexts still exist.
  spool_.reset();
  // What is still queued (dropped sessions, stage coroutines, completions the
  // pool just posted) may own objects of any loop -- a session on a worker loop
  // can hold the last reference to the directory client, whose sockets belong to
  // the control loop. Destroy all of it while every loop exists; only then the
  // loops themselves.
  for (auto& context : contexts_) context->destroy_pending_work();
  contexts_.clear();
}

// State that is not an event, read when /metrics is scraped (on the control
// loop, where the metabase is swapped; the queue index is thread-safe).
void GatewayServer::add_collectors() {
  observability_->metrics().add_collector([this](std::vector<events::Sample>& out) {
    const auto now = static_cast<double>(std::time(nullptr));
    for (const auto& [key, count] : queues_.counts()) {
      const events::Labels labels{{"queue", std::string(queue::display_name(key.queue))}, {"next_hop", key.next_hop}};
      out.push_back({"mailgw_queue_messages", "", labels, static_cast<double>(count)});
    }
    for (const auto& [key, count] : queues_.counts()) {
      const auto oldest = queues_.list(key.queue, 1, key.next_hop);
      if (oldest.empty()) continue;
      const events::Labels labels{{"queue", std::string(queue::display_name(key.queue))}, {"next_hop", key.next_hop}};
      out.push_back({"mailgw_queue_oldest_age_seconds", "", labels,
                     std::max(0.0, now - static_cast<double>(oldest.front().arrival_unix))});
    }
    if (const auto metabase = metabase_) {
      out.push_back({"mailgw_metabase_serial", "", {}, static_cast<double>(metabase->provenance().serial())});
      out.push_back({"mailgw_metabase_age_seconds", "", {},
                     std::max(0.0, now - static_cast<double>(metabase->provenance().synced_at_unix()))});
      std::map<std::string, int> states;
      for (const auto& server : metabase->virtual_servers()) ++states[state_name(server.state())];
      for (const auto& [state, count] : states)
        out.push_back({"mailgw_virtual_servers", "", {{"state", state}}, static_cast<double>(count)});
    }
  });
}

// gatewayd --http; none when unset. The address is taken at start-up only.
void GatewayServer::start_http() {
  const std::string& listen = options_.http_listen;
  if (listen.empty()) return;
  auto endpoint = http::parse_listen_address(listen);
  if (!endpoint) throw std::runtime_error(endpoint.error().message());
  http_ = http::HttpServer::start(control(), *endpoint,
                                  [this](const http::Request& request) { return http_response(request); });
  std::ostringstream where;
  where << http_->local_endpoint();
  log::info({"http"}, "serving /metrics, /healthz and the status page on http://{}/", where.str());
}

asio::any_io_executor GatewayServer::next_worker() {
  auto& context = *contexts_[next_worker_++ % contexts_.size()];
  return context.get_executor();
}

void GatewayServer::run() {
  if (auto applied = apply(metabase_, true); !applied) throw std::runtime_error(applied.error().message());
  start_http();
  queue_manager_->configure(metabase_);

  for (auto& id : awaiting_categorization_) categorize_stage_->submit(std::move(id));
  awaiting_categorization_.clear();
  for (auto& id : awaiting_delivery_) queue_manager_->submit(std::move(id));
  awaiting_delivery_.clear();
  watcher_ = MetabaseWatcher::start(control(), options_.metabase_file, [this] { reload(); });
  asio::signal_set signals(*contexts_.front(), SIGTERM, SIGINT, SIGHUP);
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      log::info({"gateway"}, "SIGHUP: reloading {}", options_.metabase_file.string());
      observability_->reopen();
      reload();
      signals.async_wait(on_signal);
      return;
    }
    log::info({"gateway"}, "signal {}: shutting down", signal);
    stop();
    signals.async_wait(on_signal);  // a second signal stops without waiting
  };
  signals.async_wait(on_signal);

  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& context : contexts_) guards.emplace_back(context->get_executor());
  for (std::size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([&context = *contexts_[i]] { context.run(); });
  log::info({"gateway"}, "running with {} event loop(s)", contexts_.size());
  contexts_.front()->run();
  guards.clear();
  for (auto& thread : threads) thread.join();
  watcher_.reset();
}

void GatewayServer::stop() {
  asio::post(control(), [this] {
    if (stopping_) {
      // A second request: stop now.
      for (auto& context : contexts_) context->stop();
      return;
    }
    stopping_ = true;
    if (watcher_) watcher_->stop();
    categorize_stage_->stop();
    queue_manager_->stop();
    control_server_->stop();
    if (http_) http_->stop();
    for (auto& [key, listener] : listeners_) listener->close();
    listeners_.clear();
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_closing_ = true;
      for (auto& [id, session] : sessions_)
        if (auto connection = session.lock()) connection->shut_down();
    }
    asio::co_spawn(control(), drain_then_stop(), asio::detached);
  });
}

std::size_t GatewayServer::open_sessions() {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

asio::awaitable<void> GatewayServer::drain_then_stop() {
  const auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
  asio::steady_timer poll(control());
  if (const auto open = open_sessions(); open > 0)
    log::info({"gateway"}, "waiting up to {} s for {} open session(s)", kDrainTimeout.count(), open);
  while (open_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    poll.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (const auto open = open_sessions(); open > 0) log::warn({"gateway"}, "dropping {} session(s) still open", open);
  for (auto& context : contexts_) context->stop();
}

void GatewayServer::reload() {
  auto loaded = load_metabase(options_.metabase_file);
  if (!loaded) {
    log::error({"reload"}, "{}; keeping the running configuration", loaded.error().message());
    return;
  }
  if (auto applied = apply(*loaded, false); !applied) {
    log::error({"reload"}, "{}; keeping the running configuration", applied.error().message());
    return;
  }
  queue_manager_->configure(*loaded);
  log::info({"reload"}, "applied metabase serial {}", (*loaded)->provenance().serial());
}

Result<void> GatewayServer::apply(const MetabasePtr& metabase, bool startup) {
  // Build every snapshot first, so a bad server leaves the whole old configuration.
  std::map<std::string, SettingsPtr> settings;
  for (const auto& server : metabase->virtual_servers()) {
    auto built = build_settings(*metabase, server);
    if (!built) return make_error(built.error().code, "virtual server " + server.id() + ": " + built.error().detail);
    settings.emplace(server.id(), std::move(*built));
  }

  for (auto it = servers_.begin(); it != servers_.end();) {
    if (!settings.contains(it->first)) {
      log::info({"gateway"}, "virtual server {} removed", it->first);
      it = servers_.erase(it);  // its sessions keep their reference and finish
    } else {
      ++it;
    }
  }
  for (auto& [id, snapshot] : settings) {
    auto& server = servers_[id];
    const bool is_new = !server;
    if (is_new)
      server = std::make_shared<VirtualServer>(snapshot);
    else
      server->update(snapshot);
    log::info({"gateway"}, "virtual server {} ({}) {}{}{}", id, snapshot->name, state_name(snapshot->state),
              snapshot->tls_context ? ", STARTTLS offered" : "", is_new ? "" : " (settings updated)");
    if (!snapshot->tls_error.empty())
      log::error({"gateway"}, "virtual server {}: TLS not available: {}", id, snapshot->tls_error);
    if (snapshot->policy.require_auth && snapshot->policy.auth_mechanisms.empty())
      log::warn({"gateway"}, "virtual server {}: authentication required but basic authentication is off", id);
    if (!snapshot->policy.auth_mechanisms.empty() && !snapshot->auth_directory_configured)
      log::warn({"gateway"},
                "virtual server {}: AUTH offered but the metabase names no directory endpoints; "
                "every attempt is answered 454 4.7.0",
                id);
  }

  const auto plans = plan_listeners(*metabase);
  std::set<std::string> wanted;
  for (const auto& plan : plans) wanted.insert(plan.key());
  // Close first: a port may move from specific sockets to one wildcard socket.
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (!wanted.contains(it->first)) {
      log::info({"listener"}, "closing {}", it->first);
      it->second->close();
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& plan : plans) {
    if (plan.implicit_tls) {
      // RFC 8314: without a certificate the handshake cannot happen, so the
      // binding is not served at all rather than served in the clear.
      const auto owner = settings.find(plan.default_server);
      if (owner == settings.end() || !owner->second->tls_context) {
        log::error({"listener"}, "{}: implicit TLS binding of virtual server {} refused: no usable certificate{}{}",
                   plan.key(), plan.default_server,
                   owner != settings.end() && !owner->second->tls_error.empty() ? ": " : "",
                   owner != settings.end() ? owner->second->tls_error : std::string());
        if (auto existing = listeners_.find(plan.key()); existing != listeners_.end()) {
          existing->second->close();
          listeners_.erase(existing);
        }
        continue;
      }
    }
    if (auto existing = listeners_.find(plan.key()); existing != listeners_.end()) {
      existing->second->update(plan);
      continue;
    }
    auto opened = Listener::open(
        control(), plan, [this] { return next_worker(); },
        [this](asio::ip::tcp::socket socket, const std::string& id, bool implicit_tls) {
          dispatch(std::move(socket), id, implicit_tls);
        });
    if (!opened) {
      if (startup) return std::unexpected(opened.error());
      log::error({"listener"}, "{}", opened.error().message());
      continue;
    }
    log::info({"listener"}, "listening on {} for virtual server {}{}", plan.key(), plan.default_server,
              plan.implicit_tls ? " (implicit TLS)" : "");
    listeners_.emplace(plan.key(), std::move(*opened));
  }
  if (!directory_->configure(metabase) && startup)
    return make_error(std::make_error_code(std::errc::invalid_argument), "directory endpoints unusable");
  metabase_ = metabase;
  return {};
}

void GatewayServer::dispatch(asio::ip::tcp::socket socket, const std::string& server_id, bool implicit_tls) {
  const std::uint64_t session_id = next_session_id_.fetch_add(1);
  auto found = servers_.find(server_id);
  if (found == servers_.end()) {
    // A wildcard socket outlived its owner between plan updates: refuse politely.
    asio::co_spawn(socket.get_executor(),
                   SmtpConnection::refuse(std::move(socket),
                                          Refusal{421, EnhancedStatus{4, 3, 2}, "Service not available"},
                                          metabase_->this_server().fqdn(), session_id, implicit_tls),
                   asio::detached);
    return;
  }
  auto server = found->second;
  const auto settings = server->settings();
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return;
  auto admission = server->gate()->admit(peer.address(), settings->connection_rules);
  if (auto* refusal = std::get_if<Refusal>(&admission)) {
    asio::co_spawn(socket.get_executor(),
                   SmtpConnection::refuse(std::move(socket), std::move(*refusal), settings->fqdn, session_id,
                                          implicit_tls, settings->tls_context),
                   asio::detached);
    return;
  }
  auto executor = socket.get_executor();
  auto connection = std::make_shared<SmtpConnection>(std::move(socket), std::move(server),
                                                     std::get<ConnectionGate::Ticket>(std::move(admission)),
                                                     ConnectionServices{*spool_, *directory_validator_,
                                                                        [stage = categorize_stage_.get()](const QueueId& id) {
                                                                          stage->submit(id);
                                                                        },
                                                                        queue_manager_.get()},
                                                     session_id);
  connection->set_authenticator(authenticator_.get());
  if (implicit_tls) connection->use_implicit_tls();
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.emplace(session_id, connection);
    if (sessions_closing_) connection->shut_down();
  }
  asio::co_spawn(
      executor,
      [connection, session_id, this]() -> asio::awaitable<void> {
        co_await connection->run();
        {
          std::lock_guard lock(sessions_mutex_);
          sessions_.erase(session_id);
        }
      },
      asio::detached);
}

}  // namespace gw::daemon
