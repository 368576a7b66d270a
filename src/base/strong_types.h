// Strong types for Raft numbers, so that `term == index` does not compile.
//
// Term and LogIndex are tagged uint64s with ordering and +/- by plain integers;
// NodeId is a string (rqlite node IDs are user-chosen strings such as "1").
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace rq {

template <typename Tag>
class TaggedU64 {
 public:
  constexpr TaggedU64() = default;
  constexpr explicit TaggedU64(uint64_t value) : value_(value) {}
  constexpr uint64_t value() const { return value_; }
  constexpr auto operator<=>(const TaggedU64&) const = default;
  constexpr TaggedU64 operator+(uint64_t delta) const { return TaggedU64(value_ + delta); }
  constexpr TaggedU64 operator-(uint64_t delta) const { return TaggedU64(value_ - delta); }
  constexpr TaggedU64& operator++() { ++value_; return *this; }
  constexpr TaggedU64& operator--() { --value_; return *this; }
  // Distance between two values of the same kind (REQUIRES: *this >= other).
  constexpr uint64_t operator-(TaggedU64 other) const { return value_ - other.value_; }
  friend std::ostream& operator<<(std::ostream& os, TaggedU64 v) { return os << v.value_; }

 private:
  uint64_t value_ = 0;
};

struct TermTag {};
struct LogIndexTag {};
using Term = TaggedU64<TermTag>;
using LogIndex = TaggedU64<LogIndexTag>;

class NodeId {
 public:
  NodeId() = default;
  explicit NodeId(std::string value) : value_(std::move(value)) {}
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const NodeId&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const NodeId& v) { return os << v.value_; }

 private:
  std::string value_;
};

}  // namespace rq

template <typename Tag>
struct std::hash<rq::TaggedU64<Tag>> {
  size_t operator()(rq::TaggedU64<Tag> v) const noexcept { return std::hash<uint64_t>()(v.value()); }
};
template <>
struct std::hash<rq::NodeId> {
  size_t operator()(const rq::NodeId& v) const noexcept { return std::hash<std::string>()(v.value()); }
};
