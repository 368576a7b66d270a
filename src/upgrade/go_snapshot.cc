// Go snapshot meta.json (Boost.JSON) and snapshot data files.
#include "upgrade/go_snapshot.h"

#include <boost/json.hpp>

#include <cstdio>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"
#include "upgrade/gzip.h"

namespace rq::upgrade {

namespace json = boost::json;

namespace {

constexpr std::string_view kSqliteMagic("SQLite format 3\0", 16);

Status BadMeta(std::string_view path, std::string_view why) {
  return Status::Corruption("snapshot meta " + std::string(path) + ": " + std::string(why));
}

// A non-negative integer member; absent means 0.
Status UintMember(const json::object& o, std::string_view key, std::string_view path, uint64_t* out) {
  const json::value* v = o.if_contains(key);
  *out = 0;
  if (v == nullptr || v->is_null()) return Status::OK();
  if (v->is_uint64()) {
    *out = v->get_uint64();
  } else if (v->is_int64() && v->get_int64() >= 0) {
    *out = static_cast<uint64_t>(v->get_int64());
  } else {
    return BadMeta(path, std::string(key) + " is not a non-negative integer");
  }
  return Status::OK();
}

Status StringMember(const json::object& o, std::string_view key, std::string_view path, std::string* out) {
  const json::value* v = o.if_contains(key);
  out->clear();
  if (v == nullptr || v->is_null()) return Status::OK();
  if (!v->is_string()) return BadMeta(path, std::string(key) + " is not a string");
  out->assign(v->get_string());
  return Status::OK();
}

Status ParseConfiguration(const json::value* v, std::string_view path, GoConfiguration* out) {
  if (v == nullptr || v->is_null()) return Status::OK();
  const json::object* o = v->if_object();
  if (o == nullptr) return BadMeta(path, "Configuration is not an object");
  const json::value* servers = o->if_contains("Servers");
  if (servers == nullptr || servers->is_null()) return Status::OK();
  if (!servers->is_array()) return BadMeta(path, "Configuration.Servers is not an array");
  for (const json::value& s : servers->get_array()) {
    const json::object* so = s.if_object();
    if (so == nullptr) return BadMeta(path, "a server is not an object");
    GoServer server;
    uint64_t suffrage = 0;
    RQ_RETURN_IF_ERROR(UintMember(*so, "Suffrage", path, &suffrage));
    if (suffrage > 2) return BadMeta(path, "server Suffrage " + std::to_string(suffrage));
    server.suffrage = static_cast<GoSuffrage>(suffrage);
    RQ_RETURN_IF_ERROR(StringMember(*so, "ID", path, &server.id));
    RQ_RETURN_IF_ERROR(StringMember(*so, "Address", path, &server.address));
    if (server.id.empty()) return BadMeta(path, "a server has no ID");
    out->servers.push_back(std::move(server));
  }
  return Status::OK();
}

}  // namespace

const char* GoSnapshotFormatName(GoSnapshotFormat format) {
  switch (format) {
    case GoSnapshotFormat::kFileStoreStateBin: return "snapshots/<id>/state.bin (v5-v7)";
    case GoSnapshotFormat::kV8Database: return "rsnapshots/<id>.db (v8-v9.4)";
    case GoSnapshotFormat::kV10Full: return "wsnapshots/<id>/data.db (v10 full)";
    case GoSnapshotFormat::kV10Incremental: return "wsnapshots/<id>/*.wal (v10 incremental)";
  }
  return "unknown";
}

namespace {

struct IdOrder {
  uint64_t millis = 0;
  uint64_t generation = 0;
};

// <term>-<index>-<ms>[-<gen>]; what does not parse orders as 0.
IdOrder ParseIdOrder(std::string_view id) {
  IdOrder out;
  std::vector<uint64_t> parts;
  uint64_t value = 0;
  bool digits = false;
  for (size_t i = 0; i <= id.size(); ++i) {
    if (i == id.size() || id[i] == '-') {
      if (!digits) return out;
      parts.push_back(value);
      value = 0;
      digits = false;
    } else if (id[i] >= '0' && id[i] <= '9' && value < UINT64_MAX / 10) {
      value = value * 10 + static_cast<uint64_t>(id[i] - '0');
      digits = true;
    } else {
      return out;
    }
  }
  if (parts.size() >= 3) out.millis = parts[2];
  if (parts.size() >= 4) out.generation = parts[3];
  return out;
}

}  // namespace

bool GoSnapshotBefore(const GoSnapshot& a, const GoSnapshot& b) {
  const IdOrder ao = ParseIdOrder(a.meta.id), bo = ParseIdOrder(b.meta.id);
  return std::tie(a.meta.term, a.meta.index, ao.millis, ao.generation, a.meta.id) <
         std::tie(b.meta.term, b.meta.index, bo.millis, bo.generation, b.meta.id);
}

Status CheckGoCrcSidecar(env::FileSystem& fs, const std::string& path, std::string_view bytes) {
  const std::string sidecar = path + ".crc32";
  if (!fs.FileExists(sidecar)) return Status::OK();
  Result<std::string> text = fs.ReadFile(sidecar);
  if (!text.ok()) return text.status().WithContext("CRC sidecar");
  std::string hex;
  std::string_view trimmed(*text);
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == ' ')) {
    trimmed.remove_suffix(1);
  }
  if (!trimmed.empty() && trimmed.front() == '{') {
    boost::system::error_code ec;
    json::value doc = json::parse(json::string_view(trimmed.data(), trimmed.size()), ec);
    const json::object* o = ec ? nullptr : doc.if_object();
    if (o == nullptr) return Status::Corruption(sidecar + ": neither hex nor a JSON object");
    if (const json::value* disabled = o->if_contains("disabled"); disabled != nullptr && disabled->is_bool() &&
                                                                  disabled->get_bool()) {
      return Status::OK();  // written without a checksum
    }
    const json::value* type = o->if_contains("type");
    if (type != nullptr && !(type->is_string() && type->get_string() == "castagnoli")) {
      return Status::Corruption(sidecar + ": checksum type is not castagnoli");
    }
    const json::value* crc = o->if_contains("crc");
    if (crc == nullptr || !crc->is_string()) return Status::Corruption(sidecar + ": no \"crc\" string");
    hex.assign(crc->get_string());
  } else {
    hex.assign(trimmed);
  }
  uint32_t expected = 0;
  if (hex.size() != 8) return Status::Corruption(sidecar + ": the CRC is not 8 hex digits");
  for (char c : hex) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return Status::Corruption(sidecar + ": the CRC is not 8 hex digits");
    expected = expected << 4 | static_cast<uint32_t>(digit);
  }
  const uint32_t actual = crc32c::Value(bytes);
  if (actual != expected) {
    char buffer[9];
    std::snprintf(buffer, sizeof(buffer), "%08x", actual);
    return Status::Corruption(path + ": CRC32C " + buffer + " does not match " + hex + " in " + sidecar);
  }
  return Status::OK();
}

bool LooksLikeSqlite(std::string_view bytes) { return bytes.substr(0, kSqliteMagic.size()) == kSqliteMagic; }

Result<GoSnapshotMeta> ParseGoSnapshotMeta(std::string_view text, std::string_view path) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return BadMeta(path, "not JSON (" + ec.message() + ")");
  const json::object* o = doc.if_object();
  if (o == nullptr) return BadMeta(path, "not a JSON object");
  GoSnapshotMeta meta;
  uint64_t version = 0, size = 0;
  RQ_RETURN_IF_ERROR(UintMember(*o, "Version", path, &version));
  RQ_RETURN_IF_ERROR(StringMember(*o, "ID", path, &meta.id));
  RQ_RETURN_IF_ERROR(UintMember(*o, "Index", path, &meta.index));
  RQ_RETURN_IF_ERROR(UintMember(*o, "Term", path, &meta.term));
  RQ_RETURN_IF_ERROR(UintMember(*o, "ConfigurationIndex", path, &meta.configuration_index));
  RQ_RETURN_IF_ERROR(UintMember(*o, "Size", path, &size));
  if (version > INT32_MAX || size > static_cast<uint64_t>(INT64_MAX)) return BadMeta(path, "Version or Size too big");
  meta.version = static_cast<int64_t>(version);
  meta.size = static_cast<int64_t>(size);
  RQ_RETURN_IF_ERROR(ParseConfiguration(o->if_contains("Configuration"), path, &meta.configuration));
  if (meta.id.empty()) return BadMeta(path, "no ID");
  if (meta.index == 0 || meta.term == 0) return BadMeta(path, "Index and Term must be set");
  if (meta.configuration_index > meta.index) return BadMeta(path, "ConfigurationIndex is past Index");
  return meta;
}

Result<std::string> ReadGoSnapshotDatabase(env::FileSystem& fs, const GoSnapshot& snapshot) {
  const std::string& path = snapshot.data_path;
  if (path.empty()) return Status::NotFound("snapshot " + snapshot.meta.id + ": no database file");
  Result<std::string> bytes = fs.ReadFile(path);
  if (!bytes.ok()) return bytes.status().WithContext("snapshot");
  RQ_RETURN_IF_ERROR(CheckGoCrcSidecar(fs, path, *bytes));
  if (snapshot.format != GoSnapshotFormat::kFileStoreStateBin) {
    if (!LooksLikeSqlite(*bytes)) return Status::Corruption("snapshot " + path + ": not an SQLite database");
    return bytes;
  }
  std::string_view state(*bytes);
  // v7: 16 bytes (header and length) then gzip.
  if (state.size() > 18 && static_cast<uint8_t>(state[16]) == 0x1f && static_cast<uint8_t>(state[17]) == 0x8b) {
    Result<std::string> db = Gunzip(state.substr(16), "snapshot " + path);
    if (!db.ok()) return db.status();
    if (!LooksLikeSqlite(*db)) return Status::Corruption("snapshot " + path + ": gzip stream is not an SQLite database");
    return db;
  }
  // v5/v6 (inferred): u64 length, then the database itself.
  if (state.size() >= 8 + kSqliteMagic.size() && LooksLikeSqlite(state.substr(8))) {
    uint64_t length = coding::DecodeFixed64(state.data());
    if (length > state.size() - 8) return Status::Corruption("snapshot " + path + ": database length past the file");
    return std::string(state.substr(8, length));
  }
  return Status::Corruption("snapshot " + path + ": state.bin holds neither a v7 gzip image nor a raw database");
}

}  // namespace rq::upgrade
