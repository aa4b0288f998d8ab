#include "ledger/chain.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <bit>
#include <charconv>
#include <cstring>
#include <type_traits>

#include "ledger/schema.h"

namespace hybridgate::ledger {
namespace {

// The writer hashes every row it commits, so the canonical form is written with plain copies
// into a buffer the thread reuses, and the digest runs on a context and an explicitly fetched
// SHA-256 that the thread keeps (OpenSSL 3 fetches the implementation again on every
// EVP_Digest with EVP_sha256(): about a fifth of the hashing, valgrind's software SHA aside).

// At most what one field adds: its name, two colons, the length's digits, the value (an
// integer's sign and 19 digits, cost_usd's 16 hex digits) and the newline.
size_t FieldRoom(std::string_view name, size_t value) { return name.size() + value + 24; }

char* PutField(char* out, std::string_view name, std::string_view value) {
  std::memcpy(out, name.data(), name.size());
  out += name.size();
  *out++ = ':';
  out = std::to_chars(out, out + 20, value.size()).ptr;
  *out++ = ':';
  std::memcpy(out, value.data(), value.size());
  out += value.size();
  *out++ = '\n';
  return out;
}

constexpr char kHexDigits[] = "0123456789abcdef";

// Appends CanonicalRow(row) to `out`.
void AppendCanonicalRow(const Row& row, std::string& out) {
  size_t room = 0;
  ForEachField(row, [&](std::string_view name, const auto& v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
      room += FieldRoom(name, v.size());
    } else {
      room += FieldRoom(name, 20);
    }
  });
  const size_t at = out.size();
  out.resize_and_overwrite(at + room, [&](char* buf, size_t) {
    char* p = buf + at;
    ForEachField(row, [&](std::string_view name, const auto& v) {
      using T = std::decay_t<decltype(v)>;
      if (name == "prev_hash" || name == "hash") return;
      if constexpr (std::is_same_v<T, std::string>) {
        p = PutField(p, name, v);
      } else if constexpr (std::is_same_v<T, double>) {
        // The 16 hex digits of the IEEE-754 bits, most significant first.
        const auto bits = std::bit_cast<uint64_t>(v);
        char hex[16];
        for (int i = 0; i < 16; ++i) hex[i] = kHexDigits[(bits >> (60 - 4 * i)) & 0xf];
        p = PutField(p, name, std::string_view(hex, sizeof hex));
      } else {
        char digits[24];
        const char* end =
            std::to_chars(digits, digits + sizeof digits, static_cast<int64_t>(v)).ptr;
        p = PutField(p, name, std::string_view(digits, static_cast<size_t>(end - digits)));
      }
    });
    return static_cast<size_t>(p - buf);
  });
}

// A thread's SHA-256 state and canonical-form buffer, reused row after row.
class RowHasher {
 public:
  RowHasher() : ctx_(EVP_MD_CTX_new()), fetched_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {}
  ~RowHasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(fetched_);
  }
  RowHasher(const RowHasher&) = delete;
  RowHasher& operator=(const RowHasher&) = delete;

  // RowHash(row), written into `hex` (empty if OpenSSL fails, which SHA-256 on a valid buffer
  // cannot, short of the library being broken).
  void Hash(const Row& row, std::string& hex) {
    canonical_.clear();
    AppendCanonicalRow(row, canonical_);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const EVP_MD* sha256 = fetched_ != nullptr ? fetched_ : EVP_sha256();
    if (ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, sha256, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, row.prev_hash.data(), row.prev_hash.size()) != 1 ||
        EVP_DigestUpdate(ctx_, canonical_.data(), canonical_.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, md, &n) != 1) {
      hex.clear();
      return;
    }
    hex.resize_and_overwrite(2 * n, [&](char* out, size_t size) {
      for (unsigned i = 0; i < n; ++i) {
        out[2 * i] = kHexDigits[md[i] >> 4];
        out[2 * i + 1] = kHexDigits[md[i] & 0xf];
      }
      return size;
    });
  }

 private:
  EVP_MD_CTX* ctx_;
  EVP_MD* fetched_;
  std::string canonical_;
};

RowHasher& ThreadHasher() {
  thread_local RowHasher hasher;
  return hasher;
}

}  // namespace

std::string CanonicalRow(const Row& row) {
  std::string out;
  AppendCanonicalRow(row, out);
  return out;
}

std::string RowHash(const Row& row) {
  std::string hex;
  ThreadHasher().Hash(row, hex);
  return hex;
}

void ChainRows(std::span<Row> rows, const ChainTail& tail) {
  RowHasher& hasher = ThreadHasher();
  int64_t seq = tail.seq;
  std::string_view prev = tail.hash.empty() ? kGenesisHash : std::string_view(tail.hash);
  for (Row& row : rows) {
    row.seq = ++seq;
    row.prev_hash.assign(prev);
    hasher.Hash(row, row.hash);
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
