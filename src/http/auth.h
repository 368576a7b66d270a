// AuthStore: rqlite's basic-auth users and permissions (API.md 4.9), loaded
// from the -auth JSON file: [{"username":..,"password":..,"perms":[..]}].
// Passwords are plaintext, "*" names every user including anonymous ones.
//
// Thread-safety: Load* before the server starts; afterwards only const
// methods are called, from any thread.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rq::http {

struct Credentials {
  std::string username;
  std::string password;
};

// "Basic dXNlcjpwYXNz" -> {user, pass}; nullopt when absent or malformed.
std::optional<Credentials> ParseBasicAuth(std::string_view authorization_header);

class AuthStore {
 public:
  Status LoadFile(const std::string& path);
  Status LoadJson(std::string_view text);

  bool enabled() const { return enabled_; }
  // The check order of rqlite: "*" holding the permission (or "all") lets
  // anyone in; otherwise the credentials must match a user holding it.
  bool IsAllowed(const std::optional<Credentials>& credentials, std::string_view perm) const;

 private:
  struct User {
    std::string password;
    std::set<std::string, std::less<>> perms;
  };
  static bool Holds(const User& user, std::string_view perm);

  bool enabled_ = false;
  std::map<std::string, User, std::less<>> users_;
};

}  // namespace rq::http
