#include <fmt/format.h>

#include "providers/anthropic/anthropic_provider.h"
#include "providers/gemini/gemini_provider.h"
#include "providers/local/local_provider.h"
#include "providers/openai/openai_provider.h"
#include "providers/provider.h"

namespace hybridgate::providers {

Result<std::unique_ptr<Provider>> Registry::Create(const config::ProviderConfig& config) const {
  auto it = factories_.find(config.type);
  if (it == factories_.end()) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest,
                  fmt::format("provider '{}': unknown type '{}'", config.name, config.type)));
  }
  if (config.base_url.empty()) return it->second(config, http::Endpoint{});
  auto endpoint = http::Endpoint::FromUrl(config.base_url, config.tls.verify, config.tls.ca_file);
  if (!endpoint) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("provider '{}': {}", config.name, endpoint.error().message)));
  }
  return it->second(config, std::move(*endpoint));
}

void AttributeToProvider(Error& e, std::string_view provider, int status,
                         std::string_view dialect_prefix, std::string_view rate_limited) {
  std::string_view detail = e.message;
  if (detail.starts_with(dialect_prefix)) detail.remove_prefix(dialect_prefix.size());
  switch (e.code) {
    case ErrorCode::kUpstreamAuth:
      e.message = fmt::format("provider '{}' rejected HybridGate's credentials (HTTP {})", provider,
                              status);
      break;
    case ErrorCode::kRateLimited:
      e.message =
          fmt::format("provider '{}' is {} (HTTP {}): {}", provider, rate_limited, status, detail);
      break;
    case ErrorCode::kUpstreamUnavailable:
    case ErrorCode::kUpstreamTimeout:
      e.message = fmt::format("provider '{}' failed (HTTP {}): {}", provider, status, detail);
      break;
    default:  // the client's problem: the upstream's own words
      break;
  }
}

void RegisterBuiltins(Registry& registry) {
  registry.Add(
      "openai",
      [](const config::ProviderConfig& c, http::Endpoint ep) -> Result<std::unique_ptr<Provider>> {
        return std::make_unique<OpenAiProvider>(c, std::move(ep));
      });
  registry.Add(
      "anthropic",
      [](const config::ProviderConfig& c, http::Endpoint ep) -> Result<std::unique_ptr<Provider>> {
        return std::make_unique<AnthropicProvider>(c, std::move(ep));
      });
  registry.Add(
      "gemini",
      [](const config::ProviderConfig& c, http::Endpoint ep) -> Result<std::unique_ptr<Provider>> {
        return std::make_unique<GeminiProvider>(c, std::move(ep));
      });
  registry.Add("local", [](const config::ProviderConfig& c, http::Endpoint ep) {
    return LocalProvider::Create(c, std::move(ep));
  });
}

}  // namespace hybridgate::providers
