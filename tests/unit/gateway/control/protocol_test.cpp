// The control protocol: request lines to values and back, queue arguments,
// response framing and value escaping.
#include "gateway/control/protocol.h"

#include <gtest/gtest.h>

namespace gw::control {
namespace {

const std::string kId = "0001A2B3C4D5E6F70001ABCDEF";
const QueueId kQueueId = *QueueId::parse("0001A2B3C4D5E600010ABCDE");

template <typename T>
T parsed_as(std::string_view line) {
  auto request = parse_request(line);
  EXPECT_TRUE(request.has_value()) << line << ": " << (request ? "" : request.error().detail);
  if (!request) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*request)) << line;
  return std::holds_alternative<T>(*request) ? std::get<T>(*request) : T{};
}

std::string error_of(std::string_view line) {
  auto request = parse_request(line);
  EXPECT_FALSE(request.has_value()) << line;
  if (request) return {};
  EXPECT_EQ(request.error().code, ControlErrc::BadRequest);
  return request.error().detail;
}

TEST(ControlProtocolTest, QueuesTakesNoArguments) {
  parsed_as<QueuesCommand>("queues");
  EXPECT_EQ(error_of("queues remote-delivery"), "usage: queues");
}

TEST(ControlProtocolTest, ListDefaultsToTheFirstHundredMessages) {
  const auto list = parsed_as<ListCommand>("list remote-delivery");
  EXPECT_EQ(list.key.queue, envelope::REMOTE_DELIVERY);
  EXPECT_EQ(list.key.next_hop, "");
  EXPECT_EQ(list.limit, 100u);
}

TEST(ControlProtocolTest, ListTakesANextHopAndALimit) {
  const auto list = parsed_as<ListCommand>("list remote-delivery partner.example --limit 5");
  EXPECT_EQ(list.key.queue, envelope::REMOTE_DELIVERY);
  EXPECT_EQ(list.key.next_hop, "partner.example");
  EXPECT_EQ(list.limit, 5u);
}

TEST(ControlProtocolTest, ListLimitMustBeAPositiveNumber) {
  EXPECT_EQ(error_of("list remote-delivery --limit 0"), "--limit wants a positive number, not \"0\"");
  EXPECT_EQ(error_of("list remote-delivery --limit x"), "--limit wants a positive number, not \"x\"");
  EXPECT_EQ(error_of("list remote-delivery --limit"), "usage: list <queue> [<next-hop>] [--limit N]");
}

TEST(ControlProtocolTest, QueueIsNamedByItsDisplayNameCaseInsensitively) {
  const auto list = parsed_as<ListCommand>("list \"messages awaiting DIRECTORY lookup\"");
  EXPECT_EQ(list.key.queue, envelope::AWAITING_DIRECTORY_LOOKUP);
}

TEST(ControlProtocolTest, DisplayNameMayCarryTheNextHopInBrackets) {
  const auto freeze = parsed_as<FreezeQueueCommand>("freeze-queue \"Remote delivery [Military]\"");
  EXPECT_EQ(freeze.key.queue, envelope::REMOTE_DELIVERY);
  EXPECT_EQ(freeze.key.next_hop, "Military");
  EXPECT_TRUE(freeze.frozen);
}

TEST(ControlProtocolTest, NextHopGivenTwiceIsRefused) {
  EXPECT_EQ(error_of("list \"Remote delivery [a.example]\" b.example"), "the next hop is given twice");
}

TEST(ControlProtocolTest, UnknownQueueIsRefusedByName) {
  EXPECT_EQ(error_of("list remote"), "unknown queue \"remote\"");
  EXPECT_EQ(error_of("list queue-unspecified"), "unknown queue \"queue-unspecified\"");
}

TEST(ControlProtocolTest, EveryQueueHasAnArgumentNameThatParsesBack) {
  for (auto queue : {envelope::PRE_SUBMISSION, envelope::AWAITING_DIRECTORY_LOOKUP,
                     envelope::WAITING_TO_BE_ROUTED, envelope::LOCAL_DELIVERY, envelope::REMOTE_DELIVERY,
                     envelope::FINAL_DESTINATION_UNREACHABLE, envelope::BADMAIL}) {
    auto key = parse_queue_key(queue_argument(queue));
    ASSERT_TRUE(key) << queue_argument(queue);
    EXPECT_EQ(key->queue, queue);
  }
  EXPECT_EQ(queue_argument(envelope::FINAL_DESTINATION_UNREACHABLE), "final-destination-unreachable");
}

TEST(ControlProtocolTest, MessageCommandsTakeOneQueueId) {
  EXPECT_EQ(parsed_as<ShowCommand>("show " + kQueueId.str()).id, kQueueId);
  EXPECT_EQ(parsed_as<RetryCommand>("retry " + kQueueId.str()).id, kQueueId);
  EXPECT_TRUE(parsed_as<FreezeCommand>("freeze " + kQueueId.str()).frozen);
  EXPECT_FALSE(parsed_as<FreezeCommand>("thaw " + kQueueId.str()).frozen);
  EXPECT_EQ(error_of("show"), "usage: show <queue-id>");
}

TEST(ControlProtocolTest, QueueIdsAreAcceptedInLowerCase) {
  std::string lower = kQueueId.str();
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(parsed_as<ShowCommand>("show " + lower).id, kQueueId);
}

TEST(ControlProtocolTest, MalformedQueueIdIsRefused) {
  EXPECT_EQ(error_of("freeze 1234"), "\"1234\" is not a queue id (24 hexadecimal digits)");
  EXPECT_EQ(error_of("freeze " + kId), "\"" + kId + "\" is not a queue id (24 hexadecimal digits)");
}

TEST(ControlProtocolTest, DeleteSendsAReportOnlyWithNdr) {
  EXPECT_FALSE(parsed_as<DeleteCommand>("delete " + kQueueId.str()).send_ndr);
  EXPECT_TRUE(parsed_as<DeleteCommand>("delete " + kQueueId.str() + " --ndr").send_ndr);
  EXPECT_TRUE(parsed_as<DeleteCommand>("delete --ndr " + kQueueId.str()).send_ndr);
}

TEST(ControlProtocolTest, RetryQueueAndThawQueueTakeAQueue) {
  const auto retry = parsed_as<RetryQueueCommand>("retry-queue final-destination-unreachable");
  EXPECT_EQ(retry.key.queue, envelope::FINAL_DESTINATION_UNREACHABLE);
  const auto thaw = parsed_as<FreezeQueueCommand>("thaw-queue remote-delivery partner.example");
  EXPECT_FALSE(thaw.frozen);
  EXPECT_EQ(thaw.key.next_hop, "partner.example");
}

TEST(ControlProtocolTest, EtrnTakesOneDomain) {
  EXPECT_EQ(parsed_as<EtrnCommand>("etrn partner.example").domain, "partner.example");
  EXPECT_EQ(error_of("etrn"), "usage: etrn <domain>");
}

TEST(ControlProtocolTest, ExplainTakesAnAddressAndOptionallyASenderAndAVirtualServer) {
  const auto explain = parsed_as<ExplainCommand>("explain bob@example.com --from alice@example.com --virtual-server 2");
  EXPECT_EQ(explain, (ExplainCommand{"bob@example.com", "alice@example.com", "2"}));
  EXPECT_EQ(parsed_as<ExplainCommand>("explain <bob@example.com>").address, "<bob@example.com>");
  EXPECT_TRUE(parsed_as<ExplainCommand>("explain bob@example.com --from a@example.com --authenticated").authenticated);
  const std::string usage = "usage: explain <address> [--from <sender>] [--authenticated] [--virtual-server <id>]";
  EXPECT_EQ(error_of("explain"), usage);
  EXPECT_EQ(error_of("explain a@b c@d"), usage);
  EXPECT_EQ(error_of("explain a@b --from"), usage);
}

TEST(ControlProtocolTest, CrlfLineEndIsAccepted) { parsed_as<QueuesCommand>("queues\r"); }

TEST(ControlProtocolTest, UnknownAndEmptyRequestsAreRefused) {
  EXPECT_EQ(error_of("flush"), "unknown command \"flush\"");
  EXPECT_EQ(error_of("   "), "empty request");
}

TEST(ControlProtocolTest, UnterminatedQuoteIsRefused) {
  EXPECT_EQ(error_of("list \"Remote delivery"), "unterminated quoted argument");
}

TEST(ControlProtocolTest, ControlCharactersAndOverlongLinesAreRefused) {
  EXPECT_EQ(error_of(std::string("etrn a\x01" "b")), "control characters in the request");
  EXPECT_EQ(error_of("etrn " + std::string(kMaxRequestLine, 'a')), "request line too long");
}

TEST(ControlProtocolTest, FormattedRequestsParseBackToThemselves) {
  const std::vector<Request> requests = {
      QueuesCommand{},
      ListCommand{{envelope::REMOTE_DELIVERY, "Shared Namespace"}, 100},
      ListCommand{{envelope::LOCAL_DELIVERY, ""}, 7},
      ShowCommand{kQueueId},
      FreezeCommand{kQueueId, true},
      FreezeCommand{kQueueId, false},
      FreezeQueueCommand{{envelope::REMOTE_DELIVERY, "quote\"and\\slash"}, true},
      FreezeQueueCommand{{envelope::FINAL_DESTINATION_UNREACHABLE, ""}, false},
      RetryCommand{kQueueId},
      RetryQueueCommand{{envelope::REMOTE_DELIVERY, "partner.example"}},
      DeleteCommand{kQueueId, true},
      DeleteCommand{kQueueId, false},
      EtrnCommand{"partner.example"},
      ExplainCommand{"bob@example.com", "", ""},
      ExplainCommand{"j\xc3\xb6rg@example.com", "alice@example.com", "2", true},
  };
  for (const auto& request : requests) {
    const std::string line = format_request(request);
    auto back = parse_request(line);
    ASSERT_TRUE(back) << line << ": " << back.error().detail;
    EXPECT_EQ(*back, request) << line;
  }
}

TEST(ControlProtocolTest, ResponseEndsWithTheTerminatorLine) {
  Response response;
  response.records.push_back(Record{"queue", {}}.add("messages", "3"));
  EXPECT_EQ(format_response(response), "ok\nqueue\tmessages=3\n.\n");
  EXPECT_EQ(format_response(Response::failure("no such\nthing")), "error no such thing\n.\n");
}

TEST(ControlProtocolTest, ValuesWithTabsNewlinesAndControlOctetsRoundTrip) {
  Response response;
  const std::string nasty = "a\tb\nc\r\\d\x01.\x7f=e";
  response.records.push_back(Record{"recipient", {}}.add("diagnostic", nasty).add("empty", ""));
  const std::string text = format_response(response);
  EXPECT_EQ(text, "ok\nrecipient\tdiagnostic=a\\tb\\nc\\r\\\\d\\x01.\\x7f=e\tempty=\n.\n");
  auto back = parse_response(text);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(*back, response);
}

TEST(ControlProtocolTest, RecordFindReturnsTheFirstValueOfAKey) {
  Record record{"message", {}};
  record.add("id", "X").add("sender", "");
  ASSERT_NE(record.find("sender"), nullptr);
  EXPECT_EQ(*record.find("sender"), "");
  EXPECT_EQ(record.find("size"), nullptr);
}

TEST(ControlProtocolTest, ErrorResponseParsesWithItsText) {
  auto back = parse_response("error no message X in the queue\r\n.\r\n");
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->ok);
  EXPECT_EQ(back->error, "no message X in the queue");
}

TEST(ControlProtocolTest, MalformedResponsesAreRefused) {
  for (std::string_view text : {"ok\n", "ok\nqueue\n", "maybe\n.\n", "ok\nqueue\tmessages\n.\n",
                                "ok\n\tmessages=1\n.\n", "ok\n.\nqueue\n.\n", "ok\n.\nextra"}) {
    auto back = parse_response(text);
    ASSERT_FALSE(back) << text;
    EXPECT_EQ(back.error().code, ControlErrc::BadResponse) << text;
  }
}

TEST(ControlProtocolTest, ResponseIsCompleteOnlyAfterTheTerminatorLine) {
  EXPECT_FALSE(response_complete("ok\n"));
  EXPECT_FALSE(response_complete("ok\nqueue\tname=.\n"));
  EXPECT_TRUE(response_complete("ok\n.\n"));
  EXPECT_TRUE(response_complete("error x\r\n.\r\n"));
}

}  // namespace
}  // namespace gw::control
