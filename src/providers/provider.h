// The Provider seam: a provider adapter is pure translation between HybridGate's internal types and
// one upstream API. It never opens a socket: the executor owns I/O, retries and time. Adapters are
// created from config through a Registry (see builtin.cc), so tests can build their own.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "common/result.h"
#include "config/config.h"
#include "http/client.h"

namespace hybridgate::providers {

class Provider {
 public:
  Provider(const config::ProviderConfig& config, http::Endpoint endpoint)
      : config_(config), endpoint_(std::move(endpoint)) {}
  virtual ~Provider() = default;

  const config::ProviderConfig& config() const { return config_; }
  const http::Endpoint& endpoint() const { return endpoint_; }
  const std::string& name() const { return config_.name; }

  // The upstream request for a chat completion with `model` (its id is what the upstream sees).
  virtual Result<http::UpstreamRequest> EncodeChat(const api::ChatRequest& req,
                                                   const config::ModelConfig& model,
                                                   std::string_view request_id) const = 0;
  // Whether the upstream answers in OpenAI's chat format (responses are then passed through).
  virtual bool SpeaksOpenAi() const = 0;
  // An OpenAI-format body forwarded as is to `path` (/completions, /embeddings); empty when the
  // provider has no such endpoint.
  virtual Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body,
                                                  bool stream,
                                                  std::string_view request_id) const = 0;
  // Maps a non-2xx upstream response to the client-facing Error.
  virtual Error ClassifyError(const http::UpstreamResponse& response) const = 0;
  // A cheap request that proves the upstream is reachable (for /readyz).
  virtual http::UpstreamRequest HealthProbe() const = 0;

 private:
  const config::ProviderConfig& config_;
  http::Endpoint endpoint_;
};

using ProviderFactory =
    std::function<Result<std::unique_ptr<Provider>>(const config::ProviderConfig&, http::Endpoint)>;

// Maps a config `type` to its factory. Filled explicitly by RegisterBuiltins (no static
// self-registration).
class Registry {
 public:
  void Add(std::string type, ProviderFactory factory) {
    factories_[std::move(type)] = std::move(factory);
  }
  Result<std::unique_ptr<Provider>> Create(const config::ProviderConfig& config) const;

 private:
  std::map<std::string, ProviderFactory, std::less<>> factories_;
};

void RegisterBuiltins(Registry& registry);

}  // namespace hybridgate::providers
