// ControlServer over a real Unix socket, a real spool and a real named-queue
// index in a temporary directory: requests from the blocking client reach the
// QueueAdmin and their effects are on disk; the socket file is private, a stale
// one is replaced, a live one is never taken over, and stop() removes it.
#include "gateway/control/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include "gateway/control/control_client.h"
#include "tests/unit/gateway/control/spool_queue_admin.h"
#include "tests/unit/gateway/queue/spool_test_support.h"

namespace gw::control {
namespace {

using queue::test::TempDir;

class ControlServerTest : public ::testing::Test {
 protected:
  ControlServerTest()
      : spool_(queue::SpoolOptions{.root = dir_.path() / "spool", .threads = 2, .fs = nullptr,
                                   .sync = queue::SyncMode::PerFile}),
        admin_(io_.get_executor(), spool_, index_),
        socket_path_(dir_.path() / "control.sock") {}

  ~ControlServerTest() override {
    if (server_) server_->stop();
    work_.reset();
    if (loop_.joinable()) loop_.join();
  }

  void start_server() {
    server_ = std::make_unique<ControlServer>(admin_, socket_path_);
    server_->start();
    loop_ = std::thread([this] { io_.run(); });
  }

  template <typename T>
  T on_loop(asio::awaitable<T> op) {
    return asio::co_spawn(io_, std::move(op), asio::use_future).get();
  }

  // Queues a message for bob@partner.example and files it, with `rcpt_state`,
  // in Remote delivery [partner.example].
  QueueId queue_remote_message(const std::string& sender = "alice@example.com") {
    if (!loop_.joinable()) throw std::logic_error("start the server first");
    auto envelope = queue::test::sample_envelope(sender);
    envelope.mutable_recipients(0)->set_address("bob@partner.example");
    envelope.set_client_port(40112);
    auto id = on_loop(queue::test::spool_message(spool_, std::move(envelope), queue::test::sample_body(300)));
    if (!id) throw std::runtime_error(id.error().message());
    auto stored = on_loop(spool_.load(*id));
    stored->set_queue(envelope::REMOTE_DELIVERY);
    auto* rcpt = stored->mutable_recipients(0);
    rcpt->set_state(envelope::RETRY);
    rcpt->set_next_hop("partner.example");
    rcpt->set_status("4.4.1");
    rcpt->set_reply_code(451);
    rcpt->set_diagnostic("connection refused");
    rcpt->set_attempts(2);
    rcpt->set_next_attempt_unix(4'000'000'000);
    const QueueId stored_id = *id;
    if (!on_loop(spool_.update(stored_id, *stored))) throw std::runtime_error("update failed");
    index_.upsert(queue::QueuedMessage::from_envelope(*stored));
    return *id;
  }

  Response ok_call(const Request& request) {
    auto response = call(socket_path_, request);
    EXPECT_TRUE(response) << format_request(request) << ": " << (response ? "" : response.error().message());
    if (!response) return Response::failure("call failed");
    EXPECT_TRUE(response->ok) << format_request(request) << ": " << response->error;
    return *response;
  }

  envelope::Envelope stored(const QueueId& id) {
    auto envelope = on_loop(spool_.load(id));
    if (!envelope) throw std::runtime_error(envelope.error().message());
    return *envelope;
  }

  TempDir dir_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  queue::Spool spool_;
  queue::NamedQueues index_;
  test::SpoolQueueAdmin admin_;
  std::filesystem::path socket_path_;
  std::unique_ptr<ControlServer> server_;
  std::thread loop_;
};

TEST_F(ControlServerTest, SocketFileIsReadableAndWritableByItsOwnerOnly) {
  start_server();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlServerTest, QueuesListsEachNamedQueueWithItsCount) {
  start_server();
  queue_remote_message();
  queue_remote_message();
  const Response response = ok_call(QueuesCommand{});
  ASSERT_EQ(response.records.size(), 1u);
  const Record& queue = response.records[0];
  EXPECT_EQ(queue.type, "queue");
  EXPECT_EQ(*queue.find("queue"), "remote-delivery");
  EXPECT_EQ(*queue.find("next_hop"), "partner.example");
  EXPECT_EQ(*queue.find("name"), "Remote delivery [partner.example]");
  EXPECT_EQ(*queue.find("messages"), "2");
  EXPECT_EQ(*queue.find("frozen"), "no");
}

TEST_F(ControlServerTest, ListReturnsTheOldestMessagesUpToTheLimit) {
  start_server();
  const QueueId first = queue_remote_message("a@example.com");
  queue_remote_message("b@example.com");
  queue_remote_message("c@example.com");
  const Response response = ok_call(ListCommand{{envelope::REMOTE_DELIVERY, "partner.example"}, 2});
  ASSERT_EQ(response.records.size(), 2u);
  EXPECT_EQ(*response.records[0].find("id"), first.str());
  EXPECT_EQ(*response.records[0].find("sender"), "a@example.com");
  EXPECT_EQ(*response.records[1].find("sender"), "b@example.com");
  EXPECT_EQ(*response.records[0].find("size"), "300");
}

TEST_F(ControlServerTest, ShowGivesMessagePropertiesAndRecipientState) {
  start_server();
  const QueueId id = queue_remote_message();
  const Response response = ok_call(ShowCommand{id});
  ASSERT_EQ(response.records.size(), 2u);
  const Record& message = response.records[0];
  EXPECT_EQ(*message.find("id"), id.str());
  EXPECT_EQ(*message.find("queue"), "remote-delivery");
  EXPECT_EQ(*message.find("sender"), "alice@example.com");
  EXPECT_EQ(*message.find("client"), "127.0.0.1:40112");
  EXPECT_EQ(*message.find("helo"), "client.example.net");
  EXPECT_EQ(*message.find("frozen"), "no");
  const Record& rcpt = response.records[1];
  EXPECT_EQ(rcpt.type, "recipient");
  EXPECT_EQ(*rcpt.find("address"), "bob@partner.example");
  EXPECT_EQ(*rcpt.find("state"), "retry");
  EXPECT_EQ(*rcpt.find("status"), "4.4.1");
  EXPECT_EQ(*rcpt.find("reply_code"), "451");
  EXPECT_EQ(*rcpt.find("diagnostic"), "connection refused");
  EXPECT_EQ(*rcpt.find("next_hop"), "partner.example");
  EXPECT_EQ(*rcpt.find("attempts"), "2");
  EXPECT_EQ(*rcpt.find("next_attempt"), "2096-10-02T07:06:40Z");
}

TEST_F(ControlServerTest, ShowOfAnUnknownIdIsAnError) {
  start_server();
  const QueueId missing = *QueueId::parse("0001A2B3C4D5E600010ABCDE");
  auto response = call(socket_path_, ShowCommand{missing});
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->error, "no message 0001A2B3C4D5E600010ABCDE in the queue");
}

TEST_F(ControlServerTest, FreezeIsWrittenToTheEnvelopeOnDiskAndThawClearsIt) {
  start_server();
  const QueueId id = queue_remote_message();
  ok_call(FreezeCommand{id, true});
  EXPECT_TRUE(stored(id).frozen());
  EXPECT_TRUE(index_.find(id)->frozen);
  ok_call(FreezeCommand{id, false});
  EXPECT_FALSE(stored(id).frozen());
}

TEST_F(ControlServerTest, FrozenQueueIsListedAsFrozen) {
  start_server();
  queue_remote_message();
  ok_call(FreezeQueueCommand{{envelope::REMOTE_DELIVERY, "partner.example"}, true});
  const Response response = ok_call(QueuesCommand{});
  ASSERT_EQ(response.records.size(), 1u);
  EXPECT_EQ(*response.records[0].find("frozen"), "yes");
}

TEST_F(ControlServerTest, RetryQueueReportsHowManyMessagesBecameDue) {
  start_server();
  const QueueId id = queue_remote_message();
  queue_remote_message();
  const Response response = ok_call(RetryQueueCommand{{envelope::REMOTE_DELIVERY, "partner.example"}});
  ASSERT_EQ(response.records.size(), 1u);
  EXPECT_EQ(response.records[0].type, "retried");
  EXPECT_EQ(*response.records[0].find("messages"), "2");
  EXPECT_EQ(stored(id).recipients(0).next_attempt_unix(), 0);
}

TEST_F(ControlServerTest, DeleteRemovesTheMessageFromTheSpool) {
  start_server();
  const QueueId id = queue_remote_message();
  ok_call(DeleteCommand{id, false});
  EXPECT_FALSE(on_loop(spool_.load(id)).has_value());
  EXPECT_EQ(index_.size(), 0u);
}

TEST_F(ControlServerTest, DeleteWithNdrQueuesAReportToTheSender) {
  start_server();
  const QueueId id = queue_remote_message("alice@example.com");
  ok_call(DeleteCommand{id, true});
  ASSERT_EQ(index_.size(), 1u);
  const auto remaining = index_.list(envelope::AWAITING_DIRECTORY_LOOKUP, 10);
  ASSERT_EQ(remaining.size(), 1u);
  EXPECT_EQ(remaining[0].sender, "");
  EXPECT_EQ(stored(remaining[0].id).recipients(0).address(), "alice@example.com");
}

TEST_F(ControlServerTest, EtrnReleasesTheDomainsMessages) {
  start_server();
  queue_remote_message();
  const Response known = ok_call(EtrnCommand{"partner.example"});
  EXPECT_EQ(*known.records.at(0).find("known_domain"), "yes");
  EXPECT_EQ(*known.records.at(0).find("messages"), "1");
  const Response unknown = ok_call(EtrnCommand{"elsewhere.example"});
  EXPECT_EQ(*unknown.records.at(0).find("known_domain"), "no");
}

// Sends raw bytes on one connection and reads until `responses` terminators.
std::string raw_exchange(const std::filesystem::path& path, const std::string& bytes, int responses) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string text;
  char chunk[4096];
  auto terminators = [&] {
    int n = 0;
    for (std::size_t pos = 0; (pos = text.find("\n.\n", pos)) != std::string::npos; pos += 3) ++n;
    return n;
  };
  while (terminators() < responses) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

TEST_F(ControlServerTest, OneConnectionCarriesSeveralRequests) {
  start_server();
  EXPECT_EQ(raw_exchange(socket_path_, "queues\r\nflush\nqueues\n", 3),
            "ok\n.\nerror unknown command \"flush\"\n.\nok\n.\n");
}

TEST_F(ControlServerTest, OverlongRequestLineIsRefusedAndTheConnectionClosed) {
  start_server();
  EXPECT_EQ(raw_exchange(socket_path_, std::string(kMaxRequestLine + 10, 'a') + "\n", 1),
            "error request line too long\n.\n");
}

TEST_F(ControlServerTest, StaleSocketFileIsReplacedAtStart) {
  {
    // A socket bound and closed without unlinking: what a crashed gateway leaves.
    asio::io_context other;
    asio::local::stream_protocol::acceptor stale(other, asio::local::stream_protocol::endpoint(socket_path_.string()));
  }
  ASSERT_TRUE(std::filesystem::is_socket(socket_path_));
  start_server();
  EXPECT_TRUE(ok_call(QueuesCommand{}).ok);
}

TEST_F(ControlServerTest, SocketOfARunningGatewayIsNotTakenOver) {
  start_server();
  ControlServer second(admin_, socket_path_);
  EXPECT_THROW(second.start(), std::runtime_error);
  EXPECT_TRUE(ok_call(QueuesCommand{}).ok);
}

TEST_F(ControlServerTest, RegularFileInThePlaceOfTheSocketIsLeftAlone) {
  std::ofstream(socket_path_) << "not a socket";
  ControlServer server(admin_, socket_path_);
  EXPECT_THROW(server.start(), std::runtime_error);
  EXPECT_TRUE(std::filesystem::is_regular_file(socket_path_));
}

TEST_F(ControlServerTest, StopRemovesTheSocketFileAndRefusesNewConnections) {
  start_server();
  server_->stop();
  EXPECT_FALSE(std::filesystem::exists(socket_path_));
  auto response = call(socket_path_, QueuesCommand{});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ControlErrc::CannotConnect);
}

TEST_F(ControlServerTest, ClientWithoutAGatewayCannotConnect) {
  auto response = call(socket_path_, QueuesCommand{});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ControlErrc::CannotConnect);
}

}  // namespace
}  // namespace gw::control
