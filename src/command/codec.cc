// Command <-> protobuf bytes, with transparent zlib for big requests.
#include "command/codec.h"

#include <zlib.h>

#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

#include <google/protobuf/arena.h>

#include "command.pb.h"

namespace rq::command {
namespace {

// Pin the on-disk enum: the plain enum and the proto enum must agree.
static_assert(static_cast<int>(CommandType::kExecute) == proto::Command::EXECUTE);
static_assert(static_cast<int>(CommandType::kQuery) == proto::Command::QUERY);
static_assert(static_cast<int>(CommandType::kExecuteQuery) == proto::Command::EXECUTE_QUERY);
static_assert(static_cast<int>(CommandType::kLoad) == proto::Command::LOAD);
static_assert(static_cast<int>(CommandType::kNoop) == proto::Command::NOOP);
static_assert(static_cast<int>(CommandType::kCdcHighWaterMark) == proto::Command::CDC_HIGH_WATER_MARK);

// std::visit, not a switch on index(): a new Value alternative in types.h
// must fail to compile here rather than crash at run time.
void ValueToProto(const Value& value, proto::Value* out) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out->set_is_null(true);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out->set_i(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out->set_d(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out->set_s(v);
        } else if constexpr (std::is_same_v<T, Blob>) {
          out->set_y(v.bytes);
        } else {
          static_assert(std::is_same_v<T, bool>, "Value gained a kind the codec does not encode");
          out->set_b(v);
        }
      },
      value);
}

Result<Value> ValueFromProto(const proto::Value& value) {
  switch (value.kind_case()) {
    case proto::Value::kIsNull: return Value{};
    case proto::Value::kI: return Value{int64_t{value.i()}};
    case proto::Value::kD: return Value{value.d()};
    case proto::Value::kS: return Value{value.s()};
    case proto::Value::kY: return Value{Blob{value.y()}};
    case proto::Value::kB: return Value{value.b()};
    case proto::Value::KIND_NOT_SET: break;
  }
  return Status::Corruption("command: parameter value has no kind");
}

void RequestToProto(const Request& request, proto::Request* out) {
  out->set_transaction(request.transaction);
  out->set_db_timeout_ns(request.db_timeout_ns);
  out->set_vm_step_budget(request.vm_step_budget);
  out->set_qualify_columns(request.qualify_columns);
  out->mutable_statements()->Reserve(static_cast<int>(request.statements.size()));
  for (const Statement& statement : request.statements) {
    proto::Statement* s = out->add_statements();
    s->set_sql(statement.sql);
    s->set_returns_rows(statement.returns_rows);
    for (const Parameter& parameter : statement.parameters) {
      proto::Parameter* p = s->add_parameters();
      p->set_name(parameter.name);
      ValueToProto(parameter.value, p->mutable_value());
    }
  }
}

Result<Request> RequestFromProto(const proto::Request& in) {
  Request request;
  request.transaction = in.transaction();
  request.db_timeout_ns = in.db_timeout_ns();
  request.vm_step_budget = in.vm_step_budget();
  request.qualify_columns = in.qualify_columns();
  request.statements.reserve(static_cast<size_t>(in.statements_size()));
  for (const proto::Statement& s : in.statements()) {
    Statement statement;
    statement.sql = s.sql();
    statement.returns_rows = s.returns_rows();
    statement.parameters.reserve(static_cast<size_t>(s.parameters_size()));
    for (const proto::Parameter& p : s.parameters()) {
      Result<Value> value = ValueFromProto(p.value());
      if (!value.ok()) return value.status();
      statement.parameters.push_back(Parameter{p.name(), std::move(value).value()});
    }
    request.statements.push_back(std::move(statement));
  }
  return request;
}

std::string Deflate(const std::string& input) {
  RQ_ASSERT(input.size() <= std::numeric_limits<uLong>::max());
  uLongf bound = compressBound(static_cast<uLong>(input.size()));
  std::string out(bound, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &bound,
                     reinterpret_cast<const Bytef*>(input.data()), static_cast<uLong>(input.size()),
                     Z_DEFAULT_COMPRESSION);
  // compress2 into a compressBound buffer can only fail on memory exhaustion.
  RQ_ASSERT(rc == Z_OK);
  out.resize(bound);
  return out;
}

// Streams the inflate so a small hostile input cannot claim a huge output
// buffer up front; the output is capped at kInflatedBytesMax.
Result<std::string> Inflate(std::string_view input) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return Status::Internal("command: inflateInit failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  std::string out;
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(chunk, sizeof(chunk) - stream.avail_out);
    if (out.size() > codec_config::kInflatedBytesMax) rc = Z_MEM_ERROR;
    // No progress with input left means a truncated stream.
    if (rc == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) rc = Z_BUF_ERROR;
  }
  const bool trailing = stream.avail_in != 0;
  inflateEnd(&stream);
  if (rc != Z_STREAM_END) return Status::Corruption("command: bad zlib stream in request");
  if (trailing) return Status::Corruption("command: bytes after zlib stream");
  return out;
}

bool IsKnownType(proto::Command::Type type) {
  return type >= proto::Command::EXECUTE && type <= proto::Command::CDC_HIGH_WATER_MARK;
}

}  // namespace

bool ShouldCompress(const Request& request) {
  if (request.statements.size() >= codec_config::kCompressStatementsMin) return true;
  for (const Statement& statement : request.statements) {
    if (statement.sql.size() >= codec_config::kCompressStatementBytesMin) return true;
  }
  return false;
}

namespace {

// Every write is encoded once and decoded on each node: the messages live
// on an arena that starts on the stack, so a small command costs no heap
// allocation for its protobuf objects (nor a free per object after).
class CodecArena {
 public:
  CodecArena() : arena_(Options(initial_)) {}
  google::protobuf::Arena* get() { return &arena_; }

 private:
  static google::protobuf::ArenaOptions Options(char (&block)[2048]) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = sizeof(block);
    return options;
  }
  alignas(16) char initial_[2048];
  google::protobuf::Arena arena_;
};

}  // namespace

std::string EncodeCommand(const Command& command) {
  CodecArena arena;
  proto::Command& out = *google::protobuf::Arena::CreateMessage<proto::Command>(arena.get());
  out.set_type(static_cast<proto::Command::Type>(command.type));
  if (!command.payload.empty()) out.set_payload(command.payload);
  if (command.high_water_mark != 0) out.set_cdc_high_water_mark(command.high_water_mark);
  if (ShouldCompress(command.request)) {
    proto::Request& request = *google::protobuf::Arena::CreateMessage<proto::Request>(arena.get());
    RequestToProto(command.request, &request);
    out.set_compressed(true);
    out.set_request_zlib(Deflate(request.SerializeAsString()));
  } else {
    RequestToProto(command.request, out.mutable_request());
  }
  return out.SerializeAsString();
}

Result<Command> DecodeCommand(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Status::Corruption("command: entry too large");
  }
  CodecArena arena;
  proto::Command& in = *google::protobuf::Arena::CreateMessage<proto::Command>(arena.get());
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("command: not a protobuf Command");
  }
  if (!IsKnownType(in.type())) return Status::Corruption("command: unknown command type");
  const proto::Request* request = &in.request();
  if (in.compressed()) {
    if (in.has_request()) return Status::Corruption("command: both plain and compressed request");
    Result<std::string> raw = Inflate(in.request_zlib());
    if (!raw.ok()) return raw.status();
    proto::Request* inflated = google::protobuf::Arena::CreateMessage<proto::Request>(arena.get());
    if (!inflated->ParseFromString(*raw)) {
      return Status::Corruption("command: compressed request is not a protobuf Request");
    }
    request = inflated;
  } else if (!in.request_zlib().empty()) {
    return Status::Corruption("command: request_zlib set without compressed");
  }
  Result<Request> decoded = RequestFromProto(*request);
  if (!decoded.ok()) return decoded.status();
  Command command;
  command.type = static_cast<CommandType>(in.type());
  command.request = std::move(decoded).value();
  command.payload = in.payload();
  command.high_water_mark = in.cdc_high_water_mark();
  return command;
}

}  // namespace rq::command
