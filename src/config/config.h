// The gateway's configuration: parsed from YAML once at startup (and on reload), validated, then
// immutable and shared read-only by every worker. Errors name the file, the line and the key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "classify/sensitivity/sensitivity_config.h"
#include "common/result.h"
#include "config/licences.h"
#include "ledger/ledger_config.h"
#include "limits/limits_config.h"
#include "routing/route_config.h"

namespace hybridgate::config {

enum class Zone : uint8_t { kSelfHosted, kExternal };
std::string_view ZoneName(Zone z);

struct ModelConfig {
  std::string name;  // public name clients ask for
  std::string id;    // the upstream's model id (defaults to name)
  double input_per_mtok = 0;
  double output_per_mtok = 0;
  double cached_input_per_mtok = -1;  // -1: same as input
  int64_t timeout_ms = 0;             // 0: the provider's
  int64_t context_window = 0;         // 0: unknown
  // Whether this model's answers may be used to train other models: `hybridgate quality export`
  // refuses those that may not. Default: false for a provider in kOutputTrainingTerms (its terms
  // forbid it), else true; the model's `outputs_trainable:` overrides either.
  bool outputs_trainable = true;
  // Why outputs_trainable has its value, in words, for messages: "outputs_trainable: false in
  // the config", or the terms row's vendor, source and date.
  std::string outputs_trainable_why;
  // `licence:` (an id of kLicences, or any id with `licence_terms:`), checked against the
  // config's licence_policy at load. Where neither the config nor the provider's terms set
  // outputs_trainable, the licence's terms do.
  ModelLicence licence;
};

// A closed provider whose terms forbid using its outputs to develop competing models, so its
// models default to outputs_trainable: false. A provider matches by its type or its base_url's
// host. `checked` is the date these terms were last read; re-read them before relying on a row.
struct OutputTrainingTerms {
  std::string_view vendor;
  std::string_view provider_type;  // "" when only the host tells
  std::string_view host;           // base_url host
  std::string_view checked;        // YYYY-MM-DD
  std::string_view source;         // the document and what it says, in one line
};
inline constexpr OutputTrainingTerms kOutputTrainingTerms[] = {
    {"OpenAI", "", "api.openai.com", "2026-12-07",
     "OpenAI Terms of Use / Services Agreement: no using Output to develop models that compete "
     "with OpenAI"},
    {"Anthropic", "anthropic", "api.anthropic.com", "2026-12-07",
     "Anthropic Commercial Terms (effective 2025-06-17): no using the Services to build a "
     "competing product or service, including training competing AI models"},
    {"Google Gemini", "gemini", "generativelanguage.googleapis.com", "2026-12-07",
     "Gemini API Additional Terms of Service (effective 2025-05-20): no using the Services to "
     "develop models that compete with them"},
};

struct TlsConfig {
  bool verify = true;
  std::string ca_file;  // PEM bundle; empty: the system's
};

// Provider type `local`: the embedded llama.cpp engine (src/engine).
struct LocalEngineConfig {
  // A GGUF file, or "auto": the newest *.gguf in `models_dir` (where `hybridgate models pull`
  // saves), else a generated random-weight placeholder (loudly logged as such).
  std::string model = "auto";
  std::string models_dir;  // empty: $HYBRIDGATE_MODELS, else ~/.cache/hybridgate/models
  int64_t slots = 4;       // requests decoded together (continuous batching)
  int64_t context = 4096;  // tokens per slot (prompt + completion)
  int64_t threads = 1;     // inference threads; ggml threads spin, so 1 on a 2-core machine
  int64_t batch = 512;     // most tokens per decode step
  int64_t max_queue = 1024;
};

struct ProviderConfig {
  std::string name;
  std::string type;      // "openai" | "local"
  std::string base_url;  // empty for `local`
  Zone zone = Zone::kExternal;
  // Highest data class (1 public … 5 restricted) this provider may receive. Default: 5 for
  // self_hosted; 2 for external, so a request with any finding (class ≥ 3) never leaves unless
  // the operator raises it (e.g. 3 for a provider under a data-processing agreement).
  int max_data_class = 0;  // 0 in the struct means "zone default"; set by the parser
  std::string api_key_env;
  std::string api_key_file;
  std::string api_key;  // resolved at load; never logged, never echoed
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timeout_ms = 600'000;  // per attempt, whole response
  int64_t connect_timeout_ms = 5'000;
  TlsConfig tls;
  // Type `openai` only: the upstream also serves OpenAI's Responses API (POST /responses), so a
  // Responses client's request is sent there as the client wrote it instead of being translated
  // to /chat/completions (providers/openai/openai_provider.h). OpenAI itself does; most
  // self-hosted servers do not.
  bool responses_api = false;
  LocalEngineConfig local;  // type `local` only
  std::vector<ModelConfig> models;
  // Non-empty when the provider is configured but cannot be used (e.g. its key variable is
  // unset); it then serves nothing, and /readyz says why.
  std::string disabled_reason;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  int workers = 0;  // 0: one per core
  int64_t max_body_bytes = 8 * 1024 * 1024;
  int64_t max_header_bytes = 64 * 1024;
  int64_t max_connections = 10'000;
  int64_t header_timeout_ms = 10'000;   // first byte to end of headers, and keep-alive idle
  int64_t read_timeout_ms = 30'000;     // request body
  int64_t idle_timeout_ms = 60'000;     // between requests on a keep-alive connection
  int64_t write_timeout_ms = 30'000;    // a client that stops reading a response
  int64_t shutdown_grace_ms = 15'000;   // drain deadline on SIGTERM/SIGINT
  int64_t health_interval_ms = 10'000;  // provider reachability probes for /readyz
  // Reload the config when its file changes (checked every second), as on SIGHUP.
  bool watch_config = true;
};

// What happens to a request whose data class is above what a candidate provider may receive.
enum class ResidencyAction : uint8_t {
  kRoute,   // drop disallowed providers; serve from an allowed (self-hosted) model instead
  kBlock,   // refuse with 403 policy_blocked naming the finding types
  kRedact,  // replace each finding by a placeholder, send to the requested model, restore after
};

struct ResidencyConfig {
  // Action per data class 1..5 (index 0 unused). Default: route for every class.
  ResidencyAction actions[6] = {ResidencyAction::kRoute, ResidencyAction::kRoute,
                                ResidencyAction::kRoute, ResidencyAction::kRoute,
                                ResidencyAction::kRoute, ResidencyAction::kRoute};
  // Model served instead when `route` removes every provider of the requested one; empty: the
  // first model of the first self-hosted provider.
  std::string fallback_model;
  // The class of content that cannot be scanned as text, by kind: image, audio, file, other
  // base64, token ids (classify/body_strings.h). Default 3: it does not go to `external` (max 2)
  // unless the operator raises a provider's max_data_class or lowers these.
  int content_classes[5] = {3, 3, 3, 3, 3};
};

struct LogConfig {
  std::string level = "info";  // prompts and keys are never logged: there is no switch for it
};

// The Responses API's conversation store (gateway/response_store.h): answers kept with
// `store: true`, for previous_response_id and GET /v1/responses/{id}. Scoped to the key that
// made them; deleted after `retention_days`.
struct ResponsesConfig {
  std::string backend = "sqlite";     // sqlite | postgres (shared by replicas)
  std::string path = "responses.db";  // SQLite; relative to the config file
  std::string dsn;                    // postgres: a libpq connection string or URI
  std::string dsn_env;                // postgres: or the variable that holds it
  int64_t retention_days = 30;
  int64_t max_pending = 1024;  // store operations queued at once; more are refused with 503
};

// Where canary rollouts keep their state (rollout/store.h). Replicas on several hosts share one
// PostgreSQL or Redis; a single host can use SQLite.
struct RolloutsConfig {
  // sqlite | postgres | redis; "": postgres when the ledger is there, else sqlite.
  std::string backend;
  std::string path = "rollouts.db";  // sqlite; relative to the config file
  std::string dsn;                   // postgres; "": the ledger's dsn
  std::string dsn_env;               // postgres: or the variable that holds it
  std::string redis_url;             // redis; "": limits.redis_url
};

// Work that outlives its request (shadow calls): the per-worker bounds of background/runner.h.
struct BackgroundConfig {
  int64_t max_queue = 256;       // jobs waiting, per worker; more are shed (counted)
  int64_t max_concurrency = 16;  // jobs running, per worker
};

// The quality store: shadow traffic's comparisons (quality/store.h) and user feedback
// (quality/feedback.h), where they are kept, and up to which data class their texts are.
struct QualityConfig {
  std::string backend;               // sqlite | postgres; "": the ledger's backend
  std::string path = "quality.db";   // SQLite; relative to the config file
  std::string dsn;                   // postgres; "": the ledger's dsn
  std::string dsn_env;               // postgres: or the variable that holds it
  int64_t store_text_max_class = 1;  // answer texts kept up to this class; above: hashes
  // The variable holding the key of those hashes (HMAC-SHA256; quality::TextHasher); "": a
  // random key per process.
  std::string hash_key_env;
  int64_t retention_days = 30;          // texts (comparisons), rows (feedback)
  int64_t scores_retention_days = 365;  // comparison rows: hashes and scores, no texts
  int64_t max_pending = 4096;           // comparisons queued at once; more are dropped (counted)
  // POST /v1/feedback, and remembering who made each request: off by default, as it writes a
  // store row for every answered request (about 64k instructions a request in bench/run.sh).
  bool feedback = false;
};

// A suite the gateway runs on a schedule (gateway/scheduled_evals.h): every `every_ms` its cases
// go through `models` as requests to the gateway itself, made with the virtual key in the
// variable `key_env`, are scored as `hybridgate eval` scores them, and the scores are published
// in /metrics with a regression flag against `baseline` (an earlier `hybridgate eval` JSON
// result) or, without one, against the previous run.
struct ScheduledEvalConfig {
  std::string name;   // unique; the `suite` label of the metrics
  std::string suite;  // JSONL (eval/suite.h); relative to the config file
  std::vector<std::string> models;
  std::string judge;      // a model judging answers against references; "" for none
  std::string embedding;  // an embeddings model; "" for none
  std::string key_env;
  int64_t every_ms = 0;
  bool run_at_start = false;  // else the first run is `every` after the start
  double max_drop = 0.05;
  std::string baseline;  // relative to the config file; "": the previous run
  int64_t concurrency = 2;
};

struct Config {
  std::string source;  // file it came from
  ServerConfig server;
  LogConfig log;
  std::vector<ProviderConfig> providers;
  std::vector<std::pair<std::string, std::string>> aliases;  // public name -> model name
  sensitivity::SensitivityConfig sensitivity;                // detectors and data classes
  ResidencyConfig residency;
  ledger::LedgerConfig ledger;  // cost ledger (src/ledger)
  ResponsesConfig responses;
  QualityConfig quality;
  RolloutsConfig rollouts;
  BackgroundConfig background;
  limits::LimitsConfig limits;   // virtual keys, budgets, rate limits (src/limits)
  routing::RoutesConfig routes;  // routes and tiers (src/routing/route_config.h)
  std::vector<ScheduledEvalConfig> evals;
  LicencePolicy licence_policy;
};

// The kOutputTrainingTerms row `provider` falls under (by type, else by its base_url's host), or
// nullptr.
const OutputTrainingTerms* OutputTrainingTermsOf(const ProviderConfig& provider);

// Parses YAML text; `file` is used in error messages only. A model whose licence breaks the
// licence_policy is an error naming the model and the clause, unless `check_licences` is false
// (`hybridgate models licences` lists them instead).
Result<Config> ParseConfig(std::string_view yaml, std::string_view file,
                           bool check_licences = true);
// Reads and parses a file.
Result<Config> LoadConfig(const std::string& path, bool check_licences = true);

// Splits "host:port" (IPv6 as "[::1]:8080").
Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen);

}  // namespace hybridgate::config
