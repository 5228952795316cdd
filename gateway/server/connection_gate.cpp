#include "gateway/server/connection_gate.h"

namespace gw::server {

ConnectionGate::Ticket::Ticket(Ticket&& other) noexcept
    : gate_(std::move(other.gate_)), peer_(other.peer_) {}

ConnectionGate::Ticket& ConnectionGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    gate_ = std::move(other.gate_);
    peer_ = other.peer_;
  }
  return *this;
}

ConnectionGate::Ticket::~Ticket() { release(); }

void ConnectionGate::Ticket::release() noexcept {
  if (gate_) {
    gate_->release(peer_);
    gate_.reset();
  }
}

std::variant<ConnectionGate::Ticket, Refusal> ConnectionGate::admit(const asio::ip::address& peer,
                                                                    const ConnectionRules& rules) {
  const auto address = canonical(peer);
  if (rules.deny.contains(address) || (!rules.allow.empty() && !rules.allow.contains(address)))
    return Refusal{554, EnhancedStatus{5, 7, 1}, "Access denied for " + address.to_string()};

  std::lock_guard lock(mutex_);
  if (rules.max_connections != 0 && total_ >= rules.max_connections)
    return Refusal{421, EnhancedStatus{4, 7, 0}, "Too many connections, try again later"};
  auto& from_peer = per_ip_[address];
  if (rules.max_connections_per_ip != 0 && from_peer >= rules.max_connections_per_ip) {
    if (from_peer == 0) per_ip_.erase(address);
    return Refusal{421, EnhancedStatus{4, 7, 0},
                   "Too many connections from " + address.to_string() + ", try again later"};
  }
  ++from_peer;
  ++total_;
  return Ticket(shared_from_this(), address);
}

void ConnectionGate::release(const asio::ip::address& peer) noexcept {
  std::lock_guard lock(mutex_);
  if (total_ > 0) --total_;
  auto it = per_ip_.find(peer);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

std::uint32_t ConnectionGate::open_connections() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::uint32_t ConnectionGate::open_connections_from(const asio::ip::address& peer) const {
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(canonical(peer));
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace gw::server
