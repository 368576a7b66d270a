// Shell: the rqlite shell's logic, without a terminal. It takes input one
// line at a time (FeedLine), buffers multi-line SQL until it is complete,
// runs dot-commands, sends SQL to /db/request and writes what rqlite's shell
// prints to `out` (results) and `err` (errors, progress).
//
// Ownership: borrows the Api and both streams; they must outlive the Shell.
// Owns the .output file while one is open.
// Thread-safety: one thread at a time.
#pragma once

#include <boost/json/value.hpp>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/format.h"
#include "cli/input.h"
#include "client/api.h"

namespace rq::cli {

struct ShellOptions {
  bool show_progress = false;  // progress on stderr for large transfers
  // SQL piped in: errors go to stdout between the results, as rqlite's
  // shell prints them, and only count as a failure when errors_fail.
  bool errors_on_stdout = false;
  bool errors_fail = true;
};

class Shell {
 public:
  enum class LineResult {
    kDone,      // the line was handled (or buffered into a finished statement)
    kNeedMore,  // a statement is open: read another line (continuation prompt)
    kQuit,      // .exit / .quit / exit / quit
  };

  Shell(client::Api& api, std::ostream& out, std::ostream& err, ShellOptions options = {});
  ~Shell();
  Shell(const Shell&) = delete;
  Shell& operator=(const Shell&) = delete;

  LineResult FeedLine(std::string_view line);
  // End of input: an unfinished statement is reported as an error.
  void FinishInput();

  // Fetches the server version (X-RQLITE-VERSION, else /status build.version).
  Result<std::string> ServerVersion();

  // "host:port> ", or the continuation prompt of the same width.
  std::string Prompt() const;
  // True once any statement or command has failed (the exit status).
  bool failed() const { return failed_; }
  // Dot-commands, table and column names, for tab completion.
  std::vector<std::string> CompletionWords();
  // The .help text: one line per command, sorted.
  static std::string HelpText();

 private:
  using Handler = void (Shell::*)(const DotCommand&);
  struct CommandSpec {
    std::string_view name;
    std::string_view usage;
    std::string_view description;
    Handler handler;
  };
  static const std::vector<CommandSpec>& Commands();

  // Output goes to the .output file when one is open.
  std::ostream& out();
  void Fail(std::string_view message);        // "ERR! message"
  void FailSql(std::string_view message);     // "Error: message"
  void Report(std::string_view prefix, std::string_view message);
  void NoteHost();
  Result<client::Response> Send(client::Request request);
  // A 200 response parsed as JSON, or a failure already reported.
  std::optional<boost::json::value> SendForJson(client::Request request);
  client::ProgressFn Progress(std::string label);

  void RunDotCommand(const DotCommand& command);
  void RunStatements(const std::vector<std::string>& statements);
  void PrintResult(const boost::json::object& result);
  void Query(std::string_view sql);  // read-only helper queries (.tables ...)
  bool SetToggle(const DotCommand& command, bool& flag);

  void CmdBackup(const DotCommand& c);
  void CmdBlobArray(const DotCommand& c);
  void CmdBoot(const DotCommand& c);
  void CmdChanges(const DotCommand& c);
  void CmdConsistency(const DotCommand& c);
  void CmdDump(const DotCommand& c);
  void CmdExpvar(const DotCommand& c);
  void CmdExtensions(const DotCommand& c);
  void CmdForceWrites(const DotCommand& c);
  void CmdHelp(const DotCommand& c);
  void CmdIndexes(const DotCommand& c);
  void CmdLeader(const DotCommand& c);
  void CmdMode(const DotCommand& c);
  void CmdNodes(const DotCommand& c);
  void CmdOutput(const DotCommand& c);
  void CmdRead(const DotCommand& c);
  void CmdReady(const DotCommand& c);
  void CmdReap(const DotCommand& c);
  void CmdRemove(const DotCommand& c);
  void CmdRestore(const DotCommand& c);
  void CmdSchema(const DotCommand& c);
  void CmdShow(const DotCommand& c);
  void CmdSnapshot(const DotCommand& c);
  void CmdStatus(const DotCommand& c);
  void CmdStepdown(const DotCommand& c);
  void CmdSysdump(const DotCommand& c);
  void CmdTables(const DotCommand& c);
  void CmdTimer(const DotCommand& c);
  void CmdQuit(const DotCommand& c);
  void PrintTreeOf(std::string_view target, const DotCommand& c);

  client::Api& api_;
  std::ostream& base_out_;
  std::ostream& err_;
  ShellOptions options_;
  SqlSplitter splitter_;
  std::string pending_;  // buffered lines of an unfinished statement
  std::string host_;     // shown in the prompt
  bool failed_ = false;
  bool reading_file_ = false;  // .read is running: no nested .read

  bool timer_ = false;
  bool blob_array_ = false;
  bool changes_ = false;
  bool force_writes_ = false;
  std::string consistency_ = "weak";
  OutputMode mode_ = OutputMode::kColumn;
  std::string output_path_;
  std::unique_ptr<std::ofstream> output_file_;

  std::optional<std::vector<std::string>> schema_words_;  // completion cache
};

}  // namespace rq::cli
