// One structured JSON line per request (id, model, provider, status, latency, tokens). Never the
// prompt or the response text. Formatted on the event loop, written by
// the log sink's thread in batches (log_sink.h).
#pragma once

#include <spdlog/formatter.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "classify/sensitivity/finding.h"

namespace hybridgate::gateway {

struct RequestLogEntry {
  std::string_view id;
  std::string_view method;
  std::string_view path;
  std::string_view model;
  std::string_view provider;
  std::string_view upstream_model;
  int status = 0;
  bool stream = false;
  int attempts = 0;
  double latency_ms = 0;
  double ttft_ms = -1;
  int64_t input_tokens = -1;
  int64_t output_tokens = -1;
  std::string_view error_code;
  // Types and offsets of sensitive findings, never the matched text.
  const sensitivity::Classification* sensitivity = nullptr;
  std::string_view rerouted_to;
};

void LogRequest(const RequestLogEntry& e);

// Sets up the process logger: JSON lines on stderr, batched (log_sink.h), at `level`.
void InitLogging(std::string_view level);
// The process logger's formatter: {"ts","level","msg"} for every line, including those the
// modules below the gateway (stores, ledger) log through spdlog directly, whose text becomes an
// escaped "msg".
std::unique_ptr<spdlog::formatter> JsonLineFormatter();
// Writes out what the sink still holds and stops its thread (the end of main).
void ShutdownLogging();
// A non-request log line, also JSON: {"ts","level","msg"}.
void LogInfo(std::string_view msg);
void LogWarn(std::string_view msg);
void LogError(std::string_view msg);

}  // namespace hybridgate::gateway
