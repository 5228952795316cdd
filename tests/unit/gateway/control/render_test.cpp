// gatewayctl's presentation: tables for people, JSON for scripts.
#include "gateway/control/render.h"

#include <gtest/gtest.h>

namespace gw::control {
namespace {

const QueueId kId = *QueueId::parse("0001A2B3C4D5E600010ABCDE");

Response queues_response() {
  Response r;
  r.records.push_back(Record{"queue", {}}
                          .add("queue", "awaiting-directory-lookup")
                          .add("next_hop", "")
                          .add("name", "Messages awaiting directory lookup")
                          .add("messages", "1")
                          .add("frozen", "no"));
  r.records.push_back(Record{"queue", {}}
                          .add("queue", "remote-delivery")
                          .add("next_hop", "partner.example")
                          .add("name", "Remote delivery [partner.example]")
                          .add("messages", "12")
                          .add("frozen", "yes"));
  return r;
}

Response show_response() {
  Response r;
  r.records.push_back(Record{"message", {}}
                          .add("id", kId.str())
                          .add("queue", "remote-delivery")
                          .add("sender", "")
                          .add("size", "2048")
                          .add("arrival", "2026-11-29T05:30:00Z")
                          .add("auth", "")
                          .add("tls", "TLSv1.3 TLS_AES_256_GCM_SHA384")
                          .add("hop_count", "2")
                          .add("frozen", "yes"));
  r.records.push_back(Record{"recipient", {}}
                          .add("address", "bob@partner.example")
                          .add("state", "retry")
                          .add("status", "4.4.1")
                          .add("reply_code", "451")
                          .add("diagnostic", "connection refused \"x\"")
                          .add("next_hop", "partner.example")
                          .add("attempts", "3")
                          .add("next_attempt", "2026-11-29T05:40:00Z"));
  return r;
}

TEST(ControlRenderTest, QueuesTableAlignsCountsAndMarksFrozenQueues) {
  EXPECT_EQ(render_text(QueuesCommand{}, queues_response()),
            "QUEUE                               MESSAGES  STATE\n"
            "Messages awaiting directory lookup         1\n"
            "Remote delivery [partner.example]         12  frozen\n");
}

TEST(ControlRenderTest, EmptyQueuesSayNothingIsQueued) {
  EXPECT_EQ(render_text(QueuesCommand{}, Response{}), "No queued messages.\n");
}

TEST(ControlRenderTest, QueuesJsonHasNumbersAndBooleans) {
  EXPECT_EQ(render_json(QueuesCommand{}, queues_response()),
            "{\"queues\":[{\"queue\":\"awaiting-directory-lookup\",\"next_hop\":\"\","
            "\"name\":\"Messages awaiting directory lookup\",\"messages\":1,\"frozen\":false},"
            "{\"queue\":\"remote-delivery\",\"next_hop\":\"partner.example\","
            "\"name\":\"Remote delivery [partner.example]\",\"messages\":12,\"frozen\":true}]}\n");
}

TEST(ControlRenderTest, ListShowsTheNullSenderAsAngleBrackets) {
  Response r;
  r.records.push_back(Record{"message", {}}
                          .add("id", kId.str())
                          .add("sender", "")
                          .add("recipients", "2")
                          .add("size", "512")
                          .add("arrival", "2026-11-29T05:30:00Z")
                          .add("frozen", "no"));
  EXPECT_EQ(render_text(ListCommand{}, r),
            "QUEUE ID                  SIZE  ARRIVAL               RCPTS  STATE  SENDER\n"
            "0001A2B3C4D5E600010ABCDE   512  2026-11-29T05:30:00Z      2         <>\n");
}

TEST(ControlRenderTest, ShowPrintsMessagePropertiesThenEachRecipient) {
  EXPECT_EQ(render_text(ShowCommand{kId}, show_response()),
            "Queue id:       0001A2B3C4D5E600010ABCDE\n"
            "Queue:          remote-delivery\n"
            "State:          frozen (4.3.2)\n"
            "Sender:         <>\n"
            "Size:           2048 octets\n"
            "Arrival:        2026-11-29T05:30:00Z\n"
            "Auth:           anonymous\n"
            "TLS:            TLSv1.3 TLS_AES_256_GCM_SHA384\n"
            "Hop count:      2\n"
            "Recipients:\n"
            "  bob@partner.example\n"
            "    State:          retry\n"
            "    Status:         451 4.4.1\n"
            "    Diagnostic:     connection refused \"x\"\n"
            "    Next hop:       partner.example\n"
            "    Attempts:       3\n"
            "    Next attempt:   2026-11-29T05:40:00Z\n");
}

TEST(ControlRenderTest, ShowJsonNestsTheRecipients) {
  EXPECT_EQ(render_json(ShowCommand{kId}, show_response()),
            "{\"message\":{\"id\":\"0001A2B3C4D5E600010ABCDE\",\"queue\":\"remote-delivery\","
            "\"sender\":\"\",\"size\":2048,\"arrival\":\"2026-11-29T05:30:00Z\",\"auth\":\"\","
            "\"tls\":\"TLSv1.3 TLS_AES_256_GCM_SHA384\",\"hop_count\":2,\"frozen\":true,"
            "\"recipients\":[{\"address\":\"bob@partner.example\",\"state\":\"retry\","
            "\"status\":\"4.4.1\",\"reply_code\":451,\"diagnostic\":\"connection refused \\\"x\\\"\","
            "\"next_hop\":\"partner.example\",\"attempts\":3,\"next_attempt\":\"2026-11-29T05:40:00Z\"}]}}\n");
}

TEST(ControlRenderTest, EmptyReplyCodeIsJsonNull) {
  Response r;
  r.records.push_back(Record{"recipient", {}}.add("reply_code", ""));
  EXPECT_EQ(render_json(ShowCommand{kId}, r), "{\"recipients\":[{\"reply_code\":null}]}\n");
}

TEST(ControlRenderTest, ActionsConfirmInAPlainSentence) {
  EXPECT_EQ(render_text(FreezeCommand{kId, true}, Response{}), "Message 0001A2B3C4D5E600010ABCDE frozen.\n");
  EXPECT_EQ(render_text(FreezeCommand{kId, false}, Response{}), "Message 0001A2B3C4D5E600010ABCDE thawed.\n");
  EXPECT_EQ(render_text(FreezeQueueCommand{{envelope::REMOTE_DELIVERY, "Military"}, true}, Response{}),
            "Queue Remote delivery [Military] frozen.\n");
  EXPECT_EQ(render_text(DeleteCommand{kId, true}, Response{}),
            "Message 0001A2B3C4D5E600010ABCDE deleted, non-delivery report queued.\n");
}

TEST(ControlRenderTest, RetryOnAFrozenMessageSaysItStaysFrozen) {
  Response frozen;
  frozen.records.push_back(Record{"retried", {}}.add("frozen", "yes"));
  EXPECT_EQ(render_text(RetryCommand{kId}, frozen),
            "Message 0001A2B3C4D5E600010ABCDE is frozen: it stays frozen and is not attempted until it is thawed "
            "(gatewayctl thaw 0001A2B3C4D5E600010ABCDE).\n");
  EXPECT_EQ(render_json(RetryCommand{kId}, frozen), "{\"ok\":true,\"frozen\":true}\n");
  Response due;
  due.records.push_back(Record{"retried", {}}.add("frozen", "no"));
  EXPECT_EQ(render_text(RetryCommand{kId}, due), "Message 0001A2B3C4D5E600010ABCDE is due for delivery now.\n");
}

TEST(ControlRenderTest, ShowSaysRetryWhenEveryRecipientLeftWaits) {
  auto response = show_response();
  response.records[0].fields.back().second = "no";  // not frozen
  EXPECT_NE(render_text(ShowCommand{kId}, response).find("State:          retry\n"), std::string::npos);
  response.records.push_back(Record{"recipient", {}}.add("address", "new@example.com").add("state", "pending"));
  EXPECT_NE(render_text(ShowCommand{kId}, response).find("State:          active\n"), std::string::npos);
}

TEST(ControlRenderTest, ListOfEveryQueueNamesEachMessagesQueue) {
  Response r;
  r.records.push_back(Record{"message", {}}
                          .add("id", kId.str())
                          .add("queue", "remote-delivery")
                          .add("next_hop", "partner.example")
                          .add("sender", "a@example.com")
                          .add("recipients", "1")
                          .add("size", "10")
                          .add("arrival", "2026-11-29T05:30:00Z")
                          .add("frozen", "no"));
  EXPECT_EQ(render_all_queues(r),
            "QUEUE ID                  QUEUE                              SIZE  ARRIVAL               RCPTS  STATE  SENDER\n"
            "0001A2B3C4D5E600010ABCDE  Remote delivery [partner.example]    10  2026-11-29T05:30:00Z      1         <a@example.com>\n"
            "1 message(s).\n");
  EXPECT_EQ(render_all_queues(Response{}), "All queues are empty.\n");
}

TEST(ControlRenderTest, ExplainReadsAsAnAnswer) {
  Response r;
  r.records.push_back(Record{"explain", {}}
                          .add("address", "bob@example.com")
                          .add("sender", "")
                          .add("virtual_server", "1")
                          .add("domain", "example.com")
                          .add("domain_class", "authoritative")
                          .add("rcpt_reply", "250 2.1.5 Recipient OK")
                          .add("rcpt_assumption", ""));
  r.records.push_back(Record{"search", {}}
                          .add("n", "1")
                          .add("base", "DC=example,DC=com")
                          .add("scope", "subtree")
                          .add("filter", "(mail=bob@example.com)")
                          .add("entries", "1")
                          .add("duration_us", "812")
                          .add("result", "ok"));
  r.records.push_back(Record{"object", {}}
                          .add("address", "bob@example.com")
                          .add("dn", "CN=Bob,DC=example,DC=com")
                          .add("class", "user")
                          .add("matched", "mail"));
  r.records.push_back(Record{"recipient", {}}
                          .add("address", "bob@example.com")
                          .add("depth", "0")
                          .add("state", "resolved")
                          .add("resolution", "mailbox")
                          .add("dn", "CN=Bob,DC=example,DC=com")
                          .add("target", "home server mbx1.example.com"));
  r.records.push_back(Record{"route", {}}
                          .add("address", "bob@example.com")
                          .add("next_hop", "mbx1.example.com")
                          .add("kind", "mailbox server")
                          .add("detail", "LMTP to 127.0.0.1:24"));
  const ExplainCommand command{"bob@example.com", "", ""};
  EXPECT_EQ(render_text(command, r),
            "Address:        bob@example.com\n"
            "Sender:         <>\n"
            "Virtual server: 1\n"
            "Domain:         example.com (authoritative)\n"
            "RCPT TO reply:  250 2.1.5 Recipient OK\n"
            "Directory searches:\n"
            "  1. base=\"DC=example,DC=com\" scope=subtree filter=(mail=bob@example.com)\n"
            "     -> ok, 1 entry, 812 us\n"
            "Found:          CN=Bob,DC=example,DC=com (user), matched mail\n"
            "Recipients:\n"
            "  bob@example.com: mailbox, CN=Bob,DC=example,DC=com, home server mbx1.example.com\n"
            "    route: mailbox server mbx1.example.com (LMTP to 127.0.0.1:24)\n");
  const auto json = render_json(command, r);
  EXPECT_EQ(json.rfind("{\"explain\":{\"address\":\"bob@example.com\"", 0), 0u) << json;
  EXPECT_NE(json.find("\"searches\":[{\"n\":1,\"base\":\"DC=example,DC=com\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"entries\":1,\"duration_us\":812"), std::string::npos) << json;
  EXPECT_NE(json.find("\"routes\":[{\"address\":\"bob@example.com\""), std::string::npos) << json;
}

TEST(ControlRenderTest, EtrnSaysWhenNoMailIsHeldForTheDomain) {
  Response unknown;
  unknown.records.push_back(Record{"released", {}}.add("known_domain", "no").add("messages", "0"));
  EXPECT_EQ(render_text(EtrnCommand{"x.example"}, unknown), "No mail is held for x.example.\n");
  EXPECT_EQ(render_json(EtrnCommand{"x.example"}, unknown), "{\"ok\":true,\"known_domain\":false,\"messages\":0}\n");
  Response known;
  known.records.push_back(Record{"released", {}}.add("known_domain", "yes").add("messages", "4"));
  EXPECT_EQ(render_text(EtrnCommand{"partner.example"}, known), "4 message(s) for partner.example released.\n");
}

TEST(ControlRenderTest, ActionJsonIsOkTrue) {
  EXPECT_EQ(render_json(RetryCommand{kId}, Response{}), "{\"ok\":true}\n");
}

TEST(ControlRenderTest, JsonStringsEscapeQuotesBackslashesAndControls) {
  EXPECT_EQ(json_string("a\"b\\c\nd\x01\xc3\xa9"), "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"");
}

}  // namespace
}  // namespace gw::control
