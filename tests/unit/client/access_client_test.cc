// The client's side of access control: jobd's "permission denied", and
// plain-text TCP refused before any connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_jobd.h"

namespace jobd {
namespace {

using ::testing::HasSubstr;

TEST(AccessClientTest, AnotherUsersJobIsPermissionDenied) {
  FakeJobd server([](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{})};
    }
    return {FakeJobd::ReplyTo(request,
                              ErrorReply{ErrorCode::kPermissionDenied,
                                         "permission denied: job 7 belongs to another user"})};
  });
  ClientOptions options;
  options.endpoint = server.endpoint();
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().message();
  Result<JobInfo> status = (*client)->Status(7);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(status.status().message(), "permission denied: job 7 belongs to another user");
  EXPECT_EQ((*client)->Cancel(7).status().code(), StatusCode::kPermissionDenied);
  Result<std::unique_ptr<ResultStream>> stream = (*client)->Watch(7, false);
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), StatusCode::kPermissionDenied);
}

TEST(AccessClientTest, PlainTextTcpIsRefusedWithoutConnecting) {
  ClientOptions options;
  options.endpoint = "tcp://127.0.0.1:1";  // nothing is asked of it
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("refusing to talk to tcp://127.0.0.1:1 "
                                                   "without CURVE"));
}

}  // namespace
}  // namespace jobd
