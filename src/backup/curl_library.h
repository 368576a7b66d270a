// libcurl, loaded on first use (base/shared_library.h): only a node with
// auto-backup, auto-restore, a CDC webhook or OTLP export pays for it and
// the two dozen libraries it brings. The functions keep curl's signatures
// (curl/curl.h, which declares the types and constants).
#pragma once

#include <curl/curl.h>

#include "base/status.h"

namespace rq::backup {

struct CurlLibrary {
  CURL* (*easy_init)() = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
};

// The loaded library, curl_global_init done; the first call loads it
// (thread-safe), later calls return the same pointers, or the same error
// when libcurl.so.4 cannot be loaded.
Result<const CurlLibrary*> LoadCurl();

}  // namespace rq::backup
