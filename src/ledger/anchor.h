// The chain's anchor: the head (seq and hash) of the ledger's hash chain as last committed, kept
// in a small file outside the database. The chain itself shows an edited, deleted, inserted or
// moved row, but not rows cut off its END (the shorter chain is intact); the anchor does: a table
// whose row at the anchor's seq is missing, or hashes differently, was truncated or rewritten.
//
// The writer (Ledger) replaces the file atomically (write, fsync, rename) after a committed batch,
// at most once a second and once more at shutdown, so the anchor never runs ahead of what was
// committed — kill -9 leaves it at most a second behind. It is checked when the gateway starts
// (Ledger::Open refuses a ledger its anchor contradicts, rather than chain on from a cut tail and
// overwrite the evidence) and by `hybridgate audit verify`. Keep it where whoever can write the
// database cannot (another volume, or copy it off the host), or it proves little.
//
// Where: ledger.anchor_path; by default "<ledger.path>.head" for SQLite and none for PostgreSQL
// (each replica would anchor what it committed itself: give each its own path).
// File format, one line of JSON: {"seq":N,"hash":"<64 hex>","time_ms":T}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace hybridgate::ledger {

struct LedgerConfig;

struct Anchor {
  int64_t seq = 0;
  std::string hash;
  int64_t time_ms = 0;
};

// ledger.anchor_path, or the default above; "" when the ledger keeps no anchor.
std::string AnchorPath(const LedgerConfig& config);
// nullopt when the file does not exist; an error when it exists but is not an anchor.
Result<std::optional<Anchor>> ReadAnchor(const std::string& path);
// Atomically replaces `path` (a temporary file beside it, fsync, rename).
Status WriteAnchor(const std::string& path, const Anchor& anchor);
// Why the row the table holds at the anchor's seq contradicts it ("" when it agrees):
// `hash_at_seq` is that row's hash, "" when the table has no such row; `table_head_seq` is
// the table's last seq.
std::string AnchorContradiction(const Anchor& anchor, const std::string& hash_at_seq,
                                int64_t table_head_seq);

}  // namespace hybridgate::ledger
