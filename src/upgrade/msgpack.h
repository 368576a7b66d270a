// A minimal msgpack decoder (into a small tree of MsgpackValue) for what
// hashicorp/go-msgpack writes for raft.Log and raft.Configuration: maps with
// string keys, ints of every width, nil, bool, floats, arrays, and byte
// strings. go-msgpack writes []byte with the *old* spec's raw type (fixstr,
// str16, str32: 0xa0-0xbf, 0xda, 0xdb) and time.Time as raw bytes of the
// timestamp extension body, so str and bin are both kBytes here; ext values
// keep their type and body.
//
// Hostile input: every length is checked against the bytes left, nesting is
// bounded (kDepthMax), and a count larger than the remaining bytes could
// possibly hold is refused before anything is allocated.
//
// Thread-safety: values; decoded views point into the input, which must
// outlive the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rq::upgrade {

namespace msgpack_limits {
inline constexpr int kDepthMax = 32;
}  // namespace msgpack_limits

struct MsgpackValue {
  enum class Kind : uint8_t { kNil, kBool, kInt, kUint, kFloat, kBytes, kArray, kMap, kExt };

  Kind kind = Kind::kNil;
  bool boolean = false;
  int64_t int_value = 0;    // kInt: negative integers only
  uint64_t uint_value = 0;  // kUint: non-negative integers
  double float_value = 0;
  std::string_view bytes;  // kBytes: str or bin; kExt: the body
  int8_t ext_type = 0;
  // kArray: the elements. kMap: keys and values alternating, in input
  // order (key i at 2i, its value at 2i + 1).
  std::vector<MsgpackValue> items;

  bool is_nil() const { return kind == Kind::kNil; }
  size_t map_size() const { return kind == Kind::kMap ? items.size() / 2 : 0; }
  // Value under a string key of a map; nullptr when absent or not a map.
  const MsgpackValue* Find(std::string_view key) const;
  // Unsigned value of kUint (or of a non-negative kInt); nullopt otherwise.
  std::optional<uint64_t> AsUint() const;
  // Signed value of kInt or of a kUint that fits; nullopt otherwise.
  std::optional<int64_t> AsInt() const;
  // kBytes body; nullopt otherwise (nil too: callers choose what nil means).
  std::optional<std::string_view> AsBytes() const;
};

// Decodes exactly one value that must span the whole input.
Result<MsgpackValue> DecodeMsgpack(std::string_view input);

// Decodes one value from the front of *input and advances it.
Result<MsgpackValue> DecodeMsgpackPrefix(std::string_view* input);

}  // namespace rq::upgrade
