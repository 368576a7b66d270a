// Dot-commands that move files: .backup, .dump, .restore, .boot, .read and
// .sysdump. Bodies stream between the file and the socket in chunks
// (client::Request::body_file / response_file); nothing holds a whole file.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>

#include "cli/shell.h"

namespace rq::cli {
namespace {

namespace json = boost::json;
using client::Method;
using client::Request;
using client::Response;

// "SQLite format 3" and its NUL: the first 16 bytes of every database file.
constexpr char kSqliteMagic[] = "SQLite format 3";
static_assert(sizeof(kSqliteMagic) == 16);

bool StartsWithSqliteMagic(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char header[sizeof(kSqliteMagic)] = {};
  file.read(header, sizeof(header));
  return file.gcount() == static_cast<std::streamsize>(sizeof(header)) &&
         std::equal(header, header + sizeof(header), kSqliteMagic);
}

std::string Quote(std::string_view body) {
  constexpr size_t kQuoteBytesMax = 200;
  std::string text(Trim(body.substr(0, std::min(body.size(), kQuoteBytesMax))));
  if (body.size() > kQuoteBytesMax) text += "...";
  return text;
}

bool Readable(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return static_cast<bool>(file);
}

// API addresses of all nodes in a /nodes answer (legacy map or ver=2 list).
std::vector<std::string> ApiAddresses(const json::value& document) {
  std::vector<std::string> addresses;
  auto take = [&](const json::value& node) {
    const json::object* object = node.if_object();
    const json::value* address = object ? object->if_contains("api_addr") : nullptr;
    if (address && address->is_string() && !address->get_string().empty()) {
      addresses.emplace_back(address->get_string());
    }
  };
  if (const json::object* top = document.if_object()) {
    const json::value* list = top->if_contains("nodes");
    if (list && list->is_array()) {
      for (const auto& node : list->get_array()) take(node);
    } else {
      for (const auto& entry : *top) take(entry.value());
    }
  }
  return addresses;
}

}  // namespace

void Shell::CmdBackup(const DotCommand& c) {
  if (c.args.empty()) return Fail("please specify an output file for the backup");
  Request request;
  request.target = "db/backup";
  request.response_file = c.args;
  request.progress = Progress("backup");
  Result<Response> response = Send(std::move(request));
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) return Fail("server responded with " + response->StatusLine());
  out() << "Backup file written successfully\n" << std::flush;
}

void Shell::CmdDump(const DotCommand& c) {
  std::vector<std::string> words = c.Words();
  if (words.empty()) return Fail("please specify an output file for the SQL text");
  Request request;
  request.target = "db/backup?fmt=sql";
  if (words.size() > 1) request.target += "&tables=" + words[1];
  request.response_file = words[0];
  request.progress = Progress("dump");
  Result<Response> response = Send(std::move(request));
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) return Fail("server responded with " + response->StatusLine());
  out() << "SQL text file written successfully\n" << std::flush;
}

void Shell::CmdRestore(const DotCommand& c) {
  if (c.args.empty()) return Fail("please specify an input file to restore from");
  if (!Readable(c.args)) return Fail("cannot open " + c.args);
  Request request;
  request.method = Method::kPost;
  request.target = "db/load";
  request.body_file = c.args;
  request.content_type = StartsWithSqliteMagic(c.args) ? "application/octet-stream" : "text/plain";
  request.no_timeout = true;
  request.progress = Progress("restore");
  std::optional<json::value> document = SendForJson(std::move(request));
  if (!document) return;
  const json::object* top = document->if_object();
  const json::value* error = top ? top->if_contains("error") : nullptr;
  if (error && error->is_string()) return Fail(error->get_string());
  const json::value* results = top ? top->if_contains("results") : nullptr;
  if (results && results->is_array()) {
    for (const auto& result : results->get_array()) {
      const json::object* object = result.if_object();
      const json::value* sql_error = object ? object->if_contains("error") : nullptr;
      if (sql_error && sql_error->is_string()) return FailSql(sql_error->get_string());
    }
  }
  out() << "Database restored successfully\n" << std::flush;
}

void Shell::CmdBoot(const DotCommand& c) {
  if (c.args.empty()) return Fail("please specify an input file to boot with");
  if (!Readable(c.args)) return Fail("cannot open " + c.args);
  Request request;
  request.method = Method::kPost;
  request.target = "boot";
  request.body_file = c.args;
  request.content_type = "application/octet-stream";
  request.no_timeout = true;
  request.progress = Progress("boot");
  Result<Response> response = Send(std::move(request));
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) {
    return Fail("server responded with " + response->StatusLine() + ": " + Quote(response->body));
  }
  out() << "Node booted successfully\n" << std::flush;
}

void Shell::CmdRead(const DotCommand& c) {
  if (c.args.empty()) return Fail("please specify a file to read");
  if (reading_file_) return Fail(".read cannot be used inside a file being read");
  std::ifstream file(c.args);
  if (!file) return Fail("cannot open " + c.args);
  reading_file_ = true;
  std::string line;
  while (std::getline(file, line)) {
    std::string_view text = Trim(line);
    if (pending_.empty() && (text.empty() || text.starts_with("--"))) continue;
    if (FeedLine(line) == LineResult::kQuit) break;
  }
  FinishInput();
  reading_file_ = false;
}

void Shell::CmdSysdump(const DotCommand& c) {
  if (c.args.empty()) return Fail("please specify an output file for the sysdump");
  Request nodes_request;
  nodes_request.target = "nodes";
  std::optional<json::value> nodes = SendForJson(std::move(nodes_request));
  if (!nodes) return;
  std::ofstream file(c.args, std::ios::binary | std::ios::trunc);
  if (!file) return Fail("cannot open " + c.args + " for writing");
  for (const std::string& base : ApiAddresses(*nodes)) {
    for (std::string_view path : {"/status?pretty", "/nodes?pretty", "/readyz", "/debug/vars"}) {
      Request request;
      request.target = base + std::string(path);
      request.absolute_url = true;
      file << "\n=========================================\n";
      file << "URL: " << request.target << "\n";
      Result<Response> response = Send(std::move(request));
      if (!response.ok()) {
        file << "Status: " << response.status().message() << "\n\n";
        continue;
      }
      file << "Status: " << response->StatusLine() << "\n\n";
      if (response->status == 200) file << response->body;
    }
  }
  if (!file.flush()) return Fail("cannot write " + c.args);
}

}  // namespace rq::cli
