#include "gateway/events/event.h"

namespace gw::events {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace

std::string_view name_of(const Event& event) noexcept {
  return std::visit(Overloaded{
                        [](const SessionOpened&) { return std::string_view("session-opened"); },
                        [](const SessionClosed&) { return std::string_view("session-closed"); },
                        [](const ConnectionRefused&) { return std::string_view("connection-refused"); },
                        [](const TlsEstablished&) { return std::string_view("tls"); },
                        [](const RecipientRejected&) { return std::string_view("rcpt-rejected"); },
                        [](const Received&) { return std::string_view("received"); },
                        [](const Categorized&) { return std::string_view("categorized"); },
                        [](const CategorizationDeferred&) { return std::string_view("categorize-deferred"); },
                        [](const Routed&) { return std::string_view("routed"); },
                        [](const DeliveryAttempt&) { return std::string_view("delivery"); },
                        [](const Deferred&) { return std::string_view("deferred"); },
                        [](const DsnQueued&) { return std::string_view("dsn-queued"); },
                        [](const Expired&) { return std::string_view("expired"); },
                        [](const Completed&) { return std::string_view("completed"); },
                        [](const AdminAction&) { return std::string_view("admin"); },
                        [](const Badmail&) { return std::string_view("badmail"); },
                        [](const DirectorySearch&) { return std::string_view("ldap-search"); },
                        [](const DirectoryCacheLookup&) { return std::string_view("ldap-cache"); },
                        [](const ConnectorRetry&) { return std::string_view("connector-retry"); },
                    },
                    event);
}

const Subject& subject_of(const Event& event) noexcept {
  return std::visit([](const auto& e) -> const Subject& { return e.subject; }, event);
}

Subject& subject_of(Event& event) noexcept {
  return std::visit([](auto& e) -> Subject& { return e.subject; }, event);
}

}  // namespace gw::events
