#include "ledger/chain.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <bit>
#include <charconv>
#include <type_traits>

#include "ledger/schema.h"

namespace hybridgate::ledger {
namespace {

// The writer hashes every row it commits: plain appends and to_chars, no formatting library.
void AppendField(std::string& out, std::string_view name, std::string_view value) {
  char len[24];
  const auto end = std::to_chars(len, len + sizeof len, value.size()).ptr;
  out.append(name).append(1, ':').append(len, end).append(1, ':').append(value).append(1, '\n');
}

void AppendInt(std::string& out, std::string_view name, int64_t v) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  AppendField(out, name, std::string_view(buf, static_cast<size_t>(end - buf)));
}

// The 16 hex digits of the IEEE-754 bits, most significant first.
void AppendDouble(std::string& out, std::string_view name, double v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto bits = std::bit_cast<uint64_t>(v);
  char buf[16];
  for (int i = 0; i < 16; ++i) buf[i] = kDigits[(bits >> (60 - 4 * i)) & 0xf];
  AppendField(out, name, std::string_view(buf, sizeof buf));
}

std::string Hex(const unsigned char* bytes, unsigned n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (unsigned i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string CanonicalRow(const Row& row) {
  std::string out;
  out.reserve(512);
  ForEachField(row, [&](std::string_view name, const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if (name == "prev_hash" || name == "hash") return;
    if constexpr (std::is_same_v<T, std::string>) {
      AppendField(out, name, v);
    } else if constexpr (std::is_same_v<T, double>) {
      AppendDouble(out, name, v);
    } else {
      AppendInt(out, name, static_cast<int64_t>(v));
    }
  });
  return out;
}

std::string RowHash(const Row& row) {
  std::string data;
  data.reserve(512);
  data = row.prev_hash;
  data += CanonicalRow(row);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // One-shot digest; SHA-256 cannot fail on a valid buffer, short of the library being broken.
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) return "";
  return Hex(md, n);
}

void ChainRows(std::span<Row> rows, const ChainTail& tail) {
  int64_t seq = tail.seq;
  std::string prev = tail.hash.empty() ? std::string(kGenesisHash) : tail.hash;
  for (Row& row : rows) {
    row.seq = ++seq;
    row.prev_hash = std::move(prev);
    row.hash = RowHash(row);
    prev = row.hash;
  }
}

void ChainVerifier::Broken(const Row& row, std::string problem) {
  check_.intact = false;
  check_.broken_seq = row.seq;
  check_.broken_id = row.id;
  check_.problem = std::move(problem);
}

void ChainVerifier::Add(const Row& row) {
  ++check_.rows;
  if (!check_.intact) return;  // the first break is the one reported
  const bool started = check_.first_seq != 0;
  if (row.hash.empty()) {
    if (!started) {
      ++check_.unhashed;
    } else {
      Broken(row,
             "no hash after hashed rows: its hash was removed, or the row was inserted "
             "afterwards");
    }
    return;
  }
  if (RowHash(row) != row.hash) {
    Broken(row,
           "hash mismatch: its columns no longer match its hash, so the row was edited "
           "after it was written");
    return;
  }
  if (!started) {
    if (row.prev_hash != kGenesisHash) {
      Broken(row,
             "prev_hash mismatch: the first hashed row does not start the chain, so the "
             "row(s) before it were deleted");
      return;
    }
    check_.first_seq = row.seq;
    check_.first_id = row.id;
  } else if (row.prev_hash != prev_hash_) {
    Broken(row, fmt::format("prev_hash mismatch: it does not follow the row before it (seq {}, "
                            "id {}), so a row between them was deleted, or rows were reordered "
                            "or inserted",
                            prev_seq_, prev_id_));
    return;
  }
  prev_seq_ = row.seq;
  prev_id_ = row.id;
  prev_hash_ = row.hash;
  check_.head_seq = row.seq;
  check_.head_hash = row.hash;
}

std::string DescribeChainCheck(const ChainCheck& c) {
  if (!c.intact) {
    return fmt::format("chain broken at seq {} (id {}): {}", c.broken_seq, c.broken_id, c.problem);
  }
  if (c.rows == 0) return "0 rows, chain intact (the ledger is empty)";
  if (c.first_seq == 0) {
    return fmt::format(
        "{} rows, none hash-chained (all written before ledger schema version 2): nothing to "
        "verify",
        c.rows);
  }
  std::string line = fmt::format("{} rows, chain intact", c.rows);
  if (c.unhashed > 0) {
    line += fmt::format(
        " from seq {} (id {}); the {} rows before it predate the hash chain and are not covered",
        c.first_seq, c.first_id, c.unhashed);
  }
  line += fmt::format("; head seq {} hash {}", c.head_seq, c.head_hash);
  return line;
}

}  // namespace hybridgate::ledger
