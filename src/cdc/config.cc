#include "cdc/config.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/regex.hpp>

#include <cctype>
#include <memory>
#include <set>

#include "base/go_compat.h"

namespace rq::cdc {

namespace json = boost::json;

namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) { return a.size() == b.size() && StartsWithNoCase(a, b); }

bool IsUrl(std::string_view text) { return StartsWithNoCase(text, "http://") || StartsWithNoCase(text, "https://"); }

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument("cdc config: " + std::string(field) + " " + std::string(what));
}

Result<std::chrono::nanoseconds> DurationField(std::string_view field, const json::value& v) {
  if (v.is_int64()) return std::chrono::nanoseconds(v.as_int64());
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::chrono::nanoseconds(static_cast<int64_t>(v.as_uint64()));
  }
  if (v.is_string()) {
    Result<std::chrono::nanoseconds> parsed = ParseGoDuration(std::string_view(v.as_string()));
    if (!parsed.ok()) return FieldError(field, "is not a duration: " + parsed.status().message());
    return parsed;
  }
  return FieldError(field, "must be a duration (\"250ms\") or integer nanoseconds");
}

Result<std::string> StringField(std::string_view field, const json::value& v) {
  if (v.is_null()) return std::string();
  if (!v.is_string()) return FieldError(field, "must be a string");
  return std::string(v.as_string());
}

Result<bool> BoolField(std::string_view field, const json::value& v) {
  if (v.is_null()) return false;
  if (!v.is_bool()) return FieldError(field, "must be true or false");
  return v.as_bool();
}

Result<int64_t> IntField(std::string_view field, const json::value& v) {
  if (v.is_int64() && v.as_int64() >= INT32_MIN && v.as_int64() <= INT32_MAX) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT32_MAX)) return static_cast<int64_t>(v.as_uint64());
  return FieldError(field, "must be an integer between -2147483648 and 2147483647");
}

Status ParseTls(const json::value& v, TlsConfig* tls, std::vector<std::string>* warnings) {
  if (v.is_null()) return Status::OK();
  if (!v.is_object()) return FieldError("tls", "must be an object");
  for (const auto& [key, value] : v.as_object()) {
    if (key == "ca_cert_file") {
      RQ_ASSIGN_OR_RETURN(tls->ca_cert_file, StringField("tls.ca_cert_file", value));
    } else if (key == "cert_file") {
      RQ_ASSIGN_OR_RETURN(tls->cert_file, StringField("tls.cert_file", value));
    } else if (key == "key_file") {
      RQ_ASSIGN_OR_RETURN(tls->key_file, StringField("tls.key_file", value));
    } else if (key == "server_name") {
      RQ_ASSIGN_OR_RETURN(tls->server_name, StringField("tls.server_name", value));
    } else if (key == "insecure_skip_verify") {
      RQ_ASSIGN_OR_RETURN(tls->insecure_skip_verify, BoolField("tls.insecure_skip_verify", value));
    } else {
      warnings->push_back("tls." + std::string(key));
    }
  }
  return Status::OK();
}

}  // namespace

bool Config::to_stdout() const { return EqualsNoCase(endpoint, "stdout"); }

std::string Config::RedactedEndpoint() const {
  if (!IsUrl(endpoint)) return endpoint;
  const size_t scheme_end = endpoint.find("://") + 3;
  const size_t path = endpoint.find('/', scheme_end);
  const size_t at = endpoint.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at == std::string::npos || at < scheme_end) return endpoint;
  return endpoint.substr(0, scheme_end) + endpoint.substr(at + 1);
}

Status Config::Validate() const {
  if (endpoint.empty()) return FieldError("endpoint", "is required");
  if (!to_stdout() && !IsUrl(endpoint)) {
    const size_t colon = endpoint.find(':');
    return Status::InvalidArgument("cdc: unsupported scheme \"" +
                                   (colon == std::string::npos ? endpoint : endpoint.substr(0, colon)) +
                                   "\" (the endpoint is stdout or an http(s) URL)");
  }
  if (max_batch_size <= 0) return FieldError("max_batch_size", "must be at least 1");
  for (auto [field, value] : {std::pair{"max_batch_delay", max_batch_delay},
                              std::pair{"high_watermark_interval", high_watermark_interval},
                              std::pair{"transmit_timeout", transmit_timeout},
                              std::pair{"transmit_min_backoff", transmit_min_backoff},
                              std::pair{"transmit_max_backoff", transmit_max_backoff}}) {
    if (value.count() < 0) return FieldError(field, "must not be negative");
    // Beyond any use, and doubling a backoff or adding a deadline stays
    // far from overflowing.
    if (value > std::chrono::hours(24)) return FieldError(field, "must be at most 24h");
  }
  if (high_watermark_interval.count() == 0) return FieldError("high_watermark_interval", "must be positive");
  if (transmit_timeout.count() == 0) return FieldError("transmit_timeout", "must be positive");
  if (transmit_max_backoff < transmit_min_backoff) {
    return FieldError("transmit_max_backoff", "must not be below transmit_min_backoff");
  }
  if (transmit_max_retries && *transmit_max_retries < 0) return FieldError("transmit_max_retries", "must not be negative");
  if (!tls.cert_file.empty() != !tls.key_file.empty()) {
    return FieldError("tls", "needs both cert_file and key_file, or neither");
  }
  return CompileTableFilter(table_filter).status();
}

bool FlagIsPath(std::string_view flag) { return !flag.empty() && flag != "stdout" && !IsUrl(flag); }

Result<Config> ConfigForEndpoint(std::string_view flag) {
  Config config;
  config.endpoint = std::string(flag);
  RQ_RETURN_IF_ERROR(config.Validate());
  return config;
}

Result<ParsedConfig> ParseConfigJson(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Status::InvalidArgument("cdc config: not valid JSON: " + ec.message());
  if (!root.is_object()) return Status::InvalidArgument("cdc config: must be a JSON object");
  ParsedConfig parsed;
  Config& c = parsed.config;
  for (const auto& [key_view, v] : root.as_object()) {
    const std::string key(key_view);
    if (key == "endpoint") {
      RQ_ASSIGN_OR_RETURN(c.endpoint, StringField(key, v));
    } else if (key == "service_id") {
      RQ_ASSIGN_OR_RETURN(c.service_id, StringField(key, v));
    } else if (key == "row_ids_only") {
      RQ_ASSIGN_OR_RETURN(c.row_ids_only, BoolField(key, v));
    } else if (key == "table_filter") {
      RQ_ASSIGN_OR_RETURN(c.table_filter, StringField(key, v));
    } else if (key == "tls") {
      RQ_RETURN_IF_ERROR(ParseTls(v, &c.tls, &parsed.warnings));
    } else if (key == "max_batch_size") {
      RQ_ASSIGN_OR_RETURN(int64_t size, IntField(key, v));
      c.max_batch_size = size <= 0 ? 10 : static_cast<int>(size);  // rqlite: the default when unset or <= 0
    } else if (key == "max_batch_delay" || key == "high_watermark_interval" || key == "transmit_timeout" ||
               key == "transmit_min_backoff" || key == "transmit_max_backoff") {
      RQ_ASSIGN_OR_RETURN(std::chrono::nanoseconds d, DurationField(key, v));
      // Zero is unset in Go's config: the default stays.
      if (d.count() == 0) continue;
      if (key == "max_batch_delay") c.max_batch_delay = d;
      if (key == "high_watermark_interval") c.high_watermark_interval = d;
      if (key == "transmit_timeout") c.transmit_timeout = d;
      if (key == "transmit_min_backoff") c.transmit_min_backoff = d;
      if (key == "transmit_max_backoff") c.transmit_max_backoff = d;
    } else if (key == "transmit_max_retries") {
      if (v.is_null()) continue;
      RQ_ASSIGN_OR_RETURN(int64_t retries, IntField(key, v));
      // rqlite's sender never reaches an attempt count of 0: it retries on.
      if (retries > 0) c.transmit_max_retries = static_cast<int>(retries);
    } else if (key == "transmit_retry_policy") {
      if (v.is_int64() && (v.as_int64() == 0 || v.as_int64() == 1)) {
        c.transmit_retry_policy = static_cast<RetryPolicy>(v.as_int64());
      } else if (v.is_string() && (EqualsNoCase(v.as_string(), "ExponentialRetryPolicy") ||
                                   EqualsNoCase(v.as_string(), "exponential"))) {
        c.transmit_retry_policy = RetryPolicy::kExponential;
      } else if (v.is_string() &&
                 (EqualsNoCase(v.as_string(), "LinearRetryPolicy") || EqualsNoCase(v.as_string(), "linear"))) {
        c.transmit_retry_policy = RetryPolicy::kLinear;
      } else {
        return FieldError(key, "must be 0 (linear), 1 (exponential), \"LinearRetryPolicy\" or \"ExponentialRetryPolicy\"");
      }
    } else {
      parsed.warnings.push_back(key);
    }
  }
  RQ_RETURN_IF_ERROR(c.Validate());
  return parsed;
}

Result<TableMatcher> CompileTableFilter(const std::string& pattern) {
  if (pattern.empty()) return TableMatcher();
  std::shared_ptr<const boost::regex> re;
  try {
    re = std::make_shared<const boost::regex>(pattern, boost::regex::perl);
  } catch (const std::exception& e) {
    return FieldError("table_filter", "is not a valid regular expression: " + std::string(e.what()));
  }
  // Boost's matcher is not recursive (a long table name cannot overflow
  // the apply thread's stack) and gives up with an exception on patterns
  // too costly to match; such a table's rows are captured rather than lost.
  return TableMatcher([re](std::string_view table) {
    try {
      return boost::regex_search(table.begin(), table.end(), *re);
    } catch (const std::exception&) {
      return true;
    }
  });
}

}  // namespace rq::cdc
