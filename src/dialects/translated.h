// Building blocks for dialects whose codec is a translator from OpenAI chat (api/anthropic,
// api/gemini): a StreamEncoder over a StreamFromOpenAi-like translator, and an answer rewritten
// by an EncodeResponse-like function.
#pragma once

#include <string>
#include <utility>

#include "dialects/dialect.h"

namespace hybridgate::dialects {

// `Translator` has Status Feed(std::string_view chunk, std::string& out) and
// void Finish(std::string& out); `fail` writes the dialect's error event.
template <typename Translator>
class TranslatedStream final : public StreamEncoder {
 public:
  using FailFn = void (*)(const Error& error, std::string& out);
  TranslatedStream(std::string model, FailFn fail) : translator_(std::move(model)), fail_(fail) {}
  Status Feed(std::string_view chunk, std::string& out) override {
    return translator_.Feed(chunk, out);
  }
  void Finish(std::string& out) override { translator_.Finish(out); }
  void Fail(const Error& error, std::string& out) override { fail_(error, out); }

 private:
  Translator translator_;
  FailFn fail_;
};

// Replaces `body` with `encode(body)` (a Result<std::string>), or returns its error.
template <typename Encode>
Status ReplaceBody(std::string& body, Encode encode) {
  auto encoded = encode(body);
  if (!encoded) return Fail(std::move(encoded.error()));
  body = std::move(*encoded);
  return {};
}

}  // namespace hybridgate::dialects
