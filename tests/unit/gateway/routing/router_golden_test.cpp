// Golden tests for the router: each tests/testdata/routing/<name>.in holds a
// metabase (the sample organization plus changes, protobuf text format) and a
// list of recipients; <name>.golden holds the next hop and queue of each.
// Regenerate after an intended change with GW_UPDATE_GOLDEN=1 and review the diff.
//
// .in format:
//   base: <file>            text-format Metabase to start from (relative to the .in)
//   metabase:               following lines, up to "cases:", are merged into it; a
//                           connector, mailbox server or virtual server with the name
//                           (id) of an existing one changes that one
//   cases:                  then one recipient per line:
//   <mailbox|contact|remote|nonauth> <address> [key=value ...]
// keys: home_mdb home_server home_fqdn target sender sender_dn groups (';'-separated)
//       size priority(low|normal|high) system(yes|no) vs down(','-separated)
//       hosts_down(','-separated) spread msgid. Values may be "double quoted".
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/dsn/status_table.h"
#include "gateway/queue/named_queues.h"
#include "gateway/routing/router.h"

namespace gw::routing {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (true) {
    const auto at = text.find(sep);
    if (!text.substr(0, at).empty()) out.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

// Splits on blanks, honouring "double quoted" values.
std::vector<std::string> tokens(std::string_view line) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false, have = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      have = true;
    } else if ((c == ' ' || c == '\t') && !quoted) {
      if (have) out.push_back(std::move(current));
      current.clear();
      have = false;
    } else {
      current += c;
      have = true;
    }
  }
  if (have) out.push_back(std::move(current));
  return out;
}

std::pair<CategorizedRecipient, RouteState> parse_case(const std::string& line) {
  const auto words = tokens(line);
  if (words.size() < 2) throw std::runtime_error("bad case: " + line);
  CategorizedRecipient r;
  RouteState state;
  r.message.sender = "alice@example.com";
  r.message.virtual_server_id = "1";
  const std::string& kind = words[0];
  r.kind = kind == "mailbox"   ? RecipientKind::Mailbox
           : kind == "contact" ? RecipientKind::Contact
           : kind == "nonauth" ? RecipientKind::NonAuthoritative
           : kind == "remote"  ? RecipientKind::Remote
                               : throw std::runtime_error("bad kind: " + kind);
  r.address = words[1];
  for (std::size_t i = 2; i < words.size(); ++i) {
    const auto eq = words[i].find('=');
    if (eq == std::string::npos) throw std::runtime_error("bad key=value: " + words[i]);
    const std::string key = words[i].substr(0, eq), value = words[i].substr(eq + 1);
    if (key == "home_mdb") r.home_mdb_dn = value;
    else if (key == "home_server") r.home_server_dn = value;
    else if (key == "home_fqdn") r.home_server_fqdn = value;
    else if (key == "target") r.target_address = value;
    else if (key == "sender") r.message.sender = value;
    else if (key == "sender_dn") r.message.sender_dn = value;
    else if (key == "groups") r.message.sender_group_dns = split(value, ';');
    else if (key == "size") r.message.size = std::stoull(value);
    else if (key == "priority")
      r.message.priority = value == "low" ? Priority::Low : value == "high" ? Priority::High : Priority::Normal;
    else if (key == "system") r.message.system_message = value == "yes";
    else if (key == "vs") r.message.virtual_server_id = value;
    else if (key == "down") for (auto& c : split(value, ',')) state.connectors_down.insert(c);
    else if (key == "hosts_down") for (auto& h : split(value, ',')) state.hosts_down.insert(h);
    else if (key == "spread") state.spread_key = std::stoull(value);
    else if (key == "msgid") state.spread_key = spread_key_for(value);
    else throw std::runtime_error("unknown key: " + key);
  }
  return {r, state};
}

// Overlay entries of connectors, mailbox servers and virtual servers that
// name an existing one (by name / id) change it; others are added.
template <typename Repeated, typename Key>
void merge_by_key(Repeated& base, Repeated& changes, Key key) {
  for (auto& change : changes) {
    auto it = std::find_if(base.begin(), base.end(), [&](const auto& existing) { return key(existing) == key(change); });
    if (it != base.end())
      it->MergeFrom(change);
    else
      *base.Add() = change;
  }
  changes.Clear();
}

void merge_overlay(gw::metabase::Metabase& metabase, gw::metabase::Metabase changes) {
  merge_by_key(*metabase.mutable_connectors(), *changes.mutable_connectors(),
               [](const gw::metabase::Connector& c) { return c.name(); });
  merge_by_key(*metabase.mutable_mailbox_servers(), *changes.mutable_mailbox_servers(),
               [](const gw::metabase::MailboxServer& m) { return m.name(); });
  merge_by_key(*metabase.mutable_virtual_servers(), *changes.mutable_virtual_servers(),
               [](const gw::metabase::VirtualServer& v) { return v.id(); });
  metabase.MergeFrom(changes);
}

std::string run_golden(const fs::path& in_path) {
  std::istringstream in(read_file(in_path));
  gw::metabase::Metabase metabase;
  std::string overlay, output, line;
  enum { Header, Overlay, Cases } section = Header;
  std::optional<RoutingSnapshot> snapshot;
  while (std::getline(in, line)) {
    if (section != Overlay && (line.empty() || line[0] == '#')) {
      if (section == Cases) output += line + "\n";
      continue;
    }
    if (section == Header && line.starts_with("base:")) {
      const auto base = read_file(in_path.parent_path() / tokens(line.substr(5)).at(0));
      if (!google::protobuf::TextFormat::ParseFromString(base, &metabase))
        throw std::runtime_error("bad base metabase");
    } else if (section == Header && line == "metabase:") {
      section = Overlay;
    } else if (line == "cases:") {
      gw::metabase::Metabase changes;
      if (!google::protobuf::TextFormat::ParseFromString(overlay, &changes))
        throw std::runtime_error("bad metabase overlay in " + in_path.string());
      merge_overlay(metabase, changes);
      snapshot = RoutingSnapshot::build(metabase);
      section = Cases;
    } else if (section == Overlay) {
      overlay += line + "\n";
    } else if (section == Cases) {
      const auto [rcpt, state] = parse_case(line);
      const NextHop hop = route(*snapshot, rcpt, state);
      output += line + "\n  -> " + describe(hop) + "\n";
      if (const auto* failure = std::get_if<Fail>(&hop))
        output += "     ndr: " + dsn::reply_line(failure->kind) + "\n";
      else
        output += "     queue: " + gw::queue::display_name(gw::queue::QueueKey{queue_place(hop).queue, queue_place(hop).next_hop}) + "\n";
    } else {
      throw std::runtime_error("unexpected line: " + line);
    }
  }
  return output;
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(GW_ROUTING_TESTDATA))
    if (entry.path().extension() == ".in") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

class RouterGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(RouterGolden, MatchesGoldenFile) {
  const fs::path dir(GW_ROUTING_TESTDATA);
  const std::string got = run_golden(dir / (GetParam() + ".in"));
  const fs::path golden = dir / (GetParam() + ".golden");
  if (const char* update = std::getenv("GW_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << got;
    GTEST_SKIP() << "rewrote " << golden;
  }
  EXPECT_EQ(got, read_file(golden)) << "got:\n" << got;
}

INSTANTIATE_TEST_SUITE_P(Routing, RouterGolden, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace gw::routing
