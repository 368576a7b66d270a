#include "wal/state_files.h"

#include "base/coding.h"
#include "base/crc32c.h"
#include "wal/wal_format.h"

namespace rq::wal {

namespace {

// magic | version | crc(body) | body
std::string Seal(std::string_view magic, const std::string& body) {
  std::string out(magic);
  coding::PutFixed32(&out, format::kFormatVersion);
  coding::PutFixed32(&out, crc32c::Mask(crc32c::Value(body)));
  out += body;
  return out;
}

// Checks magic, version and CRC; returns the body.
Result<std::string_view> Unseal(std::string_view magic, std::string_view bytes, std::string_view what) {
  if (bytes.size() < 16) return Status::Corruption(std::string(what) + ": file too short");
  if (bytes.substr(0, 8) != magic) return Status::Corruption(std::string(what) + ": bad magic");
  if (coding::DecodeFixed32(bytes.data() + 8) != format::kFormatVersion) {
    return Status::Corruption(std::string(what) + ": unsupported version");
  }
  std::string_view body = bytes.substr(16);
  if (crc32c::Unmask(coding::DecodeFixed32(bytes.data() + 12)) != crc32c::Value(body)) {
    return Status::Corruption(std::string(what) + ": crc mismatch");
  }
  return body;
}

}  // namespace

std::string EncodeHardState(const HardState& state) {
  RQ_ASSERT(state.vote.size() <= format::kVoteBytesMax);
  std::string body;
  coding::PutFixed64(&body, state.term.value());
  coding::PutFixed64(&body, state.commit.value());
  coding::PutFixed32(&body, static_cast<uint32_t>(state.vote.size()));
  body += state.vote;
  std::string out = Seal(format::kHardStateMagic, body);
  RQ_ASSERT(out.size() == format::kHardStateFixedBytes + state.vote.size());
  return out;
}

Result<HardState> DecodeHardState(std::string_view bytes) {
  auto body = Unseal(format::kHardStateMagic, bytes, "hardstate");
  if (!body.ok()) return body.status();
  if (body->size() < 20) return Status::Corruption("hardstate: body too short");
  HardState state;
  state.term = Term(coding::DecodeFixed64(body->data()));
  state.commit = LogIndex(coding::DecodeFixed64(body->data() + 8));
  uint32_t vote_bytes = coding::DecodeFixed32(body->data() + 16);
  if (vote_bytes != body->size() - 20) return Status::Corruption("hardstate: vote length mismatch");
  state.vote.assign(body->substr(20));
  return state;
}

std::string EncodeLogMeta(const LogMeta& meta) {
  std::string body;
  coding::PutFixed64(&body, meta.epoch);
  coding::PutFixed64(&body, meta.floor_index.value());
  coding::PutFixed64(&body, meta.floor_term.value());
  std::string out = Seal(format::kMetaMagic, body);
  RQ_ASSERT(out.size() == format::kMetaBytes);
  return out;
}

Result<LogMeta> DecodeLogMeta(std::string_view bytes) {
  auto body = Unseal(format::kMetaMagic, bytes, "wal.meta");
  if (!body.ok()) return body.status();
  if (body->size() != 24) return Status::Corruption("wal.meta: wrong size");
  LogMeta meta;
  meta.epoch = coding::DecodeFixed64(body->data());
  meta.floor_index = LogIndex(coding::DecodeFixed64(body->data() + 8));
  meta.floor_term = Term(coding::DecodeFixed64(body->data() + 16));
  return meta;
}

}  // namespace rq::wal
