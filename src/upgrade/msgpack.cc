// msgpack decoding: one recursive descent bounded by kDepthMax, every read
// checked against the bytes left.
#include "upgrade/msgpack.h"

#include <cstring>
#include <string>

namespace rq::upgrade {

namespace {

class Decoder {
 public:
  explicit Decoder(std::string_view input) : input_(input) {}

  Result<MsgpackValue> Value(int depth);
  size_t consumed() const { return position_; }

 private:
  Status Truncated(std::string_view what) const {
    return Status::Corruption("msgpack: input ends inside " + std::string(what) + " at byte " +
                              std::to_string(position_));
  }
  bool Take(size_t n, std::string_view* out) {
    if (n > input_.size() - position_) return false;
    *out = input_.substr(position_, n);
    position_ += n;
    return true;
  }
  // Big-endian unsigned of `width` bytes.
  bool TakeUint(size_t width, uint64_t* out) {
    std::string_view bytes;
    if (!Take(width, &bytes)) return false;
    uint64_t v = 0;
    for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
    *out = v;
    return true;
  }
  Result<MsgpackValue> Bytes(size_t length_width, uint64_t fixed_length);
  Result<MsgpackValue> Container(bool is_map, uint64_t count, int depth);
  Result<MsgpackValue> Ext(size_t length_width, uint64_t fixed_length);

  std::string_view input_;
  size_t position_ = 0;
};

Result<MsgpackValue> Decoder::Bytes(size_t length_width, uint64_t fixed_length) {
  uint64_t length = fixed_length;
  if (length_width > 0 && !TakeUint(length_width, &length)) return Truncated("a string length");
  MsgpackValue v;
  v.kind = MsgpackValue::Kind::kBytes;
  if (!Take(length, &v.bytes)) return Truncated("a string of " + std::to_string(length) + " bytes");
  return v;
}

Result<MsgpackValue> Decoder::Ext(size_t length_width, uint64_t fixed_length) {
  uint64_t length = fixed_length;
  if (length_width > 0 && !TakeUint(length_width, &length)) return Truncated("an ext length");
  uint64_t type = 0;
  if (!TakeUint(1, &type)) return Truncated("an ext type");
  MsgpackValue v;
  v.kind = MsgpackValue::Kind::kExt;
  v.ext_type = static_cast<int8_t>(static_cast<uint8_t>(type));
  if (!Take(length, &v.bytes)) return Truncated("an ext body");
  return v;
}

Result<MsgpackValue> Decoder::Container(bool is_map, uint64_t count, int depth) {
  // Each element takes at least one byte: a larger count cannot be honest.
  uint64_t left = input_.size() - position_;
  if (count > left || (is_map && count > left / 2)) {
    return Status::Corruption("msgpack: " + std::string(is_map ? "map" : "array") + " of " + std::to_string(count) +
                              " elements at byte " + std::to_string(position_) + " exceeds the input");
  }
  MsgpackValue v;
  v.kind = is_map ? MsgpackValue::Kind::kMap : MsgpackValue::Kind::kArray;
  const uint64_t values = is_map ? 2 * count : count;
  v.items.reserve(values);
  for (uint64_t i = 0; i < values; ++i) {
    Result<MsgpackValue> item = Value(depth + 1);
    if (!item.ok()) return item.status();
    v.items.push_back(std::move(*item));
  }
  return v;
}

Result<MsgpackValue> Decoder::Value(int depth) {
  if (depth > msgpack_limits::kDepthMax) {
    return Status::Corruption("msgpack: nesting deeper than " + std::to_string(msgpack_limits::kDepthMax));
  }
  uint64_t tag = 0;
  if (!TakeUint(1, &tag)) return Truncated("a value");
  MsgpackValue v;
  using Kind = MsgpackValue::Kind;
  if (tag <= 0x7f) {  // positive fixint
    v.kind = Kind::kUint;
    v.uint_value = tag;
    return v;
  }
  if (tag >= 0xe0) {  // negative fixint
    v.kind = Kind::kInt;
    v.int_value = static_cast<int8_t>(static_cast<uint8_t>(tag));
    return v;
  }
  if (tag >= 0x80 && tag <= 0x8f) return Container(true, tag & 0x0f, depth);
  if (tag >= 0x90 && tag <= 0x9f) return Container(false, tag & 0x0f, depth);
  if (tag >= 0xa0 && tag <= 0xbf) return Bytes(0, tag & 0x1f);
  uint64_t raw = 0;
  switch (tag) {
    case 0xc0:
      return v;  // nil
    case 0xc2:
    case 0xc3:
      v.kind = Kind::kBool;
      v.boolean = tag == 0xc3;
      return v;
    case 0xc4: return Bytes(1, 0);  // bin 8
    case 0xc5: return Bytes(2, 0);  // bin 16
    case 0xc6: return Bytes(4, 0);  // bin 32
    case 0xc7: return Ext(1, 0);    // ext 8
    case 0xc8: return Ext(2, 0);    // ext 16
    case 0xc9: return Ext(4, 0);    // ext 32
    case 0xca: {                    // float 32
      if (!TakeUint(4, &raw)) return Truncated("a float");
      uint32_t bits = static_cast<uint32_t>(raw);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      v.kind = Kind::kFloat;
      v.float_value = f;
      return v;
    }
    case 0xcb: {  // float 64
      if (!TakeUint(8, &raw)) return Truncated("a double");
      double d;
      std::memcpy(&d, &raw, sizeof d);
      v.kind = Kind::kFloat;
      v.float_value = d;
      return v;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {  // uint 8/16/32/64
      if (!TakeUint(size_t{1} << (tag - 0xcc), &raw)) return Truncated("an unsigned integer");
      v.kind = Kind::kUint;
      v.uint_value = raw;
      return v;
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {  // int 8/16/32/64: sign-extend from the width
      size_t width = size_t{1} << (tag - 0xd0);
      if (!TakeUint(width, &raw)) return Truncated("a signed integer");
      int64_t value = width == 8 ? static_cast<int64_t>(raw)
                                 : static_cast<int64_t>(raw << (64 - 8 * width)) >> (64 - 8 * width);
      if (value >= 0) {
        v.kind = Kind::kUint;
        v.uint_value = static_cast<uint64_t>(value);
      } else {
        v.kind = Kind::kInt;
        v.int_value = value;
      }
      return v;
    }
    case 0xd4: return Ext(0, 1);   // fixext 1
    case 0xd5: return Ext(0, 2);   // fixext 2
    case 0xd6: return Ext(0, 4);   // fixext 4
    case 0xd7: return Ext(0, 8);   // fixext 8
    case 0xd8: return Ext(0, 16);  // fixext 16
    case 0xd9: return Bytes(1, 0);  // str 8
    case 0xda: return Bytes(2, 0);  // str 16 (old spec: raw 16)
    case 0xdb: return Bytes(4, 0);  // str 32 (old spec: raw 32)
    case 0xdc:
    case 0xdd: {  // array 16/32
      if (!TakeUint(tag == 0xdc ? 2 : 4, &raw)) return Truncated("an array length");
      return Container(false, raw, depth);
    }
    case 0xde:
    case 0xdf: {  // map 16/32
      if (!TakeUint(tag == 0xde ? 2 : 4, &raw)) return Truncated("a map length");
      return Container(true, raw, depth);
    }
    default:  // 0xc1 is never used
      return Status::Corruption("msgpack: reserved type byte 0xc1 at byte " + std::to_string(position_ - 1));
  }
}

}  // namespace

const MsgpackValue* MsgpackValue::Find(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].kind == Kind::kBytes && items[i].bytes == key) return &items[i + 1];
  }
  return nullptr;
}

std::optional<uint64_t> MsgpackValue::AsUint() const {
  if (kind == Kind::kUint) return uint_value;
  return std::nullopt;
}

std::optional<int64_t> MsgpackValue::AsInt() const {
  if (kind == Kind::kInt) return int_value;
  if (kind == Kind::kUint && uint_value <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(uint_value);
  return std::nullopt;
}

std::optional<std::string_view> MsgpackValue::AsBytes() const {
  if (kind == Kind::kBytes) return bytes;
  return std::nullopt;
}

Result<MsgpackValue> DecodeMsgpackPrefix(std::string_view* input) {
  Decoder decoder(*input);
  Result<MsgpackValue> value = decoder.Value(0);
  if (!value.ok()) return value.status();
  input->remove_prefix(decoder.consumed());
  return value;
}

Result<MsgpackValue> DecodeMsgpack(std::string_view input) {
  std::string_view rest = input;
  Result<MsgpackValue> value = DecodeMsgpackPrefix(&rest);
  if (!value.ok()) return value.status();
  if (!rest.empty()) {
    return Status::Corruption("msgpack: " + std::to_string(rest.size()) + " bytes after the value");
  }
  return value;
}

}  // namespace rq::upgrade
