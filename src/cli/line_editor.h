// LineEditor: interactive line input for the shell through libedit (its
// readline interface): editing keys, history kept in ~/.rqlite_history in
// rqlite's format (one entry per line, the newest last, at most
// RQLITE_HISTFILESIZE entries, 0 = no history file at all), and tab
// completion of dot-commands and of words supplied by a callback (table and
// column names fetched from the server).
//
// Ownership: libedit's state is process-global, so at most one LineEditor
// may exist at a time. The destructor writes the history file.
// Thread-safety: one thread only.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rq::cli {

// Entries to keep: RQLITE_HISTFILESIZE if it is a non-negative integer,
// else 100.
int HistorySize(const char* env_value);

// Reads the history file; keeps the newest `size_max` entries.
std::vector<std::string> LoadHistory(const std::string& path, int size_max);
// Writes the newest `size_max` entries; removes the file when size_max is 0.
bool SaveHistory(const std::string& path, const std::deque<std::string>& entries, int size_max);

class LineEditor {
 public:
  using WordSource = std::function<std::vector<std::string>()>;

  LineEditor(std::string history_path, int history_size, WordSource words);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // nullopt at end of input (Ctrl-D).
  std::optional<std::string> ReadLine(const std::string& prompt);
  // Records one entry (a whole, possibly multi-line, statement).
  void AddHistory(const std::string& entry);

 private:
  std::string history_path_;
  int history_size_;
  std::deque<std::string> entries_;
};

}  // namespace rq::cli
