// SpooledBody against a real spool in a temporary directory: the content comes
// back whole in bounded chunks, again after rewind, and a message that is not
// queued is NotFound before anything is read.
#include "gateway/qmgr/spooled_body.h"

#include <gtest/gtest.h>

#include "tests/unit/gateway/queue/spool_test_support.h"

namespace gw::qmgr {
namespace {

using queue::test::run;

asio::awaitable<Result<std::string>> drain(SpooledBody& body, std::size_t chunk) {
  std::string text, buffer(chunk, '\0');
  const std::span<char> into(buffer.data(), buffer.size());
  for (;;) {
    auto n = co_await body.read(into);
    if (!n) co_return std::unexpected(n.error());
    if (*n == 0) co_return text;
    text.append(buffer.data(), *n);
  }
}

class SpooledBodyTest : public ::testing::Test {
 protected:
  queue::test::TempDir dir_;
  asio::io_context io_;
  queue::Spool spool_{queue::SpoolOptions{.root = dir_.path(), .threads = 2}};
};

TEST_F(SpooledBodyTest, ReadsTheQueuedContentInBoundedChunksAndAgainAfterRewind) {
  const std::string content = queue::test::sample_body(200'000);
  const QueueId id = run(io_, queue::test::spool_message(spool_, queue::test::sample_envelope(), content)).value();
  auto body = run(io_, SpooledBody::open(spool_, id));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(run(io_, drain(**body, 4096)).value_or("?"), content);
  ASSERT_TRUE(run(io_, (*body)->rewind()));
  EXPECT_EQ(run(io_, drain(**body, 65536)).value_or("?"), content);
}

TEST_F(SpooledBodyTest, AMessageThatIsNotQueuedIsNotFound) {
  const QueueId id = run(io_, queue::test::spool_message(spool_, queue::test::sample_envelope(), "x\r\n")).value();
  ASSERT_TRUE(run(io_, spool_.remove(id)));
  auto body = run(io_, SpooledBody::open(spool_, id));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, queue::SpoolErrc::NotFound);
}

}  // namespace
}  // namespace gw::qmgr
