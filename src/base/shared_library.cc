#include "base/shared_library.h"

#include <dlfcn.h>

namespace rq {

Result<SharedLibrary> SharedLibrary::Open(const std::string& soname) {
  void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Status::Unavailable("cannot load " + soname + (why != nullptr ? ": " + std::string(why) : ""));
  }
  return SharedLibrary(soname, handle);
}

Status SharedLibrary::Find(const char* name, void** address) const {
  ::dlerror();
  *address = ::dlsym(handle_, name);
  if (*address == nullptr) return Status::Unavailable(soname_ + " has no " + name);
  return Status::OK();
}

}  // namespace rq
