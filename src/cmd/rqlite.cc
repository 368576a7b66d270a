// rqlite: the command-line shell for rqlited. main() only wires options to
// the HTTP client, the shell logic and (when interactive) the line editor.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "base/build_info.h"
#include "cli/line_editor.h"
#include "cli/options.h"
#include "cli/shell.h"
#include "client/http_client.h"

namespace {

constexpr char kVersion[] = "v10.0.0-cpp";

rq::client::ClientOptions ToClientOptions(const rq::cli::CliOptions& options) {
  rq::client::ClientOptions client;
  client.scheme = options.scheme;
  client.hosts.push_back(options.Address());
  client.hosts.insert(client.hosts.end(), options.alternatives.begin(), options.alternatives.end());
  client.prefix = options.prefix;
  client.insecure = options.insecure;
  client.ca_cert_path = options.ca_cert;
  client.client_cert_path = options.client_cert;
  client.client_key_path = options.client_key;
  client.basic_auth = options.user;
  client.timeout = options.http_timeout;
  return client;
}

// Feeds text that may span several lines (an argument or a script).
bool FeedText(rq::cli::Shell& shell, const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (shell.FeedLine(std::string_view(text).substr(start, end - start)) ==
        rq::cli::Shell::LineResult::kQuit) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

int RunScripted(rq::cli::Shell& shell, const rq::cli::CliOptions& options) {
  if (!options.statements.empty()) {
    for (const std::string& statement : options.statements) {
      if (!FeedText(shell, statement)) break;
      shell.FinishInput();
    }
  } else {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (shell.FeedLine(line) == rq::cli::Shell::LineResult::kQuit) break;
      if (options.bail && shell.failed()) return 1;
    }
  }
  shell.FinishInput();
  return shell.failed() ? 1 : 0;
}

int RunInteractive(rq::cli::Shell& shell, rq::client::Api& api) {
  rq::Result<std::string> version = shell.ServerVersion();
  if (!version.ok()) {
    if (version.status().code() == rq::Status::Code::kUnavailable) {
      std::cerr << "ERR! Unable to connect to rqlited at " << api.current_url() << " - is it running?\n";
    } else {
      std::cerr << "ERR! " << version.status().message() << "\n";
    }
    return 1;
  }
  std::cout << "Welcome to the rqlite CLI.\n"
            << "Enter \".help\" for usage hints.\n"
            << "Connected to " << api.current_url() << " running version " << *version << "\n"
            << std::flush;
  const char* home = std::getenv("HOME");
  std::string history_path = std::string(home ? home : ".") + "/.rqlite_history";
  rq::cli::LineEditor editor(history_path, rq::cli::HistorySize(std::getenv("RQLITE_HISTFILESIZE")),
                             [&shell] { return shell.CompletionWords(); });
  std::string entry;
  while (std::optional<std::string> line = editor.ReadLine(shell.Prompt())) {
    entry += entry.empty() ? *line : "\n" + *line;
    rq::cli::Shell::LineResult result = shell.FeedLine(*line);
    if (result == rq::cli::Shell::LineResult::kNeedMore) continue;
    editor.AddHistory(entry);
    entry.clear();
    if (result == rq::cli::Shell::LineResult::kQuit) break;
  }
  std::cout << "bye~\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  rq::Result<rq::cli::CliOptions> options = rq::cli::ParseOptions(args, std::getenv("RQLITE_HOST"));
  if (!options.ok()) {
    std::cerr << "ERR! " << options.status().message() << "\nRun 'rqlite -h' for usage.\n";
    return 2;
  }
  if (options->help) {
    std::cout << rq::cli::UsageText();
    return 0;
  }
  if (options->version) {
    std::cout << "Version " << kVersion << " (C++ reimplementation of the rqlite shell), commit "
              << rq::ThisBuild().commit << ", branch " << rq::ThisBuild().branch << ", built "
              << rq::ThisBuild().build_time << "\n";
    return 0;
  }
  auto client = rq::client::HttpClient::Create(ToClientOptions(*options));
  if (!client.ok()) {
    std::cerr << "ERR! " << client.status().message() << "\n";
    return 2;
  }
  bool interactive = options->statements.empty() && isatty(STDIN_FILENO) == 1;
  rq::cli::ShellOptions shell_options;
  shell_options.show_progress = interactive && isatty(STDERR_FILENO) == 1;
  if (!interactive && options->statements.empty()) {  // SQL piped in
    shell_options.errors_on_stdout = true;
    shell_options.errors_fail = options->bail;
  }
  rq::cli::Shell shell(**client, std::cout, std::cerr, shell_options);
  return interactive ? RunInteractive(shell, **client) : RunScripted(shell, *options);
}
