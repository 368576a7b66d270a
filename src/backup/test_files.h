// Small file helpers shared by the backup tests.
#pragma once

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <string>

namespace rq::backup::test_files {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Entries in `dir` other than "." and "..", hidden ones included.
inline int CountFiles(const std::string& dir) {
  int n = 0;
  DIR* d = ::opendir(dir.c_str());
  while (dirent* e = d ? ::readdir(d) : nullptr) n += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
  if (d) ::closedir(d);
  return n;
}

}  // namespace rq::backup::test_files
