// The dot-commands of the rqlite shell (see shell.h).
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>

#include "cli/shell.h"

namespace rq::cli {
namespace {

namespace json = boost::json;
using client::Method;
using client::Request;
using client::Response;

std::string Quote(std::string_view body) {
  constexpr size_t kQuoteBytesMax = 200;
  std::string text(Trim(body.substr(0, std::min(body.size(), kQuoteBytesMax))));
  if (body.size() > kQuoteBytesMax) text += "...";
  return text;
}

std::string OnOff(bool on) { return on ? "on" : "off"; }

// Walks a dotted key ("store.raft") down a JSON document.
const json::value* FindPath(const json::value& document, std::string_view path) {
  const json::value* node = &document;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    if (!node->is_object()) return nullptr;
    node = node->get_object().if_contains(key);
    if (node == nullptr) return nullptr;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return node;
}

}  // namespace

const std::vector<Shell::CommandSpec>& Shell::Commands() {
  // Sorted by name: .help prints them in this order.
  static const std::vector<CommandSpec> kCommands = {
      {".backup", ".backup FILE", "Write a binary backup of the database to FILE", &Shell::CmdBackup},
      {".blobarray", ".blobarray on|off", "Show BLOB data as byte arrays", &Shell::CmdBlobArray},
      {".boot", ".boot FILE", "Boot the node from the SQLite file FILE", &Shell::CmdBoot},
      {".changes", ".changes on|off", "Show the last insert ID after each write", &Shell::CmdChanges},
      {".consistency", ".consistency [none|weak|linearizable|strong]",
       "Show or set the read consistency level", &Shell::CmdConsistency},
      {".dump", ".dump FILE [TABLE,...]", "Write the database (or some tables) as SQL text to FILE",
       &Shell::CmdDump},
      {".exit", ".exit", "Exit this program", &Shell::CmdQuit},
      {".expvar", ".expvar [KEY]", "Show expvar (runtime) information for the connected node",
       &Shell::CmdExpvar},
      {".extensions", ".extensions", "Show loaded SQLite extensions", &Shell::CmdExtensions},
      {".forcewrites", ".forcewrites on|off", "Send all SQL to the execute endpoint", &Shell::CmdForceWrites},
      {".help", ".help", "Show this message", &Shell::CmdHelp},
      {".indexes", ".indexes", "Show the SQL of all indexes", &Shell::CmdIndexes},
      {".leader", ".leader", "Show the current leader", &Shell::CmdLeader},
      {".mode", ".mode column|csv|json|line", "Set the output mode", &Shell::CmdMode},
      {".nodes", ".nodes [all]", "Show voting nodes; 'all' includes non-voters", &Shell::CmdNodes},
      {".output", ".output [FILE]", "Send output to FILE, or back to stdout", &Shell::CmdOutput},
      {".quit", ".quit", "Exit this program", &Shell::CmdQuit},
      {".read", ".read FILE", "Run the SQL statements in FILE", &Shell::CmdRead},
      {".ready", ".ready", "Show whether the connected node is ready", &Shell::CmdReady},
      {".reap", ".reap", "Reap snapshots on the connected node", &Shell::CmdReap},
      {".remove", ".remove NODEID", "Remove node NODEID from the cluster", &Shell::CmdRemove},
      {".restore", ".restore FILE", "Load a SQLite file or SQL dump from FILE", &Shell::CmdRestore},
      {".schema", ".schema", "Show CREATE statements for all tables", &Shell::CmdSchema},
      {".show", ".show", "Show the current settings", &Shell::CmdShow},
      {".snapshot", ".snapshot [TRAILINGLOGS]", "Request a Raft snapshot and log truncation",
       &Shell::CmdSnapshot},
      {".status", ".status [KEY]", "Show status and diagnostics for the connected node", &Shell::CmdStatus},
      {".stepdown", ".stepdown [NODEID]", "Make the leader step down, optionally naming the next one",
       &Shell::CmdStepdown},
      {".sysdump", ".sysdump FILE", "Write diagnostics of every node to FILE", &Shell::CmdSysdump},
      {".tables", ".tables", "List names of tables", &Shell::CmdTables},
      {".timer", ".timer on|off", "Turn query timings on or off", &Shell::CmdTimer},
  };
  return kCommands;
}

std::string Shell::HelpText() {
  size_t width = 0;
  for (const CommandSpec& spec : Commands()) width = std::max(width, spec.usage.size());
  std::string text;
  for (const CommandSpec& spec : Commands()) {
    text += std::string(spec.usage) + std::string(width + 2 - spec.usage.size(), ' ') +
            std::string(spec.description) + "\n";
  }
  return text;
}

void Shell::RunDotCommand(const DotCommand& command) {
  for (const CommandSpec& spec : Commands()) {
    if (spec.name == command.name) return (this->*spec.handler)(command);
  }
  Fail("unknown command \"" + command.name + "\". Enter \".help\" for usage hints.");
}

bool Shell::SetToggle(const DotCommand& command, bool& flag) {
  if (command.args != "on" && command.args != "off") {
    Fail("invalid option '" + command.args + "'. Use 'on' or 'off' (default)");
    return false;
  }
  flag = command.args == "on";
  return true;
}

void Shell::CmdTimer(const DotCommand& c) { SetToggle(c, timer_); }
void Shell::CmdBlobArray(const DotCommand& c) { SetToggle(c, blob_array_); }
void Shell::CmdChanges(const DotCommand& c) { SetToggle(c, changes_); }
void Shell::CmdForceWrites(const DotCommand& c) { SetToggle(c, force_writes_); }
void Shell::CmdQuit(const DotCommand&) {}  // FeedLine handles quitting first.
void Shell::CmdHelp(const DotCommand&) { out() << HelpText() << std::flush; }

void Shell::CmdConsistency(const DotCommand& c) {
  if (c.args.empty()) {
    out() << consistency_ << "\n" << std::flush;
    return;
  }
  if (c.args != "none" && c.args != "weak" && c.args != "linearizable" && c.args != "strong") {
    return Fail("invalid consistency '" + c.args + "'. Use 'none', 'weak', 'linearizable', or 'strong'");
  }
  consistency_ = c.args;
}

void Shell::CmdMode(const DotCommand& c) {
  std::optional<OutputMode> mode = ParseOutputMode(ToLower(c.args));
  if (!mode) return Fail("invalid mode '" + c.args + "'. Use 'column', 'csv', 'json' or 'line'");
  mode_ = *mode;
}

void Shell::CmdOutput(const DotCommand& c) {
  if (c.args.empty() || c.args == "stdout") {
    output_file_.reset();
    output_path_.clear();
    return;
  }
  auto file = std::make_unique<std::ofstream>(c.args, std::ios::out | std::ios::trunc);
  if (!*file) return Fail("cannot open " + c.args + " for writing");
  output_file_ = std::move(file);
  output_path_ = c.args;
}

void Shell::CmdShow(const DotCommand&) {
  out() << "      mode: " << OutputModeName(mode_) << "\n"
        << "     timer: " << OnOff(timer_) << "\n"
        << "   changes: " << OnOff(changes_) << "\n"
        << " blobarray: " << OnOff(blob_array_) << "\n"
        << "forcewrites: " << OnOff(force_writes_) << "\n"
        << "consistency: " << consistency_ << "\n"
        << "    output: " << (output_path_.empty() ? "stdout" : output_path_) << "\n"
        << "      host: " << api_.current_url() << "\n"
        << std::flush;
}

void Shell::CmdTables(const DotCommand&) {
  Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
}
void Shell::CmdIndexes(const DotCommand&) {
  Query("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL");
}
void Shell::CmdSchema(const DotCommand&) { Query("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"); }

void Shell::PrintTreeOf(std::string_view target, const DotCommand& c) {
  Request request;
  request.target = std::string(target);
  std::optional<json::value> document = SendForJson(std::move(request));
  if (!document) return;
  std::vector<std::string> words = c.Words();
  if (words.empty()) {
    out() << RenderTree(*document) << std::flush;
    return;
  }
  const json::value* part = FindPath(*document, words[0]);
  if (part == nullptr) return Fail("no such key: " + words[0]);
  json::object wrapped;
  wrapped[words[0]] = *part;
  out() << RenderTree(wrapped) << std::flush;
}

void Shell::CmdStatus(const DotCommand& c) { PrintTreeOf("status", c); }
void Shell::CmdExpvar(const DotCommand& c) { PrintTreeOf("debug/vars", c); }
void Shell::CmdLeader(const DotCommand&) { PrintTreeOf("leader", DotCommand{}); }

void Shell::CmdNodes(const DotCommand& c) {
  PrintTreeOf(c.args == "all" ? "nodes?nonvoters" : "nodes", DotCommand{});
}

void Shell::CmdReap(const DotCommand&) {
  Request request;
  request.method = Method::kPost;
  request.target = "reap";
  std::optional<json::value> document = SendForJson(std::move(request));
  if (document) out() << RenderTree(*document) << std::flush;
}

void Shell::CmdReady(const DotCommand&) {
  Request request;
  request.target = "readyz";
  Result<Response> response = Send(request);
  if (!response.ok()) return Fail(response.status().message());
  out() << (response->status == 200 ? "ready" : "not ready") << "\n" << std::flush;
}

void Shell::CmdExtensions(const DotCommand&) {
  Request request;
  request.target = "status?key=extensions";
  std::optional<json::value> document = SendForJson(std::move(request));
  if (!document) return;
  const json::value* names = FindPath(*document, "names");
  if (names == nullptr) names = FindPath(*document, "extensions.names");
  if (names == nullptr || !names->is_array()) return;
  for (const auto& name : names->get_array()) out() << CellText(name) << "\n";
  out() << std::flush;
}

void Shell::CmdRemove(const DotCommand& c) {
  if (c.args.empty()) return Fail("please specify a node ID to remove");
  Request request;
  request.method = Method::kDelete;
  request.target = "remove";
  request.content_type = "application/json";
  json::object body;
  body["id"] = c.args;
  request.body = json::serialize(body);
  Result<Response> response = Send(std::move(request));
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) {
    Fail("server responded with " + response->StatusLine() + ": " + Quote(response->body));
  }
}

void Shell::CmdStepdown(const DotCommand& c) {
  Request request;
  request.method = Method::kPost;
  request.target = "leader?wait=true";
  if (!c.args.empty()) {
    json::object body;
    body["id"] = c.args;
    request.body = json::serialize(body);
    request.content_type = "application/json";
  }
  Result<Response> response = Send(std::move(request));
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) Fail("server responded with " + response->StatusLine());
}

void Shell::CmdSnapshot(const DotCommand& c) {
  Request request;
  request.method = Method::kPost;
  request.target = "snapshot";
  if (!c.args.empty()) request.target += "?trailing_logs=" + c.args;
  Result<Response> response = Send(std::move(request));
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200 && response->status != 204) {
    Fail("server responded with " + response->StatusLine());
  }
}

}  // namespace rq::cli
