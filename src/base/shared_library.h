// A shared library opened at run time (dlopen) rather than linked: for the
// dependencies only some flags need (libcurl for S3, GCS, CDC and OTLP;
// libarchive for extension archives; gperftools for -cpu-profile). A linked
// library costs every node its relocation, start-up code and the pages they
// touch (libcurl alone brought 25 more libraries, ~3.5 MB resident), used
// or not.
#pragma once

#include <utility>
#include <string>

#include "base/status.h"

namespace rq {

class SharedLibrary {
 public:
  // dlopen(soname, RTLD_NOW | RTLD_LOCAL); the error names the library and
  // what is missing. The library stays loaded for the life of the process.
  static Result<SharedLibrary> Open(const std::string& soname);

  // Resolves `name` into *fn; an error names the library and the symbol.
  template <typename Fn>
  Status Bind(const char* name, Fn** fn) const {
    void* address = nullptr;
    RQ_RETURN_IF_ERROR(Find(name, &address));
    *fn = reinterpret_cast<Fn*>(address);
    return Status::OK();
  }

  const std::string& soname() const { return soname_; }

 private:
  SharedLibrary(std::string soname, void* handle) : soname_(std::move(soname)), handle_(handle) {}
  Status Find(const char* name, void** address) const;

  std::string soname_;
  void* handle_;
};

// The functions `Bind` resolves, bound at the first call (thread-safe);
// later calls return the same pointers, or the same error. One per
// `Functions` type, e.g. LoadOnce<CurlLibrary, BindCurl>() where
// BindCurl opens the library and binds each function.
template <typename Functions, Result<Functions> (*Bind)()>
Result<const Functions*> LoadOnce() {
  static const Result<Functions> bound = Bind();
  if (!bound.ok()) return bound.status();
  return &bound.value();
}

}  // namespace rq
