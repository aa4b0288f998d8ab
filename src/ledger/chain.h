// The ledger's hash chain, for audit: every row's hash covers the previous row's hash and every
// other column of the row, so a row edited, deleted, inserted or moved after it was committed is
// found by recomputing the chain (VerifyChain / `hybridgate audit verify`).
//
//   hash = lowercase hex SHA-256( prev_hash || CanonicalRow(row) )
//
// prev_hash is the previous row's hash (64 hex digits) or kGenesisHash for the first hashed row.
// CanonicalRow writes every column except prev_hash and hash, in table order (schema.h), each as
//   <column name> ':' <byte length of the value, decimal> ':' <value> '\n'
// where a text value is its bytes, an integer or flag is decimal (flags 0/1) and cost_usd, the
// one REAL column, is the 16 lowercase hex digits of its IEEE-754 binary64 bit pattern, so the
// same row hashes the same whichever database it was read back from. seq is a column like the
// others, so moving a row changes its hash too.
//
// Who hashes: the sink, inside the transaction that commits the batch, after the last committed
// row (the tail), so the chain follows commit order even across restarts and, on PostgreSQL,
// across replicas sharing the table (they take a lock for it). The SQLite sink remembers the
// tail it committed and reads the table again only when SQLite's data version shows another
// connection committed since (or its own COMMIT failed); PostgreSQL reads it in every batch. The
// chain cannot show that rows were cut off its END; the verifier prints the head hash so that it
// can be kept elsewhere and compared later.
//
// Pure functions, any thread. Each thread hashes with a digest context and a buffer of its own,
// reused row after row.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ledger/row.h"

namespace hybridgate::ledger {

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The last committed row, read by the sink before it chains a batch. seq 0 and hash "" for an
// empty table; hash "" (seq > 0) when the last row predates the chain.
struct ChainTail {
  int64_t seq = 0;
  std::string hash;
};

std::string CanonicalRow(const Row& row);
// hex SHA-256 of row.prev_hash followed by CanonicalRow(row).
std::string RowHash(const Row& row);
// Stamps seq, prev_hash and hash on `rows`, in order, continuing after `tail`.
void ChainRows(std::span<Row> rows, const ChainTail& tail);

// What VerifyChain found.
struct ChainCheck {
  int64_t rows = 0;      // rows read
  int64_t unhashed = 0;  // rows before the first hashed one: written before the chain existed
  bool intact = true;
  // The first hashed row and the last (the head): what the chain covers.
  int64_t first_seq = 0;
  std::string first_id;
  int64_t head_seq = 0;
  std::string head_hash;
  // The first broken row, when !intact, and what is wrong with it, in words.
  int64_t broken_seq = 0;
  std::string broken_id;
  std::string problem;
};

// Checks rows fed in seq order, one at a time (so a ledger of any size is checked in constant
// memory). Rows without a hash are allowed only before the first hashed row.
class ChainVerifier {
 public:
  void Add(const Row& row);
  const ChainCheck& result() const { return check_; }

 private:
  void Broken(const Row& row, std::string problem);

  ChainCheck check_;
  int64_t prev_seq_ = 0;
  std::string prev_id_;
  std::string prev_hash_;
};

// One line: "N rows, chain intact; ..." or "chain broken at seq S (id I): ...".
std::string DescribeChainCheck(const ChainCheck& check);

}  // namespace hybridgate::ledger
