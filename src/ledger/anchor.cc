#include "ledger/anchor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ledger/ledger_config.h"

namespace hybridgate::ledger {
namespace {

Error AnchorError(const std::string& path, std::string_view what) {
  return MakeError(ErrorCode::kInvalidRequest, fmt::format("ledger anchor '{}': {}", path, what));
}

bool IsHexHash(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string AnchorPath(const LedgerConfig& config) {
  if (!config.anchor_path.empty()) return config.anchor_path;
  if (config.backend == "sqlite" && !config.path.empty()) return config.path + ".head";
  return {};
}

Result<std::optional<Anchor>> ReadAnchor(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<Anchor>();
    return Fail(AnchorError(path, std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text.str(), ec);
  const boost::json::object* o = ec ? nullptr : v.if_object();
  const boost::json::value* seq = o ? o->if_contains("seq") : nullptr;
  const boost::json::value* hash = o ? o->if_contains("hash") : nullptr;
  const boost::json::value* time = o ? o->if_contains("time_ms") : nullptr;
  if (!seq || !seq->is_int64() || seq->as_int64() < 1 || !hash || !hash->is_string() ||
      !IsHexHash(hash->as_string()) || (time && !time->is_int64())) {
    return Fail(AnchorError(path, "not an anchor (expected {\"seq\":N,\"hash\":\"<64 hex>\"})"));
  }
  Anchor a;
  a.seq = seq->as_int64();
  a.hash = std::string(hash->as_string());
  a.time_ms = time ? time->as_int64() : 0;
  return std::optional<Anchor>(std::move(a));
}

Status WriteAnchor(const std::string& path, const Anchor& anchor) {
  const std::string tmp = path + ".tmp";
  const std::string line = fmt::format("{{\"seq\":{},\"hash\":\"{}\",\"time_ms\":{}}}\n",
                                       anchor.seq, anchor.hash, anchor.time_ms);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(AnchorError(tmp, std::strerror(errno)));
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const int saved = errno;
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return Fail(AnchorError(tmp, std::strerror(written ? errno : saved)));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(AnchorError(path, std::strerror(errno)));
  }
  return {};
}

std::string AnchorContradiction(const Anchor& anchor, const std::string& hash_at_seq,
                                int64_t table_head_seq) {
  if (hash_at_seq.empty()) {
    return fmt::format(
        "the anchor holds seq {} (hash {}) but the table {} — rows were cut off the end of the "
        "ledger",
        anchor.seq, anchor.hash,
        table_head_seq > 0 ? fmt::format("ends at seq {}", table_head_seq) : "is empty");
  }
  if (hash_at_seq != anchor.hash) {
    return fmt::format(
        "the row at the anchor's seq {} has hash {}, the anchor holds {} — the ledger was "
        "rewritten from that row on",
        anchor.seq, hash_at_seq, anchor.hash);
  }
  return {};
}

}  // namespace hybridgate::ledger
