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
