#include "gateway/server/sasl_authenticator.h"

#include "gateway/common/log.h"

namespace gw::server {

SaslAuthenticator::SaslAuthenticator(PasswordVerifier& verifier, AuthThrottle& throttle)
    : verifier_(verifier), throttle_(throttle) {}

asio::awaitable<AuthOutcome> SaslAuthenticator::authenticate(const smtp::Authenticate& request,
                                                             const SaslSettings& settings, AuthChannel& channel) {
  const log::Context context{.subsystem = "auth", .peer = settings.client_ip};
  // Named, not temporaries, in the co_await expressions below (g++ 12).
  const std::string no_user;
  const auto admission = throttle_.admit(settings.client_ip, AuthThrottle::Clock::now());
  if (!admission.allowed) {
    log::warn(context, "AUTH {} refused: too many failures from this address, locked for {}s more", request.mechanism,
              std::chrono::duration_cast<std::chrono::seconds>(admission.retry_after).count());
    AuthOutcome outcome;
    outcome.failure = smtp::AuthFailure::Temporary;
    outcome.throttled = true;
    co_return outcome;
  }

  auto created = SaslServerExchange::create(settings);
  if (!created) {
    log::error(context, "AUTH {}: SASL unavailable: {}", request.mechanism, created.error().message());
    const std::string reason = "SASL unavailable";
    co_return co_await fail(settings, no_user, reason, smtp::AuthFailure::Temporary, false);
  }
  SaslServerExchange& exchange = **created;

  std::optional<std::string_view> initial;
  if (request.initial_response) initial = *request.initial_response;
  SaslStep step = exchange.start(request.mechanism, initial);
  while (auto* challenge = std::get_if<SaslChallenge>(&step)) {
    if (!co_await channel.send_challenge(challenge->base64)) co_return AuthOutcome{AuthOutcome::Kind::ConnectionLost};
    std::optional<AuthResponse> response = co_await channel.read_response();
    if (!response) co_return AuthOutcome{AuthOutcome::Kind::ConnectionLost};
    if (response->too_long) {
      const std::string reason = "response line too long";
      co_return co_await fail(settings, no_user, reason, smtp::AuthFailure::LineTooLong, false);
    }
    step = exchange.step(response->line);
  }
  if (auto* failure = std::get_if<SaslFailure>(&step)) {
    // A cancel or a garbled response is not a password guess; a refused
    // mechanism exchange (e.g. a foreign authorization identity) is.
    const bool counts = failure->kind == smtp::AuthFailure::InvalidCredentials;
    co_return co_await fail(settings, no_user, failure->reason, failure->kind, counts);
  }

  auto& credentials = std::get<SaslCredentials>(step);
  const std::string user = credentials.user;
  PasswordVerdict verdict = co_await verifier_.verify(credentials.user, std::move(credentials.password));
  switch (verdict.kind) {
    case PasswordVerdict::Kind::Accepted: {
      throttle_.record_success(settings.client_ip);
      log::info(context, "AUTH {} user={} identity={} accepted", request.mechanism, log::printable(user),
                verdict.identity);
      AuthOutcome outcome;
      outcome.kind = AuthOutcome::Kind::Authenticated;
      outcome.identity = std::move(verdict.identity);
      outcome.own_addresses = std::move(verdict.own_addresses);
      co_return outcome;
    }
    case PasswordVerdict::Kind::Unavailable:
      co_return co_await fail(settings, user, verdict.reason, smtp::AuthFailure::Temporary, false);
    case PasswordVerdict::Kind::Rejected:
    case PasswordVerdict::Kind::Disabled:
      break;
  }
  co_return co_await fail(settings, user, verdict.reason, auth_failure_for(verdict), true);
}

asio::awaitable<AuthOutcome> SaslAuthenticator::fail(const SaslSettings& settings, const std::string& user,
                                                     const std::string& reason, smtp::AuthFailure failure,
                                                     bool counts) {
  const log::Context context{.subsystem = "auth", .peer = settings.client_ip};
  AuthOutcome outcome;
  outcome.failure = failure;
  if (!counts) {
    log::info(context, "AUTH user={} not completed: {}", log::printable(user), log::printable(reason));
    co_return outcome;
  }
  const auto recorded = throttle_.record_failure(settings.client_ip, AuthThrottle::Clock::now());
  log::warn(context, "AUTH user={} failed: {} (failure {} from this address{}{})", log::printable(user),
            log::printable(reason), recorded.failures, recorded.delay.count() > 0 ? ", answer delayed" : "",
            recorded.locked_out ? ", address locked out" : "");
  if (recorded.delay.count() > 0) {
    // Not co_await inside the constructor call: g++ 12 miscompiles that form.
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    timer.expires_after(recorded.delay);
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return outcome;
}

}  // namespace gw::server
