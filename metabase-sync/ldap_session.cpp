#include "metabase-sync/ldap_session.h"

#include <sys/time.h>

#include <ldap.h>

#include "gateway/common/ad_bind_error.h"
#include "metabase-sync/errors.h"

namespace msync {
namespace {

constexpr ber_int_t kPageSize = 500;  // below AD's MaxPageSize (1000)

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

SyncErrc classify(int code) {
  switch (code) {
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_TIMEOUT:
    case LDAP_TIMELIMIT_EXCEEDED:
    case LDAP_UNAVAILABLE:
    case LDAP_BUSY:
      return SyncErrc::DirectoryUnavailable;
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
      return SyncErrc::BindFailed;
    default:
      return SyncErrc::DirectoryError;
  }
}

std::string diagnostic_of(LDAP* ld) {
  char* text = nullptr;
  std::string out;
  if (ld && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &text) == LDAP_OPT_SUCCESS && text) {
    out = text;
    ldap_memfree(text);
  }
  return out;
}

struct MessageGuard {
  LDAPMessage* message = nullptr;
  ~MessageGuard() {
    if (message) ldap_msgfree(message);
  }
};

DirectoryEntry to_entry(LDAP* ld, LDAPMessage* message) {
  DirectoryEntry entry;
  if (char* dn = ldap_get_dn(ld, message)) {
    entry.dn = dn;
    ldap_memfree(dn);
  }
  BerElement* ber = nullptr;
  for (char* name = ldap_first_attribute(ld, message, &ber); name != nullptr;
       name = ldap_next_attribute(ld, message, ber)) {
    std::vector<std::string> values;
    if (berval** bvals = ldap_get_values_len(ld, message, name)) {
      for (int i = 0; bvals[i] != nullptr; ++i) values.emplace_back(bvals[i]->bv_val, bvals[i]->bv_len);
      ldap_value_free_len(bvals);
    }
    entry.attributes[name] = std::move(values);
    ldap_memfree(name);
  }
  if (ber) ber_free(ber, 0);
  return entry;
}

}  // namespace

gw::Error ldap_error(int code, const std::string& context, const std::string& diagnostic) {
  std::string detail = context + ": " + ldap_err2string(code);
  if (!diagnostic.empty()) detail += " (" + diagnostic + ")";
  return gw::Error{make_error_code(classify(code)), std::move(detail)};
}

gw::Result<LdapSession> LdapSession::connect(const ConnectOptions& options) {
  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, options.uri.c_str());
  if (rc != LDAP_SUCCESS || ld == nullptr)
    return fail(SyncErrc::DirectoryUnavailable, options.uri + ": not a usable LDAP URI: " + ldap_err2string(rc));
  LdapSession session(ld, options);
  const int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  const timeval network = to_timeval(options.network_timeout);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &network);
  const timeval operation = to_timeval(options.operation_timeout);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &operation);

  if (options.start_tls) {
    rc = ldap_start_tls_s(ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      auto error = ldap_error(rc, options.uri, diagnostic_of(ld));
      error.detail = options.uri + ": StartTLS failed: " + ldap_err2string(rc);
      if (auto diagnostic = diagnostic_of(ld); !diagnostic.empty()) error.detail += " (" + diagnostic + ")";
      return std::unexpected(std::move(error));
    }
  }

  berval credentials{};
  credentials.bv_val = const_cast<char*>(options.password.c_str());
  credentials.bv_len = options.password.size();
  rc = ldap_sasl_bind_s(ld, options.bind_dn.empty() ? nullptr : options.bind_dn.c_str(), LDAP_SASL_SIMPLE,
                        &credentials, nullptr, nullptr, nullptr);
  if (rc != LDAP_SUCCESS) {
    auto error = ldap_error(rc, options.uri, diagnostic_of(ld));
    // A malformed bind DN or an empty password are refused credentials too.
    if (rc == LDAP_UNWILLING_TO_PERFORM || rc == LDAP_INVALID_DN_SYNTAX)
      error.code = make_error_code(SyncErrc::BindFailed);
    if (error.code == make_error_code(SyncErrc::BindFailed)) {
      error.detail = options.uri + ": bind as \"" + options.bind_dn + "\" failed: " + ldap_err2string(rc);
      // AD says why (a locked-out or expired service account is not a typo).
      if (auto failure = gw::ad_bind_failure(diagnostic_of(ld)))
        error.detail += std::string(" (") + std::string(gw::describe(failure->error)) + ")";
    }
    else if (error.code == make_error_code(SyncErrc::DirectoryUnavailable))
      error.detail = options.uri + ": cannot reach the directory: " + ldap_err2string(rc);
    return std::unexpected(std::move(error));
  }
  return session;
}

LdapSession::LdapSession(LdapSession&& other) noexcept
    : ld_(std::exchange(other.ld_, nullptr)), options_(std::move(other.options_)) {}

LdapSession& LdapSession::operator=(LdapSession&& other) noexcept {
  if (this != &other) {
    if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
    ld_ = std::exchange(other.ld_, nullptr);
    options_ = std::move(other.options_);
  }
  return *this;
}

LdapSession::~LdapSession() {
  if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
}

gw::Result<std::vector<DirectoryEntry>> LdapSession::search(const std::string& base, Scope scope,
                                                            const std::string& filter,
                                                            const std::vector<std::string>& attributes,
                                                            bool missing_base_is_empty) {
  const int ldap_scope = scope == Scope::Base       ? LDAP_SCOPE_BASE
                         : scope == Scope::OneLevel ? LDAP_SCOPE_ONELEVEL
                                                    : LDAP_SCOPE_SUBTREE;
  std::vector<char*> attrs;
  for (const auto& attribute : attributes) attrs.push_back(const_cast<char*>(attribute.c_str()));
  attrs.push_back(nullptr);
  std::vector<DirectoryEntry> entries;
  // RFC 2696 paged results on every search but the root DSE's: AD ends an
  // unpaged search at MaxPageSize (1000) entries, slapd-up.sh's slapd at its
  // soft size limit. The cookie of one page asks for the next.
  const bool paged = !base.empty();
  berval cookie{};
  std::string cookie_bytes;
  for (;;) {
    LDAPControl* page = nullptr;
    if (paged) {
      cookie.bv_val = cookie_bytes.empty() ? nullptr : cookie_bytes.data();
      cookie.bv_len = cookie_bytes.size();
      if (ldap_create_page_control(ld_, kPageSize, &cookie, 0, &page) != LDAP_SUCCESS)
        return fail(SyncErrc::DirectoryError, "search " + base + ": cannot build the paged-results control");
    }
    LDAPControl* controls[2] = {page, nullptr};
    timeval timeout = to_timeval(options_.operation_timeout);
    MessageGuard result;
    const int rc = ldap_search_ext_s(ld_, base.c_str(), ldap_scope, filter.c_str(),
                                     attributes.empty() ? nullptr : attrs.data(), 0, paged ? controls : nullptr,
                                     nullptr, &timeout, LDAP_NO_LIMIT, &result.message);
    if (page) ldap_control_free(page);
    // AD answers a base outside its naming contexts with a referral, slapd
    // with noSuchObject; referrals are never chased.
    if ((rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_REFERRAL) && missing_base_is_empty && entries.empty())
      return std::vector<DirectoryEntry>{};
    if (rc != LDAP_SUCCESS) return std::unexpected(ldap_error(rc, "search " + base, diagnostic_of(ld_)));
    // Entries only: continuation references (AD's pointers to CN=Configuration
    // and CN=Schema below the domain) are skipped, not chased.
    for (LDAPMessage* message = ldap_first_entry(ld_, result.message); message != nullptr;
         message = ldap_next_entry(ld_, message))
      entries.push_back(to_entry(ld_, message));
    if (!paged) break;
    LDAPControl** returned = nullptr;
    int code = LDAP_SUCCESS;
    LDAPMessage* done = ldap_first_message(ld_, result.message);
    while (done != nullptr && ldap_msgtype(done) != LDAP_RES_SEARCH_RESULT) done = ldap_next_message(ld_, done);
    if (done == nullptr || ldap_parse_result(ld_, done, &code, nullptr, nullptr, nullptr, &returned, 0) != LDAP_SUCCESS)
      break;
    berval next{};
    ber_int_t estimate = 0;
    LDAPControl* response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, returned, nullptr);
    const bool more = response != nullptr && ldap_parse_pageresponse_control(ld_, response, &estimate, &next) ==
                                                 LDAP_SUCCESS && next.bv_len > 0;
    cookie_bytes.assign(more ? next.bv_val : "", more ? next.bv_len : 0);
    if (next.bv_val) ber_memfree(next.bv_val);
    if (returned) ldap_controls_free(returned);
    if (!more) break;
  }
  return entries;
}

gw::Result<std::optional<DirectoryEntry>> LdapSession::read(const std::string& dn,
                                                            const std::vector<std::string>& attributes) {
  auto entries = search(dn, Scope::Base, "(objectClass=*)", attributes, true);
  if (!entries) return std::unexpected(entries.error());
  if (entries->empty()) return std::optional<DirectoryEntry>();
  return std::optional<DirectoryEntry>(std::move(entries->front()));
}

}  // namespace msync
