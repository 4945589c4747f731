#include "client/account_name.h"

#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(AccountNameTest, NamesTheAccountOfAUid) {
  // Whoever runs the tests, as getpwuid says (a container may have no entry).
  const passwd* self = getpwuid(getuid());
  if (self == nullptr) GTEST_SKIP() << "uid " << getuid() << " has no account here";
  EXPECT_EQ(AccountName(getuid()), std::string(self->pw_name));
}

TEST(AccountNameTest, AUidWithoutAnAccountHasNoName) {
  // (uid_t)-2: no system gives it an account, and it is not "none" either.
  EXPECT_EQ(AccountName(0xFFFFFFFE), std::nullopt);
}

}  // namespace
}  // namespace jobd
