#include "cli/line_editor.h"

// clang-format off
#include <cstdio>
#include <editline/readline.h>
// clang-format on

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/assert.h"
#include "cli/input.h"

namespace rq::cli {
namespace {

constexpr int kHistorySizeDefault = 100;

// libedit calls plain C functions, so the word source lives here while the
// (single) LineEditor exists.
LineEditor::WordSource* g_words = nullptr;
std::vector<std::string> g_matches;
size_t g_match_next = 0;

bool StartsWithNoCase(std::string_view word, std::string_view prefix) {
  if (word.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(word[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

char* NextMatch(const char* text, int state) {
  if (state == 0) {
    g_matches.clear();
    g_match_next = 0;
    std::string_view prefix(text);
    for (const std::string& word : (*g_words)()) {
      bool is_command = !word.empty() && word[0] == '.';
      if (is_command != (!prefix.empty() && prefix[0] == '.')) continue;
      if (StartsWithNoCase(word, prefix)) g_matches.push_back(word);
    }
  }
  if (g_match_next >= g_matches.size()) return nullptr;
  return strdup(g_matches[g_match_next++].c_str());
}

char** Complete(const char* text, int start, int end) {
  (void)end;
  bool first_word = std::string_view(rl_line_buffer).substr(0, start).find_first_not_of(" \t") ==
                    std::string_view::npos;
  bool in_dot_command = !first_word && Trim(rl_line_buffer).starts_with(".");
  if (in_dot_command) return nullptr;  // file names and the like: libedit's default
  rl_attempted_completion_over = 1;
  return rl_completion_matches(text, NextMatch);
}

}  // namespace

int HistorySize(const char* env_value) {
  if (env_value == nullptr || *env_value == '\0') return kHistorySizeDefault;
  char* end = nullptr;
  long value = std::strtol(env_value, &end, 10);
  if (*end != '\0' || value < 0 || value > 1000000) return kHistorySizeDefault;
  return static_cast<int>(value);
}

std::vector<std::string> LoadHistory(const std::string& path, int size_max) {
  std::vector<std::string> entries;
  if (size_max <= 0) return entries;
  std::ifstream file(path);
  std::string line;
  while (std::getline(file, line)) {
    if (!Trim(line).empty()) entries.push_back(line);
  }
  if (entries.size() > static_cast<size_t>(size_max)) {
    entries.erase(entries.begin(), entries.end() - size_max);
  }
  return entries;
}

bool SaveHistory(const std::string& path, const std::deque<std::string>& entries, int size_max) {
  if (size_max <= 0) {
    std::remove(path.c_str());
    return true;
  }
  std::ofstream file(path, std::ios::trunc);
  if (!file) return false;
  size_t skip = entries.size() > static_cast<size_t>(size_max) ? entries.size() - size_max : 0;
  for (size_t i = skip; i < entries.size(); ++i) file << entries[i] << "\n";
  return static_cast<bool>(file.flush());
}

LineEditor::LineEditor(std::string history_path, int history_size, WordSource words)
    : history_path_(std::move(history_path)), history_size_(history_size) {
  RQ_ASSERT(g_words == nullptr);
  g_words = new WordSource(std::move(words));
  rl_readline_name = "rqlite";
  rl_attempted_completion_function = Complete;
  static char kBreakCharacters[] = " \t\n\"'`@$><=;|&{(,)";
  rl_completer_word_break_characters = kBreakCharacters;
  using_history();
  for (std::string& entry : LoadHistory(history_path_, history_size_)) {
    add_history(entry.c_str());
    entries_.push_back(std::move(entry));
  }
}

LineEditor::~LineEditor() {
  SaveHistory(history_path_, entries_, history_size_);
  delete g_words;
  g_words = nullptr;
}

std::optional<std::string> LineEditor::ReadLine(const std::string& prompt) {
  char* line = readline(prompt.c_str());
  if (line == nullptr) return std::nullopt;
  std::string text(line);
  std::free(line);
  return text;
}

void LineEditor::AddHistory(const std::string& entry) {
  if (Trim(entry).empty() || history_size_ <= 0) return;
  // One entry per line in the file: a multi-line statement is joined.
  std::string flat = entry;
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  if (!entries_.empty() && entries_.back() == flat) return;
  add_history(flat.c_str());
  entries_.push_back(flat);
  while (entries_.size() > static_cast<size_t>(history_size_)) entries_.pop_front();
}

}  // namespace rq::cli
