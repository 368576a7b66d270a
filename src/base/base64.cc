#include "base/base64.h"

#include <cstdint>

namespace rq::base64 {
namespace {

constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int DigitValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t rest = bytes.size() - i;
    const uint32_t group = byte(i) << 16 | (rest > 1 ? byte(i + 1) << 8 : 0) | (rest > 2 ? byte(i + 2) : 0);
    out.push_back(kDigits[(group >> 18) & 0x3F]);
    out.push_back(kDigits[(group >> 12) & 0x3F]);
    out.push_back(rest > 1 ? kDigits[(group >> 6) & 0x3F] : '=');
    out.push_back(rest > 2 ? kDigits[group & 0x3F] : '=');
  }
  return out;
}

std::optional<std::string> Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int values[4];
    int padding = 0;
    for (size_t k = 0; k < 4; k++) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        padding++;
        values[k] = 0;
        continue;
      }
      if (padding > 0) return std::nullopt;  // a digit after '='
      values[k] = DigitValue(c);
      if (values[k] < 0) return std::nullopt;
    }
    const uint32_t group = static_cast<uint32_t>(values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3]);
    out.push_back(static_cast<char>(group >> 16));
    if (padding < 2) out.push_back(static_cast<char>((group >> 8) & 0xFF));
    if (padding < 1) out.push_back(static_cast<char>(group & 0xFF));
  }
  return out;
}

}  // namespace rq::base64
