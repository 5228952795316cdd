#include "gateway/server/listener_plan.h"

#include <set>

#include "gateway/server/ip_network.h"

namespace gw::server {
namespace {

std::error_code invalid() { return std::make_error_code(std::errc::invalid_argument); }

}  // namespace

std::string SocketPlan::key() const {
  return (wildcard ? std::string("*") : address.to_string()) + ":" + std::to_string(port);
}

const std::string& SocketPlan::server_for(const asio::ip::address& local) const {
  auto it = by_local_address.find(canonical(local));
  return it == by_local_address.end() ? default_server : it->second;
}

bool server_is_running(const metabase::VirtualServer& server) {
  return server.state() == metabase::STARTED || server.state() == metabase::SERVER_STATE_UNSPECIFIED;
}

Result<void> validate_bindings(const metabase::Metabase& metabase) {
  std::set<std::string> ids;
  std::set<std::pair<std::string, std::uint32_t>> claimed;
  for (const auto& server : metabase.virtual_servers()) {
    if (server.id().empty()) return make_error(invalid(), "virtual server '" + server.dn() + "' has no id");
    if (!ids.insert(server.id()).second)
      return make_error(invalid(), "virtual server id '" + server.id() + "' appears twice");
    for (const auto& binding : server.bindings()) {
      const std::string where = "virtual server " + server.id() + " binding '" + binding.ip() + ":" +
                                std::to_string(binding.port()) + "'";
      if (binding.port() == 0 || binding.port() > 65535) return make_error(invalid(), where + ": bad port");
      std::string ip;
      if (!binding.ip().empty()) {
        boost::system::error_code ec;
        auto address = asio::ip::make_address(binding.ip(), ec);
        if (ec) return make_error(invalid(), where + ": bad IP address");
        ip = canonical(address).to_string();
      }
      if (!server_is_running(server)) continue;
      if (!claimed.insert({ip, binding.port()}).second)
        return make_error(invalid(), where + ": address and port already bound by another virtual server");
    }
  }
  return {};
}

std::vector<SocketPlan> plan_listeners(const metabase::Metabase& metabase) {
  // port -> "all unassigned" server, and port -> specific address -> server.
  std::map<std::uint16_t, const metabase::VirtualServer*> wildcard_owner;
  std::map<std::uint16_t, bool> wildcard_tls;
  std::map<std::uint16_t, std::map<asio::ip::address, std::pair<std::string, bool>>> specific;
  for (const auto& server : metabase.virtual_servers()) {
    if (!server_is_running(server)) continue;
    for (const auto& binding : server.bindings()) {
      const auto port = static_cast<std::uint16_t>(binding.port());
      if (binding.ip().empty()) {
        wildcard_owner.emplace(port, &server);
        wildcard_tls[port] = binding.implicit_tls();
      } else {
        specific[port].emplace(canonical(asio::ip::make_address(binding.ip())),
                               std::pair{server.id(), binding.implicit_tls()});
      }
    }
  }

  std::vector<SocketPlan> plans;
  for (const auto& [port, owner] : wildcard_owner) {
    SocketPlan plan;
    plan.port = port;
    plan.wildcard = true;
    plan.implicit_tls = wildcard_tls[port];
    plan.default_server = owner->id();
    for (const auto& [address, server] : specific[port]) plan.by_local_address.emplace(address, server.first);
    specific.erase(port);
    plans.push_back(std::move(plan));
  }
  for (const auto& [port, addresses] : specific) {
    for (const auto& [address, server] : addresses) {
      SocketPlan plan;
      plan.port = port;
      plan.address = address;
      plan.implicit_tls = server.second;
      plan.default_server = server.first;
      plans.push_back(std::move(plan));
    }
  }
  return plans;
}

}  // namespace gw::server
