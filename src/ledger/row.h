// One ledger row: everything the cost report and the residency audit need to know about one
// client request, after the executor has finished with it (all attempts, fallbacks and
// escalations folded into one row). A plain value; the gateway fills it and hands it to
// Ledger::Record. The sink stamps seq, prev_hash and hash when it commits the row (chain.h).
#pragma once

#include <cstdint>
#include <string>

namespace hybridgate::ledger {

// Row::cost_usd when the ledger should compute the cost from its price catalog.
inline constexpr double kCostFromCatalog = -1;

struct Row {
  std::string id;          // the gateway's request id
  int64_t time_ms = 0;     // when the request arrived, unix epoch milliseconds
  std::string key;         // virtual key name (never the secret)
  std::string team;        // team the key belongs to, "" when none
  std::string endpoint;    // ingress dialect: "openai_chat", "anthropic_messages", "gemini", ...
  std::string route;       // routing rule / policy branch that chose the plan
  std::string tier;        // "weak", "strong", "local", ...
  std::string provider;    // provider that produced the answer (the last attempt's)
  std::string model;       // upstream model name that produced the answer
  int64_t attempts = 1;    // upstream attempts, retries and fallbacks included
  bool fallback = false;   // answered by a candidate other than the first
  bool escalated = false;  // escalated to a stronger tier after a weak answer
  bool stream = false;
  int64_t status = 200;      // HTTP status sent to the client; 0 when the client went away first
  std::string error_code;    // Error::CodeName() when the request failed, else ""
  int64_t input_tokens = 0;  // prompt tokens, cached ones included
  int64_t cached_input_tokens = 0;  // part of input_tokens served from a prompt cache
  int64_t output_tokens = 0;
  bool usage_estimated = false;  // the upstream reported no usage; the counts are our estimate
  double cost_usd = kCostFromCatalog;  // < 0: the ledger prices the row from its catalog
  int64_t latency_ms = 0;              // arrival to last byte sent
  int64_t ttft_ms = -1;                // arrival to first content byte; -1 when not streamed
  int64_t data_class = 1;              // sensitivity class 1..5
  // Residency facts (schema version 2). Finding TYPES only, never the values.
  std::string finding_types;       // "credit_card,email": distinct types, sorted, ','-joined
  std::string provider_zone;       // the answering provider's zone: "self_hosted" | "external"
  int64_t provider_max_class = 0;  // its max_data_class when the request was served; 0: none
  std::string residency_action = "none";  // "none" | "route" | "redact" | "block"
  std::string egress;  // every upstream attempt, in order: see FormatEgress() in chain.h
  // The hash chain, stamped by the sink in commit order; whatever Record() is given is replaced.
  int64_t seq = 0;        // 1, 2, ... in commit order (rows from before version 2: their rowid)
  std::string prev_hash;  // the previous row's hash; kGenesisHash for the first hashed row
  std::string hash;       // RowHash(): hex SHA-256 over prev_hash and every other column

  friend bool operator==(const Row&, const Row&) = default;
};

// The estimate used when an upstream reports no usage: about four bytes of UTF-8 per token,
// rounded up. Rows carrying it must set usage_estimated.
inline int64_t EstimateTokensFromBytes(int64_t bytes) { return bytes <= 0 ? 0 : (bytes + 3) / 4; }

}  // namespace hybridgate::ledger
