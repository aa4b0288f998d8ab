// The open-vs-closed scorecard: six dimensions, each scored 1 (favours a closed API) to 5
// (favours self-hosted open models), summed to 6..30 and read by band — 6-12 closed APIs, 13-18
// hybrid, 19-24 open models primary, 25-30 open models only. Four questions come first, in this
// order, and fill four dimensions: can the data leave (privacy), the monthly token volume
// (cost_volume), is frontier capability needed (capability), what the team can run
// (operations); customisation and latency are scored directly (latency pre-filled from the
// ledger's p95). Data that may not leave the company's infrastructure overrides every other
// dimension: the verdict is then self-hosted, whatever the total. Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hybridgate::advisor {

inline constexpr size_t kDimensions = 6;
inline constexpr std::array<std::string_view, kDimensions> kDimensionNames = {
    "capability", "privacy", "cost_volume", "operations", "customisation", "latency"};
enum Dimension : size_t {
  kCapability,
  kPrivacy,
  kCostVolume,
  kOperations,
  kCustomisation,
  kLatency
};

// What the user answered (a YAML file, flags or the terminal form); unset: not answered.
struct Answers {
  std::optional<bool> data_can_leave;
  std::optional<int64_t> monthly_tokens;
  std::optional<std::string> frontier;                 // required | some | none
  std::optional<std::string> team;                     // none | some | dedicated
  std::array<std::optional<int>, kDimensions> scores;  // a dimension scored directly
};

// Answers from YAML: {data_can_leave: bool, monthly_tokens: int, frontier_capability:
// required|some|none, team_capacity: none|some|dedicated, scores: {dimension: 1..5}}. A value of
// the wrong kind or out of range ("high", 7) or an unknown key is an error naming it.
Result<Answers> ParseAnswers(std::string_view yaml, std::string_view name);
// One answer given as text (a flag or the terminal form), by its YAML key ("data_can_leave",
// "monthly_tokens", "frontier_capability", "team_capacity", or a dimension's name).
Status SetAnswer(Answers& a, std::string_view key, std::string_view value);

// What the ledger shows over the window the scorecard reads.
struct LedgerFacts {
  bool present = false;
  double days = 0;  // the window's length
  int64_t requests = 0;
  int64_t tokens = 0;                 // input and output
  std::array<int64_t, 6> by_class{};  // requests by data class 0..5
  int64_t p95_latency_ms = 0;
  bool has_latency = false;  // answered requests to take the p95 of
  struct Route {
    std::string name;
    int64_t requests = 0;
    int64_t sensitive = 0;  // requests of class >= 3
    int max_class = 0;
  };
  std::vector<Route> routes;
  double tokens_per_day() const { return days > 0 ? static_cast<double>(tokens) / days : 0; }
};

struct Scorecard {
  std::array<int, kDimensions> scores{};
  std::array<std::string, kDimensions> why;  // where each score came from
  int total = 0;
  std::string band;  // closed | hybrid | open_primary | open_only
  std::string recommendation;
  bool privacy_override = false;
  struct Placement {
    std::string route;
    std::string where;
    std::string why;
  };
  std::vector<Placement> placements;  // the ledger's routes
};

// The band of a total (6..30).
std::string_view BandOf(int total);
// The scorecard from the answers and what the ledger shows; an error naming every answer that
// is missing (the first question first).
Result<Scorecard> Score(const Answers& answers, const LedgerFacts& ledger);

// The questions still unanswered that Score needs, in the order they are asked (YAML keys).
std::vector<std::string> Missing(const Answers& answers, const LedgerFacts& ledger);

std::string RenderTable(const Scorecard& s);
std::string RenderJson(const Scorecard& s, const LedgerFacts& ledger);
std::string RenderMarkdown(const Scorecard& s);

}  // namespace hybridgate::advisor
