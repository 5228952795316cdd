// libFuzzer target: the categorizer's handling of directory replies
// (categorizer/categorizer.h, resolver.h). The seam is DirectoryClient: every
// search is answered, in order, with the entries (DNs, attributes, values) or
// the error the input describes -- what a broken, hostile or inconsistent
// directory could return (entries that do not match the filter, loops between
// groups, alternate recipients and contacts, ranged and binary attribute
// options, malformed DNs and addresses). Then categorize() runs on a message
// with recipients in authoritative, non-authoritative and remote domains, and
// check_recipient() on each recipient.
// Checks contract 6 (docs/architecture.md) on the categorizer's side: after a successful
// categorize() no recipient is left PENDING and none has disappeared; after a
// failed one the envelope is unchanged (the message waits and retries).
//
// Input, one search reply after another (reading past the end gives empty
// replies): a byte b; b % 16 == 15 is an error (the kind from b >> 4), else
// b % 4 entries follow, each a DN and (byte % 6) attributes, each a name and
// (byte % 3 + 1) values. Names, DNs and values come from a vocabulary by index
// or, for a byte >= 0xE0, as raw octets from the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "categorizer/categorizer.h"
#include "categorizer/directory_client.h"

namespace {

using namespace gw::categorizer;
namespace asio = gw::asio;

constexpr const char* kNames[] = {
    "objectClass", "proxyAddresses", "mail", "homeMDB", "msExchOwningServer", "networkAddress",
    "targetAddress", "member", "member;range=0-1", "member;range=2-*", "altRecipient", "deliverAndRedirect",
    "authOrig", "unauthOrig", "dLMemSubmitPerms", "dLMemRejectPerms", "msExchRequireAuthToSendTo",
    "delivContLength", "msExchRecipLimit", "distinguishedName", "cn", "userAccountControl"};
constexpr const char* kValues[] = {
    "user", "person", "group", "contact", "top", "organizationalPerson", "TRUE", "FALSE", "0", "1", "100",
    "SMTP:alice@example.com", "smtp:bob@example.com", "SMTP:list@example.com", "smtp:alias@example.net",
    "SMTP:carol@shared.example.org", "X400:c=us;a= ;p=Example", "smtp:", "SMTP:@example.com",
    "SMTP:alice@example.com", "alice@example.com", "partner@partner.example", "SMTP:ext@remote.example",
    "CN=Alice,CN=Users,DC=example,DC=com", "CN=Bob,CN=Users,DC=example,DC=com",
    "CN=List,CN=Users,DC=example,DC=com", "CN=Contact,CN=Users,DC=example,DC=com",
    "CN=Mailbox Store,CN=First Storage Group,CN=InformationStore,CN=MBX1,CN=Servers,DC=example,DC=com",
    "CN=MBX1,CN=Servers,DC=example,DC=com", "ncacn_ip_tcp:mbx1.example.com", "ncacn_ip_tcp:bh1.example.com",
    "CN=Other,DC=elsewhere", "cn=alice,cn=users,dc=example,dc=com", "CN=a\\,b,DC=example,DC=com", ""};

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::string word(const char* const* vocabulary, std::size_t count) {
    const std::uint8_t b = byte();
    if (b < 0xE0) return vocabulary[b % count];
    const std::size_t n = std::min<std::size_t>(byte() % 48, size_ - std::min(at_, size_));
    std::string raw(reinterpret_cast<const char*>(data_ + at_), n);
    at_ += n;
    return raw;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

class ScriptedDirectory final : public DirectoryClient {
 public:
  // The server kind is fixed per input so one run sees one directory.
  ScriptedDirectory(Input& input, gw::DirectoryKind kind) : input_(input), kind_(kind) {}

  asio::awaitable<gw::Result<std::vector<Entry>>> search(SearchRequest) override {
    if (++searches_ > 2000) co_return gw::make_error(make_error_code(DirectoryErrc::Timeout), "too many");
    std::vector<Entry> entries;
    if (input_.empty()) co_return entries;
    const std::uint8_t b = input_.byte();
    if (b % 16 == 15) co_return gw::make_error(make_error_code(static_cast<DirectoryErrc>(1 + (b >> 4) % 4)), "scripted");
    for (unsigned e = 0; e < b % 4u; ++e) {
      Entry entry;
      entry.dn = input_.word(kValues, std::size(kValues));
      const unsigned attributes = input_.byte() % 6;
      for (unsigned a = 0; a < attributes; ++a) {
        auto& values = entry.attributes[input_.word(kNames, std::size(kNames))];
        const unsigned count = input_.byte() % 3 + 1;
        for (unsigned v = 0; v < count; ++v) values.push_back(input_.word(kValues, std::size(kValues)));
      }
      entries.push_back(std::move(entry));
    }
    co_return entries;
  }

  // A base-scope read answers with the named entry carrying scripted attributes, noSuchObject
  // (nullopt) or an error, as the script says.
  asio::awaitable<gw::Result<std::optional<Entry>>> read(std::string dn, std::vector<std::string>) override {
    if (++searches_ > 2000) co_return gw::make_error(make_error_code(DirectoryErrc::Timeout), "too many");
    if (input_.empty()) co_return std::optional<Entry>{};
    const std::uint8_t b = input_.byte();
    if (b % 16 == 15) co_return gw::make_error(make_error_code(static_cast<DirectoryErrc>(1 + (b >> 4) % 4)), "scripted");
    if (b % 4 == 0) co_return std::optional<Entry>{};
    Entry entry;
    entry.dn = std::move(dn);
    const unsigned attributes = input_.byte() % 6;
    for (unsigned a = 0; a < attributes; ++a) {
      auto& values = entry.attributes[input_.word(kNames, std::size(kNames))];
      const unsigned count = input_.byte() % 3 + 1;
      for (unsigned v = 0; v < count; ++v) values.push_back(input_.word(kValues, std::size(kValues)));
    }
    co_return std::optional<Entry>{std::move(entry)};
  }

  asio::awaitable<gw::Result<gw::DirectoryKind>> kind() override { co_return kind_; }

 private:
  Input& input_;
  gw::DirectoryKind kind_ = gw::DirectoryKind::OpenLdap;
  unsigned searches_ = 0;
};

gw::metabase::Metabase organization() {
  gw::metabase::Metabase mb;
  mb.mutable_this_server()->set_name("BH1");
  mb.mutable_this_server()->set_fqdn("bh1.example.com");
  auto* mbx = mb.add_mailbox_servers();
  mbx->set_name("MBX1");
  mbx->set_fqdn("mbx1.example.com");
  mbx->add_store_dns("CN=Mailbox Store,CN=First Storage Group,CN=InformationStore,CN=MBX1,CN=Servers,DC=example,DC=com");
  for (auto [name, authoritative] : {std::pair{"example.com", true}, {"example.net", true}, {"shared.example.org", false}}) {
    auto* domain = mb.add_domains();
    domain->set_name(name);
    domain->set_authoritative(authoritative);
  }
  mb.mutable_directory()->set_recipient_base_dn("DC=example,DC=com");
  mb.mutable_directory()->set_config_base_dn("CN=Configuration,DC=example,DC=com");
  mb.mutable_message_delivery()->set_default_recipient_limit(50);
  return mb;
}

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); }, asio::detached);
  io.restart();
  io.run();
  if (!out) std::abort();  // a categorizer call that never completes
  return std::move(*out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  Input input(data + 1, size - 1);
  ScriptedDirectory directory(input, (flags & 16) != 0 ? gw::DirectoryKind::ActiveDirectory : gw::DirectoryKind::OpenLdap);
  static const gw::metabase::Metabase metabase = organization();
  CategorizerOptions options = CategorizerOptions::from_metabase(metabase);
  options.use_cache = (flags & 1) != 0;
  Categorizer categorizer(directory, metabase, options);
  asio::io_context io;

  gw::envelope::Envelope envelope;
  envelope.set_sender((flags & 2) ? "" : "alice@example.com");
  for (const char* address : {"alice@example.com", "list@example.com", "nobody@example.net",
                              "carol@shared.example.org", "ext@remote.example"}) {
    auto* recipient = envelope.add_recipients();
    recipient->set_address(address);
    recipient->set_state(gw::envelope::PENDING);
  }
  const gw::envelope::Envelope before = envelope;
  const auto categorized = run(io, categorizer.categorize(envelope));
  if (categorized) {
    if (envelope.recipients_size() < before.recipients_size()) std::abort();
    for (int i = 0; i < before.recipients_size(); ++i)
      if (envelope.recipients(i).address() != before.recipients(i).address()) std::abort();
    for (const auto& recipient : envelope.recipients())
      if (recipient.state() == gw::envelope::PENDING) std::abort();
  } else if (envelope.SerializeAsString() != before.SerializeAsString()) {
    std::abort();
  }

  if (flags & 4) {
    auto sender = run(io, categorizer.resolve_sender("alice@example.com", (flags & 8) != 0));
    if (sender) {
      for (const auto& recipient : before.recipients()) {
        const auto verdict = run(io, categorizer.check_recipient(recipient.address(), *sender));
        (void)verdict;
      }
    }
  }
  return 0;
}
