// The one error type of HybridGate. An Error knows its HTTP status, its OpenAI and Anthropic
// error `type`, and whether a retry (or a fallback to another deployment) may help.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hybridgate {

enum class ErrorCode : uint8_t {
  kInvalidRequest,       // 400: malformed JSON, bad field
  kUnauthenticated,      // 401
  kPermissionDenied,     // 403
  kNotFound,             // 404: unknown path or object ("not_found")
  kModelNotFound,        // 404: unknown model ("model_not_found")
  kMethodNotAllowed,     // 405
  kPayloadTooLarge,      // 413
  kRateLimited,          // 429, retryable
  kBudgetExceeded,       // 429, not retryable
  kContextLength,        // 400 context window exceeded
  kPolicyBlocked,        // 403 data residency / policy
  kUpstreamError,        // upstream 4xx passed through (status kept)
  kUpstreamAuth,         // upstream 401/403: names the provider, never retried
  kUpstreamUnavailable,  // 502: refused, reset, 5xx
  kUpstreamTimeout,      // 504
  kUnavailable,          // 503: shutting down, no provider
  kInternal,             // 500
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string param;          // the offending field, when there is one
  int upstream_status = 0;    // status the upstream sent, 0 when none
  std::string upstream_body;  // passed through for kUpstreamError
  int retry_after_ms = -1;    // from Retry-After, -1 when absent

  // HTTP status the client receives.
  int HttpStatus() const;
  // OpenAI's error.type ("invalid_request_error", ...).
  std::string_view OpenAiType() const;
  // Anthropic's error.type ("invalid_request_error", "overloaded_error", ...).
  std::string_view AnthropicType() const;
  // Machine-readable code ("model_not_found", "context_length_exceeded", ...).
  std::string_view CodeName() const;
  // Whether another attempt (same or other deployment) may succeed.
  bool Retryable() const;
};

Error MakeError(ErrorCode code, std::string message, std::string param = {});

}  // namespace hybridgate
