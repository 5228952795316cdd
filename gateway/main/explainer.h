// AddressExplainer: the daemon's answer to `gatewayctl explain` (the contract
// and the records are in gateway/control/explainer.h). It asks the running
// gateway's own directory client, through a fresh Categorizer built from the
// metabase in force with a recording DirectoryClient in front, so every LDAP
// search the gateway would issue is listed with its base, filter, entry count
// and time; it then routes each categorized recipient with the router the
// queue manager uses, on the same metabase. Nothing is sent or queued, and the
// process's cache is neither read nor filled (the explanation's own cache
// shows which look-ups repeat).
// Runs on the control loop (the directory's executor).
#pragma once

#include <functional>
#include <memory>

#include "categorizer/directory_service.h"
#include "gateway/control/explainer.h"
#include "gateway/server/virtual_server.h"
#include "proto/metabase.pb.h"

namespace gw::daemon {

class AddressExplainer final : public control::Explainer {
 public:
  using MetabaseSource = std::function<std::shared_ptr<const metabase::Metabase>()>;
  using ServerSettings = std::function<server::SettingsPtr(const std::string& id)>;

  AddressExplainer(categorizer::DirectoryService& directory, MetabaseSource metabase, ServerSettings settings)
      : directory_(directory), metabase_(std::move(metabase)), settings_(std::move(settings)) {}

  asio::awaitable<control::Response> explain(control::ExplainCommand command) override;

 private:
  categorizer::DirectoryService& directory_;
  MetabaseSource metabase_;
  ServerSettings settings_;
};

}  // namespace gw::daemon
