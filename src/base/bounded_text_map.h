// A map from SQL text (or any text) to a small value, bounded in entries and
// in the length of a key: a cache of verdicts on texts clients repeat (one
// INSERT sent by every request), where a workload of distinct texts must not
// grow memory. Full, it is cleared and starts again; a text past the length
// bound is never remembered.
//
// Thread-safety: none; callers guard it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rq {

template <typename Value>
class BoundedTextMap {
 public:
  BoundedTextMap(size_t entries_max, size_t text_bytes_max)
      : entries_max_(entries_max), text_bytes_max_(text_bytes_max) {}

  const Value* Find(std::string_view text) const {
    auto it = map_.find(text);
    return it == map_.end() ? nullptr : &it->second;
  }

  void Put(std::string_view text, Value value) {
    if (text.size() > text_bytes_max_) return;
    if (map_.size() >= entries_max_ && !map_.contains(text)) map_.clear();
    map_.insert_or_assign(std::string(text), std::move(value));
  }

  void Clear() { map_.clear(); }
  size_t size() const { return map_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
  };

  const size_t entries_max_;
  const size_t text_bytes_max_;
  std::unordered_map<std::string, Value, Hash, std::equal_to<>> map_;
};

}  // namespace rq
