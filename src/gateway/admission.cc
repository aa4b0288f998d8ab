#include "gateway/admission.h"

#include <fmt/format.h>

#include <cstdlib>

#include "common/thread.h"
#include "gateway/request_log.h"
#include "limits/memory_limiter.h"
#include "limits/window.h"

namespace hybridgate::gateway {

Result<std::unique_ptr<Admission>> Admission::Create(const config::Config& config) {
  std::unique_ptr<Admission> a(new Admission(config.limits));
  if (config.limits.auth_required || !AdminKey(config.limits).empty()) {
    const std::string db = limits::ResolveKeysDb(config.limits, config.source);
    auto keys = limits::KeyStore::Open(db);
    if (!keys) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("limits.keys_db '{}': {}", db, keys.error().message)));
    }
    a->keys_ = std::move(*keys);
  }
  auto limiter = limits::MakeLimiter(config.limits);
  if (!limiter) return Fail(std::move(limiter.error()));
  a->limiter_ = std::move(*limiter);
  if (a->keys_) {
    // The process-local limiter's spends outlive the process in the key store: a restart does
    // not hand every key a fresh budget.
    a->memory_ = dynamic_cast<limits::MemoryLimiter*>(a->limiter_.get());
    if (a->memory_) {
      auto spends = a->keys_->LoadSpends();
      if (!spends) return Fail(std::move(spends.error()));
      a->memory_->RestoreSpends(*spends);
    }
    a->poller_ = std::jthread([raw = a.get()](std::stop_token stop) { raw->PollKeys(stop); });
  }
  return a;
}

void Admission::Detach() {
  if (poller_.joinable()) {
    poller_.request_stop();
    poller_.join();
  }
  SaveSpends();
  memory_ = nullptr;
  limiter_.reset();
}

void Admission::SaveSpends() {
  if (!memory_ || !keys_) return;
  uint64_t version = 0;
  const auto spends = memory_->Spends(saved_version_, version);
  if (spends.empty()) return;
  if (auto s = keys_->SaveSpends(spends); !s) {
    LogWarn("saving budget spends failed (retried in a second): " + s.error().message);
    return;
  }
  saved_version_ = version;
}

Admission::~Admission() = default;

std::string AdminKey(const limits::LimitsConfig& config) {
  if (config.admin_key_env.empty()) return {};
  const char* k = std::getenv(config.admin_key_env.c_str());
  return k ? std::string(k) : std::string();
}

Result<std::shared_ptr<const limits::KeyInfo>> Admission::Authenticate(
    const http::Request& req) const {
  if (!config_.auth_required) return std::shared_ptr<const limits::KeyInfo>();
  // Where each dialect's SDK puts its key: OpenAI's Authorization: Bearer, Anthropic's
  // x-api-key, Google's x-goog-api-key (or ?key= on the URL).
  const std::string_view secret = http::ApiKey(req, req.target());
  if (secret.empty()) {
    return Fail(MakeError(ErrorCode::kUnauthenticated,
                          "missing API key: send a HybridGate virtual key as 'Authorization: "
                          "Bearer hg-…' (or x-api-key, or x-goog-api-key)"));
  }
  return keys_->Lookup(secret);
}

void Admission::PollKeys(std::stop_token stop) {
  MarkBackgroundThread("hg-keys");
  bool failing = false;
  while (!stop.stop_requested()) {
    std::unique_lock lock(poll_mu_);
    if (poll_cv_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; })) break;
    lock.unlock();
    auto changed = keys_->ReloadIfChanged();
    if (!changed && !failing)
      LogWarn("polling the virtual keys failed: " + changed.error().message);
    failing = !changed;
    SaveSpends();
  }
}

void Admission::ReloadKeys() {
  if (!keys_) return;
  if (auto s = keys_->Reload(); !s) LogWarn("reloading virtual keys failed: " + s.error().message);
}

}  // namespace hybridgate::gateway
