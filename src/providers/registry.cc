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
