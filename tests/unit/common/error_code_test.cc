// The wire's error codes: permissionDenied, added at the end, keeps the
// older codes' numbers and travels like them.
#include <gtest/gtest.h>

#include "proto/codec.h"

namespace jobd {
namespace {

TEST(ErrorCodeTest, PermissionDeniedRoundTripsAndOlderCodesKeepTheirNumbers) {
  EXPECT_EQ(static_cast<int>(ErrorCode::kInternal), 5);
  EXPECT_EQ(static_cast<int>(ErrorCode::kPermissionDenied), 6);
  for (ErrorCode code : {ErrorCode::kBadRequest, ErrorCode::kUnknownJob, ErrorCode::kInternal,
                         ErrorCode::kPermissionDenied}) {
    const std::string frame = EncodeReply(Reply{
        kProtocolVersion, 9, ErrorReply{code, "permission denied: job 7 belongs to another user"}});
    Result<Reply> reply = DecodeReply(frame);
    ASSERT_TRUE(reply.ok()) << reply.status().message();
    const auto& error = std::get<ErrorReply>(reply->body);
    EXPECT_EQ(error.code, code);
    EXPECT_EQ(error.message, "permission denied: job 7 belongs to another user");
  }
}

}  // namespace
}  // namespace jobd
