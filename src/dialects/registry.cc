// The built-in client dialects: one line each.
#include "dialects/anthropic/anthropic.h"
#include "dialects/dialect.h"
#include "dialects/gemini/gemini.h"
#include "dialects/openai_chat/openai_chat.h"
#include "dialects/openai_responses/responses.h"

namespace hybridgate::dialects {

void RegisterBuiltins(Registry& registry) {
  registry.Add(std::make_unique<OpenAiChat>());  // first: the shape of errors nobody else owns
  registry.Add(std::make_unique<AnthropicMessages>());
  registry.Add(std::make_unique<GeminiGenerateContent>());
  registry.Add(std::make_unique<OpenAiResponses>());
}

}  // namespace hybridgate::dialects
