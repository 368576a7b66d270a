// Signature V4 against the examples AWS publishes: the S3 API Reference's
// "Authenticating Requests: Using the Authorization Header" examples (GET
// object, PUT object, GET bucket lifecycle, list objects; 2013-05-24,
// examplebucket) and the General Reference's IAM ListUsers example
// (2015-08-30). The S3 values were also reproduced with botocore.
#include "backup/sigv4.h"

#include <gtest/gtest.h>

#include "backup/codec.h"

namespace rq::backup::sigv4 {
namespace {

const Credentials kS3Example{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kS3Date = "20130524T000000Z";

Request S3Get(std::string path, std::vector<std::pair<std::string, std::string>> query) {
  Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  r.payload_sha256_hex = kEmptyPayloadSha256;
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", kS3Date},
               {"x-amz-content-sha256", kEmptyPayloadSha256}};
  return r;
}

TEST(SigV4Test, S3GetObjectExample) {
  Request r = S3Get("/test.txt", {});
  r.headers.emplace_back("Range", "bytes=0-9");
  EXPECT_EQ(CanonicalRequest(r),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(StringToSign(kS3Date, "us-east-1", "s3", CanonicalRequest(r)),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(Authorization(r, kS3Example, kS3Date, "us-east-1", "s3"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, S3PutObjectExample) {
  Request r;
  r.method = "PUT";
  r.path = "/test%24file.text";  // "/test$file.text"
  r.payload_sha256_hex = HexEncode(Sha256("Welcome to Amazon S3."));
  EXPECT_EQ(r.payload_sha256_hex, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", kS3Date},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", r.payload_sha256_hex}};
  EXPECT_EQ(SignedHeaders(r), "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(Signature(r, kS3Example, kS3Date, "us-east-1", "s3"),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, S3GetBucketLifecycleExample) {
  // A query parameter without a value signs as "lifecycle=".
  Request r = S3Get("/", {{"lifecycle", ""}});
  EXPECT_EQ(CanonicalQuery(r.query), "lifecycle=");
  EXPECT_EQ(Signature(r, kS3Example, kS3Date, "us-east-1", "s3"),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, S3ListObjectsExampleSortsTheQuery) {
  Request r = S3Get("/", {{"prefix", "J"}, {"max-keys", "2"}});
  EXPECT_EQ(CanonicalQuery(r.query), "max-keys=2&prefix=J");
  EXPECT_EQ(Signature(r, kS3Example, kS3Date, "us-east-1", "s3"),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, IamListUsersExampleAndSigningKey) {
  const Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  EXPECT_EQ(HexEncode(SigningKey(credentials.secret_access_key, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}};
  r.payload_sha256_hex = kEmptyPayloadSha256;
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"Host", "iam.amazonaws.com"},
               {"X-Amz-Date", "20150830T123600Z"}};
  EXPECT_EQ(HexEncode(Sha256(CanonicalRequest(r))), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(Authorization(r, credentials, "20150830T123600Z", "us-east-1", "iam"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request,"
            "SignedHeaders=content-type;host;x-amz-date,"
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndRepeatsJoined) {
  Request r = S3Get("/k", {});
  r.headers.emplace_back("X-Amz-Meta-A", "  two   words ");
  r.headers.emplace_back("x-amz-meta-a", "second");
  std::string canonical = CanonicalRequest(r);
  EXPECT_NE(canonical.find("\nx-amz-meta-a:two words,second\n"), std::string::npos) << canonical;
}

TEST(SigV4Test, QueryValuesArePercentEncoded) {
  EXPECT_EQ(CanonicalQuery({{"uploadId", "a/b+c="}, {"partNumber", "1"}}), "partNumber=1&uploadId=a%2Fb%2Bc%3D");
}

TEST(SigV4Test, AmzDateIsUtc) {
  auto t = std::chrono::system_clock::from_time_t(1369353600);  // 2013-05-24T00:00:00Z
  EXPECT_EQ(AmzDate(t), "20130524T000000Z");
  EXPECT_EQ(DateStamp(AmzDate(t)), "20130524");
}

}  // namespace
}  // namespace rq::backup::sigv4
