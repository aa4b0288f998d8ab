// Every text a ChatRequest carries, in a fixed order, as views into the request: the input of the
// sensitivity scan (and of the complexity classifier). Nothing a client sends escapes the scan:
// system and developer prompts, every message's text parts, tool results, tool-call arguments,
// reasoning content, tool definitions' descriptions and schemas.
#pragma once

#include <string_view>
#include <vector>

#include "api/chat_request.h"

namespace hybridgate::classify {

// Appends the texts of `req` to `out` (views stay valid while `req` lives unchanged).
void CollectTexts(const api::ChatRequest& req, std::vector<std::string_view>& out);

}  // namespace hybridgate::classify
