// UTF-8 validation for text that arrives from outside (SQL dumps sent to
// /db/load): well-formed per RFC 3629, so no overlong forms, surrogates or
// code points past U+10FFFF, and no NUL byte, which SQLite's parser takes
// as the end of the text.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace rq {

// The offset of the first byte that breaks the rule, or nullopt if `text`
// is NUL-free, well-formed UTF-8.
std::optional<size_t> FirstInvalidUtf8Byte(std::string_view text);

}  // namespace rq
