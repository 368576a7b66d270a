#include "http/auth.h"

#include <gtest/gtest.h>

namespace rq::http {
namespace {

constexpr const char* kUsers = R"([
  {"username": "admin", "password": "secret", "perms": ["all"]},
  {"username": "reader", "password": "r", "perms": ["query", "status"]},
  {"username": "writer", "password": "w", "perms": ["execute"]},
  {"username": "*", "perms": ["ready"]}
])";

class AuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.LoadJson(kUsers).ok()); }
  AuthStore store_;
};

TEST_F(AuthStoreTest, AllPermissionGrantsEverything) {
  const Credentials admin{"admin", "secret"};
  for (const char* perm : {"execute", "query", "load", "backup", "status", "remove", "snapshot", "leader-ops", "ui"}) {
    EXPECT_TRUE(store_.IsAllowed(admin, perm)) << perm;
  }
}

TEST_F(AuthStoreTest, UserNeedsThePermissionAndTheExactPassword) {
  EXPECT_TRUE(store_.IsAllowed(Credentials{"reader", "r"}, "query"));
  EXPECT_FALSE(store_.IsAllowed(Credentials{"reader", "r"}, "execute"));
  EXPECT_FALSE(store_.IsAllowed(Credentials{"reader", "R"}, "query"));
  EXPECT_FALSE(store_.IsAllowed(Credentials{"reader", "r "}, "query"));
  EXPECT_FALSE(store_.IsAllowed(Credentials{"nobody", "r"}, "query"));
}

TEST_F(AuthStoreTest, StarUserAdmitsAnonymousRequests) {
  EXPECT_TRUE(store_.IsAllowed(std::nullopt, "ready"));
  EXPECT_TRUE(store_.IsAllowed(Credentials{"nobody", "x"}, "ready"));
  EXPECT_FALSE(store_.IsAllowed(std::nullopt, "query"));
}

TEST(AuthStoreDisabledTest, WithoutAFileEverythingIsAllowed) {
  AuthStore store;
  EXPECT_FALSE(store.enabled());
  EXPECT_TRUE(store.IsAllowed(std::nullopt, "execute"));
}

TEST(AuthStoreLoadTest, MalformedFilesAreRefused) {
  AuthStore store;
  EXPECT_FALSE(store.LoadJson("{").ok());
  EXPECT_FALSE(store.LoadJson(R"({"username":"a"})").ok());
  EXPECT_FALSE(store.LoadJson(R"([{"password":"a"}])").ok());
  EXPECT_FALSE(store.LoadJson(R"([{"username":"a","perms":"all"}])").ok());
  EXPECT_FALSE(store.enabled());
  EXPECT_TRUE(store.LoadFile("/nonexistent/auth.json").IsIOError());
}

TEST(BasicAuthTest, ParsesHeader) {
  auto credentials = ParseBasicAuth("Basic dXNlcjpwYTpzcw==");  // user:pa:ss
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->username, "user");
  EXPECT_EQ(credentials->password, "pa:ss");
  EXPECT_FALSE(ParseBasicAuth("").has_value());
  EXPECT_FALSE(ParseBasicAuth("Bearer abc").has_value());
  EXPECT_FALSE(ParseBasicAuth("Basic !!!!").has_value());
  EXPECT_FALSE(ParseBasicAuth("Basic dXNlcg==").has_value());  // no colon
}

}  // namespace
}  // namespace rq::http
