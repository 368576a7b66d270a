#include "base/shared_library.h"

#include <gtest/gtest.h>

namespace rq {
namespace {

TEST(SharedLibraryTest, ResolvesAFunctionOfALibraryLoadedAtRunTime) {
  Result<SharedLibrary> zlib = SharedLibrary::Open("libz.so.1");
  ASSERT_TRUE(zlib.ok()) << zlib.status().ToString();
  const char* (*version)() = nullptr;
  ASSERT_TRUE(zlib->Bind("zlibVersion", &version).ok());
  ASSERT_NE(version, nullptr);
  EXPECT_EQ(std::string(version()).substr(0, 2), "1.");
}

TEST(SharedLibraryTest, AMissingLibraryOrSymbolIsAnErrorNamingIt) {
  Result<SharedLibrary> missing = SharedLibrary::Open("librq-no-such-library.so.7");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(missing.status().message().find("librq-no-such-library.so.7"), std::string::npos);

  Result<SharedLibrary> zlib = SharedLibrary::Open("libz.so.1");
  ASSERT_TRUE(zlib.ok());
  void (*absent)() = nullptr;
  Status bound = zlib->Bind("rq_no_such_function", &absent);
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.message().find("libz.so.1 has no rq_no_such_function"), std::string::npos);
  EXPECT_EQ(absent, nullptr);
}

struct Zlib {
  const char* (*version)() = nullptr;
};
int zlib_binds = 0;
Result<Zlib> BindZlib() {
  ++zlib_binds;
  Result<SharedLibrary> library = SharedLibrary::Open("libz.so.1");
  if (!library.ok()) return library.status();
  Zlib z;
  RQ_RETURN_IF_ERROR(library->Bind("zlibVersion", &z.version));
  return z;
}

TEST(SharedLibraryTest, LoadOnceBindsAtTheFirstCallOnly) {
  Result<const Zlib*> first = LoadOnce<Zlib, BindZlib>();
  Result<const Zlib*> second = LoadOnce<Zlib, BindZlib>();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(zlib_binds, 1);
  EXPECT_NE((*first)->version(), nullptr);
}

}  // namespace
}  // namespace rq
