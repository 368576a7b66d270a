#include "http/auth.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <sstream>

#include "base/base64.h"

namespace rq::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<Credentials> ParseBasicAuth(std::string_view header) {
  constexpr std::string_view kPrefix = "Basic ";
  if (header.size() < kPrefix.size() || !EqualsIgnoreCase(header.substr(0, kPrefix.size()), kPrefix)) {
    return std::nullopt;
  }
  std::optional<std::string> decoded = base64::Decode(header.substr(kPrefix.size()));
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

Status AuthStore::LoadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::IOError("cannot open auth file " + path);
  std::ostringstream contents;
  contents << file.rdbuf();
  return LoadJson(contents.str()).WithContext("auth file " + path);
}

Status AuthStore::LoadJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text, ec);
  if (ec || !root.is_array()) return Status::InvalidArgument("expected a JSON array of users");
  std::map<std::string, User, std::less<>> users;
  for (const auto& entry : root.get_array()) {
    const auto* object = entry.if_object();
    if (object == nullptr) return Status::InvalidArgument("each user must be a JSON object");
    const auto* username = object->if_contains("username");
    if (username == nullptr || !username->is_string()) return Status::InvalidArgument("user without a username");
    User user;
    if (const auto* password = object->if_contains("password"); password != nullptr) {
      if (!password->is_string()) return Status::InvalidArgument("password must be a string");
      user.password = std::string(password->get_string());
    }
    if (const auto* perms = object->if_contains("perms"); perms != nullptr) {
      if (!perms->is_array()) return Status::InvalidArgument("perms must be an array");
      for (const auto& perm : perms->get_array()) {
        if (!perm.is_string()) return Status::InvalidArgument("each perm must be a string");
        user.perms.emplace(perm.get_string());
      }
    }
    users[std::string(username->get_string())] = std::move(user);
  }
  users_ = std::move(users);
  enabled_ = true;
  return Status::OK();
}

bool AuthStore::Holds(const User& user, std::string_view perm) {
  return user.perms.count(perm) > 0 || user.perms.count("all") > 0;
}

bool AuthStore::IsAllowed(const std::optional<Credentials>& credentials, std::string_view perm) const {
  if (!enabled_) return true;
  if (auto any = users_.find("*"); any != users_.end() && Holds(any->second, perm)) return true;
  if (!credentials) return false;
  auto user = users_.find(credentials->username);
  if (user == users_.end() || user->second.password != credentials->password) return false;
  return Holds(user->second, perm);
}

}  // namespace rq::http
