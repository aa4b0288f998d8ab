// Helpers shared by the ledger tests: temporary paths and deterministic rows.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "ledger/row.h"

namespace hybridgate::ledger::testing {

// A fresh path under the test temp dir; any old file (and its -wal/-shm) is removed.
inline std::string FreshPath(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/hg_ledger_" + name;
  for (const char* suffix : {"", "-wal", "-shm", ".head", ".head.tmp"})
    std::remove((path + suffix).c_str());
  return path;
}

// Row `i` of a deterministic, varied set.
inline Row MakeRow(int64_t i, std::mt19937_64* rng = nullptr) {
  static const char* kRoutes[] = {"default", "code", "cheap", ""};
  static const char* kTiers[] = {"weak", "strong", "local"};
  static const char* kModels[] = {"gpt-4o-mini", "gpt-4o", "claude-sonnet-4", "llama-local"};
  static const char* kProviders[] = {"openai", "openai", "anthropic", "llamacpp"};
  const uint64_t r = rng ? (*rng)() : static_cast<uint64_t>(i) * 2654435761u;
  Row row;
  row.id = "req-" + std::to_string(i);
  row.time_ms = 1'700'000'000'000 + i * 1000;
  row.key = "key-" + std::to_string(r % 5);
  row.team = (r % 3 == 0) ? "" : "team-" + std::to_string(r % 2);
  row.endpoint = (r % 2) ? "openai_chat" : "anthropic_messages";
  row.route = kRoutes[r % 4];
  row.tier = kTiers[(r >> 3) % 3];
  row.model = kModels[(r >> 5) % 4];
  row.provider = kProviders[(r >> 5) % 4];
  row.attempts = 1 + static_cast<int64_t>((r >> 7) % 3);
  row.fallback = row.attempts > 1;
  row.escalated = (r >> 9) % 7 == 0;
  row.stream = (r >> 10) % 2 == 0;
  row.status = (r >> 11) % 10 == 0 ? 502 : 200;
  row.error_code = row.status == 200 ? "" : "upstream_unavailable";
  row.input_tokens = static_cast<int64_t>((r >> 13) % 5000);
  row.cached_input_tokens = row.input_tokens / 4;
  row.output_tokens = static_cast<int64_t>((r >> 20) % 2000);
  row.usage_estimated = (r >> 30) % 9 == 0;
  row.cost_usd = static_cast<double>((r >> 33) % 100000) / 1e7;
  row.latency_ms = static_cast<int64_t>((r >> 40) % 9000) + 5;
  row.ttft_ms = row.stream ? row.latency_ms / 3 : -1;
  row.data_class = 1 + static_cast<int64_t>((r >> 50) % 5);
  row.finding_types = row.data_class >= 3 ? "credit_card,email" : "";
  const bool self_hosted = row.provider == "llamacpp";
  row.provider_zone = self_hosted ? "self_hosted" : "external";
  row.provider_max_class = self_hosted ? 5 : 2;
  row.residency_action = row.data_class > row.provider_max_class ? "redact" : "none";
  row.egress = row.provider + ":" + row.provider_zone + ":" +
               std::to_string(row.provider_max_class) + ":" +
               (row.status == 200 ? "ok" : "upstream_unavailable");
  return row;
}

// `row` without what the sink stamps on it (seq, prev_hash, hash), to compare with MakeRow.
inline Row Unchained(Row row) {
  row.seq = 0;
  row.prev_hash.clear();
  row.hash.clear();
  return row;
}

}  // namespace hybridgate::ledger::testing
