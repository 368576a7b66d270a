// libcurl under the S3 and GCS clients, CDC's webhook and the OTLP exporter (see http_client.h).
#include "backup/http_client.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "backup/curl_library.h"

namespace rq::backup {
namespace {

// Feeds the body pieces to curl in order.
struct BodyReader {
  const std::vector<BodyPiece>* pieces = nullptr;
  size_t index = 0;
  uint64_t used = 0;  // of pieces[index]
  FILE* file = nullptr;
  bool failed = false;

  ~BodyReader() {
    if (file != nullptr) std::fclose(file);
  }

  size_t Read(char* out, size_t capacity) {
    while (index < pieces->size()) {
      const BodyPiece& piece = (*pieces)[index];
      uint64_t left = piece.size() - used;
      if (left == 0) {
        NextPiece();
        continue;
      }
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, capacity));
      if (piece.file.empty()) {
        std::memcpy(out, piece.bytes.data() + used, n);
      } else {
        if (file == nullptr && !OpenFile(piece)) return CURL_READFUNC_ABORT;
        n = std::fread(out, 1, n, file);
        if (n == 0) {  // the file shrank under us
          failed = true;
          return CURL_READFUNC_ABORT;
        }
      }
      used += n;
      return n;
    }
    return 0;
  }

  bool OpenFile(const BodyPiece& piece) {
    file = std::fopen(piece.file.c_str(), "rb");
    if (file == nullptr || ::fseeko(file, static_cast<off_t>(piece.offset), SEEK_SET) != 0) {
      failed = true;
      return false;
    }
    return true;
  }

  void NextPiece() {
    if (file != nullptr) std::fclose(file);
    file = nullptr;
    ++index;
    used = 0;
  }
};

struct Transfer {
  const CurlLibrary* api = nullptr;
  CURL* curl = nullptr;
  HttpResponse response;
  std::string response_file;
  FILE* out = nullptr;
  bool out_failed = false;
  const std::atomic<bool>* cancel = nullptr;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  return static_cast<BodyReader*>(user)->Read(buffer, size * count);
}

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  t->api->easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  t->response.body_bytes += n;
  if (!t->response_file.empty() && status >= 200 && status < 300) {
    if (t->out == nullptr) t->out = std::fopen(t->response_file.c_str(), "wb");
    if (t->out == nullptr || std::fwrite(data, 1, n, t->out) != n) {
      t->out_failed = true;
      return 0;
    }
    return n;
  }
  if (t->response.body.size() < 1024 * 1024) t->response.body.append(data, n);  // error texts are short
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) t->response.headers.clear();  // a new answer (after 100 Continue)
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  t->response.headers[name] = std::string(value);
  return size * count;
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->cancel != nullptr && t->cancel->load()) ? 1 : 0;
}

void SetBody(const CurlLibrary& api, CURL* curl, const HttpRequest& request, BodyReader* reader, uint64_t body_bytes) {
  reader->pieces = &request.body;
  if (request.method == "PUT") {
    api.easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    api.easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_bytes));
  } else if (request.method == "POST") {
    api.easy_setopt(curl, CURLOPT_POST, 1L);
    api.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_bytes));
  } else if (request.method == "HEAD") {
    api.easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    api.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  api.easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
  api.easy_setopt(curl, CURLOPT_READDATA, reader);
}

}  // namespace

Result<HttpResponse> PerformHttp(const HttpRequest& request) {
  Result<const CurlLibrary*> loaded = LoadCurl();
  if (!loaded.ok()) return loaded.status();
  const CurlLibrary& api = **loaded;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(api.easy_init(), api.easy_cleanup);
  if (curl == nullptr) return Status::IOError("curl_easy_init failed");
  Transfer t;
  t.api = &api;
  t.curl = curl.get();
  t.response_file = request.response_file;
  t.cancel = request.cancel;
  BodyReader reader;
  uint64_t body_bytes = 0;
  for (const BodyPiece& piece : request.body) body_bytes += piece.size();

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) headers = api.slist_append(headers, (name + ": " + value).c_str());
  headers = api.slist_append(headers, "Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_guard(headers, api.slist_free_all);

  CURL* c = curl.get();
  api.easy_setopt(c, CURLOPT_URL, request.url.c_str());
  api.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(request.timeout.count(), 30000)));
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  api.easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  api.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  api.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  api.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, Progress);
  api.easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  if (!request.tls.ca_file.empty()) api.easy_setopt(c, CURLOPT_CAINFO, request.tls.ca_file.c_str());
  if (!request.tls.cert_file.empty()) api.easy_setopt(c, CURLOPT_SSLCERT, request.tls.cert_file.c_str());
  if (!request.tls.key_file.empty()) api.easy_setopt(c, CURLOPT_SSLKEY, request.tls.key_file.c_str());
  if (request.tls.insecure_skip_verify) {
    api.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    api.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> connect_to(nullptr, api.slist_free_all);
  if (!request.connect_to.empty()) {
    connect_to.reset(api.slist_append(nullptr, request.connect_to.c_str()));
    api.easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  }
  if (request.http2) {
    const bool tls = request.url.starts_with("https:");
    const long version = tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    if (api.easy_setopt(c, CURLOPT_HTTP_VERSION, version) != CURLE_OK) {
      return Status::Unavailable("this libcurl cannot speak HTTP/2");
    }
    // Through a proxy, HTTP/2 without TLS needs a CONNECT tunnel.
    api.easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
  }
  SetBody(api, c, request, &reader, body_bytes);

  CURLcode rc = api.easy_perform(c);
  if (t.out != nullptr && std::fclose(t.out) != 0) t.out_failed = true;
  if (rc == CURLE_OK) api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  if (rc == CURLE_OK && !request.response_file.empty() && t.response.status >= 200 && t.response.status < 300 &&
      t.out == nullptr) {
    std::FILE* empty = std::fopen(request.response_file.c_str(), "wb");  // an empty object
    if (empty == nullptr) t.out_failed = true;
    else std::fclose(empty);
  }
  if (t.out_failed) return Status::IOError("cannot write the downloaded data to " + request.response_file);
  if (reader.failed) return Status::IOError("cannot read the request body from its file");
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Aborted(request.method + " cancelled");
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status::Timeout(request.method + " timed out after " + std::to_string(request.timeout.count()) + " ms");
  }
  if (rc != CURLE_OK) return Status::IOError(request.method + " failed: " + api.easy_strerror(rc));
  return std::move(t.response);
}

Result<HttpResponse> PerformHttpWithRetry(const std::function<Result<HttpRequest>()>& make_request,
                                          const RetryPolicy& policy, int* retries,
                                          const std::atomic<bool>* cancel) {
  RQ_ASSERT(policy.attempts_max >= 1);
  std::chrono::milliseconds backoff = policy.backoff_initial;
  Result<HttpResponse> last = Status::Internal("no attempt made");
  for (int attempt = 1; attempt <= policy.attempts_max; ++attempt) {
    Result<HttpRequest> request = make_request();
    if (!request.ok()) return request.status();
    last = PerformHttp(*request);
    bool retryable = last.ok() ? (last->status >= 500 || last->status == 429)
                               : (last.status().IsIOError() || last.status().IsTimeout());
    if (!retryable || attempt == policy.attempts_max) return last;
    if (retries != nullptr) ++*retries;
    // Sleep in slices so a cancel is noticed promptly.
    auto wake = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < wake) {
      if (cancel != nullptr && cancel->load()) return Status::Aborted("cancelled while waiting to retry");
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(backoff, std::chrono::milliseconds(20)));
    }
    backoff = std::min(backoff * 2, policy.backoff_max);
  }
  return last;
}

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string XmlElement(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  size_t start = xml.find(open);
  if (start == std::string_view::npos) return {};
  start += open.size();
  size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return {};
  return std::string(xml.substr(start, end - start));
}

}  // namespace rq::backup
