#include "common/error.h"

namespace hybridgate {

Error MakeError(ErrorCode code, std::string message, std::string param) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  e.param = std::move(param);
  return e;
}

int Error::HttpStatus() const {
  switch (code) {
    case ErrorCode::kInvalidRequest:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
    case ErrorCode::kModelNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kBudgetExceeded:
      return 429;
    case ErrorCode::kContextLength:
      return 400;
    case ErrorCode::kPolicyBlocked:
      return 403;
    case ErrorCode::kUpstreamError:
      return upstream_status >= 400 ? upstream_status : 502;
    case ErrorCode::kUpstreamAuth:
      return 502;
    case ErrorCode::kUpstreamUnavailable:
      return 502;
    case ErrorCode::kUpstreamTimeout:
      return 504;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string_view Error::OpenAiType() const {
  switch (code) {
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kNotFound:
    case ErrorCode::kModelNotFound:
    case ErrorCode::kMethodNotAllowed:
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kContextLength:
      return "invalid_request_error";
    case ErrorCode::kUnauthenticated:
      return "authentication_error";
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kPolicyBlocked:
      return "permission_error";
    case ErrorCode::kRateLimited:
      return "rate_limit_error";
    case ErrorCode::kBudgetExceeded:
      return "insufficient_quota";
    case ErrorCode::kUpstreamError:
      return "upstream_error";
    case ErrorCode::kUpstreamAuth:
      return "upstream_auth_error";
    case ErrorCode::kUpstreamUnavailable:
    case ErrorCode::kUpstreamTimeout:
    case ErrorCode::kUnavailable:
      return "api_error";
    case ErrorCode::kInternal:
      return "server_error";
  }
  return "server_error";
}

std::string_view Error::AnthropicType() const {
  switch (code) {
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kMethodNotAllowed:
    case ErrorCode::kContextLength:
    case ErrorCode::kUpstreamError:
      return "invalid_request_error";
    case ErrorCode::kUnauthenticated:
      return "authentication_error";
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kPolicyBlocked:
      return "permission_error";
    case ErrorCode::kNotFound:
    case ErrorCode::kModelNotFound:
      return "not_found_error";
    case ErrorCode::kPayloadTooLarge:
      return "request_too_large";
    case ErrorCode::kRateLimited:
    case ErrorCode::kBudgetExceeded:
      return "rate_limit_error";
    case ErrorCode::kUnavailable:
      return "overloaded_error";
    case ErrorCode::kUpstreamAuth:
    case ErrorCode::kUpstreamUnavailable:
    case ErrorCode::kUpstreamTimeout:
    case ErrorCode::kInternal:
      return "api_error";
  }
  return "api_error";
}

std::string_view Error::CodeName() const {
  switch (code) {
    case ErrorCode::kInvalidRequest:
      return "invalid_request";
    case ErrorCode::kUnauthenticated:
      return "invalid_api_key";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kModelNotFound:
      return "model_not_found";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kBudgetExceeded:
      return "budget_exceeded";
    case ErrorCode::kContextLength:
      return "context_length_exceeded";
    case ErrorCode::kPolicyBlocked:
      return "policy_blocked";
    case ErrorCode::kUpstreamError:
      return "upstream_error";
    case ErrorCode::kUpstreamAuth:
      return "upstream_auth";
    case ErrorCode::kUpstreamUnavailable:
      return "upstream_unavailable";
    case ErrorCode::kUpstreamTimeout:
      return "upstream_timeout";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

bool Error::Retryable() const {
  switch (code) {
    case ErrorCode::kRateLimited:
    case ErrorCode::kUpstreamUnavailable:
    case ErrorCode::kUpstreamTimeout:
      return true;
    default:
      return false;
  }
}

}  // namespace hybridgate
