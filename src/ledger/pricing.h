// What a request costs: list prices per million tokens for hosted models (a dated default
// catalog that config overrides), and an equivalent per-token price for self-hosted models derived
// from what their GPUs cost per hour and how many tokens they serve in that hour.
// Everything here is plain arithmetic on values; the catalog is not thread-safe to mutate, but a
// const PriceCatalog may be read from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hybridgate::ledger {

// USD per 1,000,000 tokens. Cached input tokens are the part of the prompt a provider served from
// its prompt cache; they are billed at `cached_input_per_mtok` instead of `input_per_mtok`.
struct Price {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
  double cached_input_per_mtok = 0;

  friend bool operator==(const Price&, const Price&) = default;
};

// A model served on our own GPUs: `gpus` GPUs at `gpu_usd_per_hour` each, serving
// `tokens_per_hour` tokens (input + output) per hour. tokens_per_hour == 0 means "measure it":
// the ledger then uses the throughput observed for that model (see ThroughputMeter).
struct SelfHostedPrice {
  double gpu_usd_per_hour = 0;
  double gpus = 1;
  double tokens_per_hour = 0;
};

// USD per token for a self-hosted model running at `tokens_per_hour`:
// gpu_usd_per_hour * gpus / tokens_per_hour. Returns 0 when tokens_per_hour <= 0.
double SelfHostedUsdPerToken(const SelfHostedPrice& p, double tokens_per_hour);
// The same cost as a Price (input, output and cached input all at the one per-token rate, since a
// GPU-hour does not care which kind of token it spent its time on).
Price SelfHostedAsPrice(const SelfHostedPrice& p, double tokens_per_hour);

// USD for one request. `cached_input` is a subset of `input` (clamped to it): the uncached part is
// billed at input_per_mtok, the cached part at cached_input_per_mtok, output at output_per_mtok.
// Negative token counts count as 0.
double Cost(const Price& price, int64_t input, int64_t cached_input, int64_t output);

struct CatalogEntry {
  std::string_view model;
  Price price;
};

// The shipped defaults: list prices as published by the providers, 2026-11 (standard tier,
// prompts under any long-context surcharge threshold). They are defaults only; `ledger.prices` in
// the config overrides any entry or adds new ones.
inline constexpr std::string_view kDefaultCatalogDate = "2026-11";
std::span<const CatalogEntry> DefaultCatalog();

// Model name -> price. Lookup is exact first, then the longest catalog name that is a prefix of
// the model followed by '-', '@' or ':' (so "gpt-4o-2024-08-06" is priced as "gpt-4o" while
// "gpt-4o-mini" keeps its own entry), after stripping a "provider/" prefix.
class PriceCatalog {
 public:
  // An empty catalog.
  PriceCatalog() = default;
  // DefaultCatalog() with `overrides` applied on top.
  static PriceCatalog WithDefaults(const std::map<std::string, Price, std::less<>>& overrides = {});

  void Set(std::string model, Price price) { prices_[std::move(model)] = price; }
  std::optional<Price> Find(std::string_view model) const;
  size_t size() const { return prices_.size(); }

 private:
  std::map<std::string, Price, std::less<>> prices_;
};

// Observed throughput of one self-hosted model: tokens divided by the time the model was busy.
// Busy time is the union of the requests' [start, end] intervals, merged as they arrive (requests
// that overlap a previous one extend it rather than add to it, so concurrent requests served by
// the same GPUs are not double counted). Single-threaded: the ledger's writer owns it.
class ThroughputMeter {
 public:
  void Observe(int64_t tokens, int64_t start_ms, int64_t end_ms);
  // Tokens per hour over everything observed; 0 before the first observation with a duration.
  double TokensPerHour() const;

 private:
  int64_t tokens_ = 0;
  int64_t busy_ms_ = 0;
  int64_t open_end_ms_ = -1;  // end of the interval still being merged into; -1 before any
};

}  // namespace hybridgate::ledger
