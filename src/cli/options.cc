#include "cli/options.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace rq::cli {
namespace {

enum class Flag {
  kAlternatives, kScheme, kHost, kPort, kPrefix, kInsecure, kCaCert, kClientCert,
  kClientKey, kUser, kVersion, kTimeout, kHelp, kBail,
};

struct FlagSpec {
  char short_name;
  std::string_view long_name;
  Flag flag;
  bool takes_value;
};

constexpr FlagSpec kFlags[] = {
    {'a', "alternatives", Flag::kAlternatives, true},
    {'s', "scheme", Flag::kScheme, true},
    {'H', "host", Flag::kHost, true},
    {'p', "port", Flag::kPort, true},
    {'P', "prefix", Flag::kPrefix, true},
    {'i', "insecure", Flag::kInsecure, false},
    {'c', "ca-cert", Flag::kCaCert, true},
    {'d', "client-cert", Flag::kClientCert, true},
    {'k', "client-key", Flag::kClientKey, true},
    {'u', "user", Flag::kUser, true},
    {'v', "version", Flag::kVersion, false},
    {'t', "http-timeout", Flag::kTimeout, true},
    {'h', "help", Flag::kHelp, false},
    {'\0', "bail", Flag::kBail, false},
};

const FlagSpec* FindFlag(std::string_view name) {
  for (const FlagSpec& spec : kFlags) {
    if (name.size() == 1 ? name[0] == spec.short_name : name == spec.long_name) return &spec;
  }
  return nullptr;
}

Result<bool> ParseBool(std::string_view flag, std::string_view value) {
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return Status::InvalidArgument("invalid boolean value '" + std::string(value) + "' for " +
                                 std::string(flag));
}

Result<uint16_t> ParsePort(std::string_view value) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
  if (ec != std::errc() || end != value.data() + value.size() || port > 65535 || value.empty()) {
    return Status::InvalidArgument("invalid port number '" + std::string(value) + "'");
  }
  return static_cast<uint16_t>(port);
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

Status Apply(const FlagSpec& spec, std::string_view value, CliOptions& options) {
  std::string text(value);
  switch (spec.flag) {
    case Flag::kAlternatives: options.alternatives = SplitList(value); break;
    case Flag::kScheme:
      if (text != "http" && text != "https") {
        return Status::InvalidArgument("unsupported scheme '" + text + "': use http or https");
      }
      options.scheme = text;
      options.scheme_set = true;
      break;
    case Flag::kHost:
      options.host = text;
      options.host_set = true;
      break;
    case Flag::kPort: {
      Result<uint16_t> port = ParsePort(value);
      if (!port.ok()) return port.status();
      options.port = *port;
      options.port_set = true;
      break;
    }
    case Flag::kPrefix: options.prefix = text; break;
    case Flag::kCaCert: options.ca_cert = text; break;
    case Flag::kClientCert: options.client_cert = text; break;
    case Flag::kClientKey: options.client_key = text; break;
    case Flag::kUser: options.user = text; break;
    case Flag::kTimeout: {
      Result<std::chrono::milliseconds> timeout = ParseGoDuration(value);
      if (!timeout.ok()) return timeout.status();
      options.http_timeout = *timeout;
      break;
    }
    case Flag::kInsecure:
    case Flag::kVersion:
    case Flag::kBail:
    case Flag::kHelp: {
      Result<bool> on = ParseBool(spec.long_name, value);
      if (!on.ok()) return on.status();
      bool& target = spec.flag == Flag::kInsecure  ? options.insecure
                     : spec.flag == Flag::kVersion ? options.version
                     : spec.flag == Flag::kBail    ? options.bail
                                                   : options.help;
      target = *on;
      break;
    }
  }
  return Status::OK();
}

// Splits "-H=x", "--host=x", "-Hx" into name and inline value.
struct Token {
  std::string_view name;
  std::optional<std::string_view> value;
};

Token SplitToken(std::string_view arg) {
  // sqlite3's spelling, which users of -bail type from habit.
  const bool double_dash = arg.starts_with("--");
  const bool is_long = double_dash || arg == "-bail" || arg.starts_with("-bail=");
  std::string_view body = arg.substr(double_dash ? 2 : 1);
  size_t eq = body.find('=');
  if (eq != std::string_view::npos) return {body.substr(0, eq), body.substr(eq + 1)};
  if (!is_long && body.size() > 1) return {body.substr(0, 1), body.substr(1)};
  return {body, std::nullopt};
}

}  // namespace

std::string CliOptions::Address() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<std::chrono::milliseconds> ParseGoDuration(std::string_view text) {
  std::string_view rest = text;
  if (rest == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  if (rest.empty()) return Status::InvalidArgument("invalid duration \"\"");
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[digits])) || rest[digits] == '.')) {
      ++digits;
    }
    double number = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + digits, number);
    if (digits == 0 || ec != std::errc() || end != rest.data() + digits) {
      return Status::InvalidArgument("invalid duration \"" + std::string(text) + "\"");
    }
    rest.remove_prefix(digits);
    size_t unit_size = 0;
    while (unit_size < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_size]))) ++unit_size;
    std::string_view unit = rest.substr(0, unit_size);
    rest.remove_prefix(unit_size);
    double scale = unit == "h"    ? 3600e3
                   : unit == "m"  ? 60e3
                   : unit == "s"  ? 1e3
                   : unit == "ms" ? 1
                   : unit == "us" || unit == "µs" ? 1e-3
                   : unit == "ns" ? 1e-6
                                  : -1;
    if (scale < 0) {
      return Status::InvalidArgument(unit.empty() ? "missing unit in duration \"" + std::string(text) + "\""
                                                  : "unknown unit \"" + std::string(unit) +
                                                        "\" in duration \"" + std::string(text) + "\"");
    }
    total_ms += number * scale;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(total_ms)));
}

Status ApplyHostEnv(std::string_view value, CliOptions& options) {
  std::string_view rest = value;
  size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme(rest.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") {
      return Status::InvalidArgument("unsupported protocol " + scheme);
    }
    options.scheme = scheme;
    rest.remove_prefix(scheme_end + 3);
  }
  rest = rest.substr(0, rest.find('/'));
  std::string_view host = rest;
  std::optional<std::string_view> port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("RQLITE_HOST has a bad IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidArgument("RQLITE_HOST does not contain a hostname");
  options.host = std::string(host);
  if (port && !port->empty()) {
    Result<uint16_t> number = ParsePort(*port);
    if (!number.ok()) return number.status();
    options.port = *number;
  }
  return Status::OK();
}

Result<CliOptions> ParseOptions(const std::vector<std::string>& args, const char* host_env) {
  CliOptions options;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      options.statements.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    Token token = SplitToken(arg);
    const FlagSpec* spec = FindFlag(token.name);
    if (spec == nullptr) return Status::InvalidArgument("undefined flag: " + arg);
    std::string_view value;
    if (token.value) {
      value = *token.value;
    } else if (!spec->takes_value) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Status::InvalidArgument("flag " + arg + " needs a value");
    }
    RQ_RETURN_IF_ERROR(Apply(*spec, value, options));
  }
  bool explicit_target = options.host_set || options.port_set || options.scheme_set;
  if (host_env != nullptr && !explicit_target) {
    Status applied = ApplyHostEnv(host_env, options);
    if (!applied.ok()) return applied.WithContext("RQLITE_HOST");
  }
  return options;
}

std::string UsageText() {
  return R"(Usage: rqlite [options] [SQL ...]

Options:

  -h, --help
      display help information

  -a, --alternatives
      comma separated list of 'host:port' pairs to use as fallback

  -s, --scheme[=http]
      protocol scheme (http or https)

  -H, --host[=127.0.0.1]
      rqlited host address

  -p, --port[=4001]
      rqlited host port

  -P, --prefix[=/]
      rqlited HTTP URL prefix

  -i, --insecure[=false]
      do not verify rqlited HTTPS certificate

  -c, --ca-cert
      path to trusted X.509 root CA certificate

  -d, --client-cert
      path to client X.509 certificate for mTLS

  -k, --client-key
      path to client X.509 key for mTLS

  -u, --user
      set basic auth credentials in form username:password

  -v, --version
      display CLI version

  -t, --http-timeout[=30s]
      set timeout on HTTP requests

  --bail[=false]
      stop SQL read from standard input at the first error, exit status 1

Environment:
  RQLITE_HOST           URL such as https://host:4001, used when -H, -p and -s are not given
  RQLITE_HISTFILESIZE   entries kept in ~/.rqlite_history (default 100, 0 disables)

SQL given as arguments, or read from a standard input that is not a terminal,
is run without a prompt. Arguments: the exit status is non-zero if any
statement failed. Standard input: every line runs, errors are printed on
standard output and the status is 0, unless --bail is given.
)";
}

}  // namespace rq::cli
