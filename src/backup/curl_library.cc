#include "backup/curl_library.h"

#include "base/shared_library.h"

namespace rq::backup {
namespace {

Result<CurlLibrary> Load() {
  Result<SharedLibrary> library = SharedLibrary::Open("libcurl.so.4");
  if (!library.ok()) return library.status();
  CurlLibrary curl;
  CURLcode (*global_init)(long) = nullptr;
  RQ_RETURN_IF_ERROR(library->Bind("curl_global_init", &global_init));
  RQ_RETURN_IF_ERROR(library->Bind("curl_easy_init", &curl.easy_init));
  RQ_RETURN_IF_ERROR(library->Bind("curl_easy_setopt", &curl.easy_setopt));
  RQ_RETURN_IF_ERROR(library->Bind("curl_easy_perform", &curl.easy_perform));
  RQ_RETURN_IF_ERROR(library->Bind("curl_easy_getinfo", &curl.easy_getinfo));
  RQ_RETURN_IF_ERROR(library->Bind("curl_easy_cleanup", &curl.easy_cleanup));
  RQ_RETURN_IF_ERROR(library->Bind("curl_easy_strerror", &curl.easy_strerror));
  RQ_RETURN_IF_ERROR(library->Bind("curl_slist_append", &curl.slist_append));
  RQ_RETURN_IF_ERROR(library->Bind("curl_slist_free_all", &curl.slist_free_all));
  if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return Status::Unavailable("curl_global_init failed");
  return curl;
}

}  // namespace

Result<const CurlLibrary*> LoadCurl() { return LoadOnce<CurlLibrary, Load>(); }

}  // namespace rq::backup
