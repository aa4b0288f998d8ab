#include "ledger/pricing.h"

#include <algorithm>
#include <array>

namespace hybridgate::ledger {
namespace {

// List prices, USD per 1M tokens {input, output, cached input}: prices as published, 2026-11.
// Standard (non-batch, non-priority) tier; for models with a long-context surcharge, the price for
// prompts under the threshold. Defaults only: `ledger.prices` in the config overrides them.
constexpr std::array kCatalog = {
    // OpenAI
    CatalogEntry{"gpt-4o", {2.50, 10.00, 1.25}},
    CatalogEntry{"gpt-4o-mini", {0.15, 0.60, 0.075}},
    CatalogEntry{"gpt-4.1", {2.00, 8.00, 0.50}},
    CatalogEntry{"gpt-4.1-mini", {0.40, 1.60, 0.10}},
    CatalogEntry{"gpt-4.1-nano", {0.10, 0.40, 0.025}},
    CatalogEntry{"gpt-5", {1.25, 10.00, 0.125}},
    CatalogEntry{"gpt-5-mini", {0.25, 2.00, 0.025}},
    CatalogEntry{"gpt-5-nano", {0.05, 0.40, 0.005}},
    CatalogEntry{"o3", {2.00, 8.00, 0.50}},
    CatalogEntry{"o3-pro", {20.00, 80.00, 20.00}},
    CatalogEntry{"o3-mini", {1.10, 4.40, 0.55}},
    CatalogEntry{"o4-mini", {1.10, 4.40, 0.275}},
    // Anthropic (cached input = cache read)
    CatalogEntry{"claude-opus-4", {15.00, 75.00, 1.50}},
    CatalogEntry{"claude-opus-4-1", {15.00, 75.00, 1.50}},
    CatalogEntry{"claude-opus-4-5", {5.00, 25.00, 0.50}},
    CatalogEntry{"claude-sonnet-4", {3.00, 15.00, 0.30}},
    CatalogEntry{"claude-sonnet-4-5", {3.00, 15.00, 0.30}},
    CatalogEntry{"claude-3-7-sonnet", {3.00, 15.00, 0.30}},
    CatalogEntry{"claude-haiku-4-5", {1.00, 5.00, 0.10}},
    CatalogEntry{"claude-3-5-haiku", {0.80, 4.00, 0.08}},
    // Google (prompts <= 200k tokens)
    CatalogEntry{"gemini-2.5-pro", {1.25, 10.00, 0.125}},
    CatalogEntry{"gemini-2.5-flash", {0.30, 2.50, 0.03}},
    CatalogEntry{"gemini-2.5-flash-lite", {0.10, 0.40, 0.01}},
    CatalogEntry{"gemini-2.0-flash", {0.10, 0.40, 0.025}},
};

constexpr double kTokensPerMillion = 1'000'000.0;

bool IsVersionSeparator(char c) { return c == '-' || c == '@' || c == ':'; }

}  // namespace

double SelfHostedUsdPerToken(const SelfHostedPrice& p, double tokens_per_hour) {
  if (!(tokens_per_hour > 0)) return 0;
  return p.gpu_usd_per_hour * p.gpus / tokens_per_hour;
}

Price SelfHostedAsPrice(const SelfHostedPrice& p, double tokens_per_hour) {
  const double per_mtok = SelfHostedUsdPerToken(p, tokens_per_hour) * kTokensPerMillion;
  return Price{per_mtok, per_mtok, per_mtok};
}

double Cost(const Price& price, int64_t input, int64_t cached_input, int64_t output) {
  input = std::max<int64_t>(input, 0);
  cached_input = std::clamp<int64_t>(cached_input, 0, input);
  output = std::max<int64_t>(output, 0);
  const double uncached = static_cast<double>(input - cached_input);
  return (uncached * price.input_per_mtok +
          static_cast<double>(cached_input) * price.cached_input_per_mtok +
          static_cast<double>(output) * price.output_per_mtok) /
         kTokensPerMillion;
}

std::span<const CatalogEntry> DefaultCatalog() { return kCatalog; }

PriceCatalog PriceCatalog::WithDefaults(
    const std::map<std::string, Price, std::less<>>& overrides) {
  PriceCatalog c;
  for (const CatalogEntry& e : kCatalog) c.Set(std::string(e.model), e.price);
  for (const auto& [model, price] : overrides) c.Set(model, price);
  return c;
}

std::optional<Price> PriceCatalog::Find(std::string_view model) const {
  for (int pass = 0; pass < 2; ++pass) {
    if (auto it = prices_.find(model); it != prices_.end()) return it->second;
    // Longest entry that is `model` up to a version separator ("gpt-4o" for "gpt-4o-2024-08-06").
    for (size_t cut = model.size(); cut > 0; --cut) {
      if (!IsVersionSeparator(model[cut - 1])) continue;
      if (auto it = prices_.find(model.substr(0, cut - 1)); it != prices_.end()) {
        return it->second;
      }
    }
    // "openai/gpt-4o" -> "gpt-4o", once.
    const size_t slash = model.find('/');
    if (slash == std::string_view::npos) break;
    model.remove_prefix(slash + 1);
  }
  return std::nullopt;
}

void ThroughputMeter::Observe(int64_t tokens, int64_t start_ms, int64_t end_ms) {
  if (tokens <= 0 || end_ms <= start_ms) return;
  tokens_ += tokens;
  if (open_end_ms_ >= 0 && start_ms <= open_end_ms_) {
    // Overlaps the interval being merged: only the part past its end is new busy time.
    if (end_ms > open_end_ms_) {
      busy_ms_ += end_ms - open_end_ms_;
      open_end_ms_ = end_ms;
    }
    return;
  }
  busy_ms_ += end_ms - start_ms;
  open_end_ms_ = end_ms;
}

double ThroughputMeter::TokensPerHour() const {
  if (busy_ms_ <= 0) return 0;
  return static_cast<double>(tokens_) * 3'600'000.0 / static_cast<double>(busy_ms_);
}

}  // namespace hybridgate::ledger
