// Standard base64 (RFC 4648, with padding), as Go's encoding/base64
// StdEncoding writes and reads it: BLOB values in query answers, Basic auth
// headers, Consul and etcd KV values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rq::base64 {

std::string Encode(std::string_view bytes);

// nullopt unless `text` is canonical padded base64: a length that is a
// multiple of 4, only the 64 digits, '=' only as the last one or two
// characters.
std::optional<std::string> Decode(std::string_view text);

}  // namespace rq::base64
