// Anthropic's token counting (POST /v1/messages/count_tokens), both directions: the client's
// count request -> ChatRequest, a ChatRequest -> the count request an Anthropic upstream takes,
// and the answer {"input_tokens": N}. Pure translation, like the rest of api/anthropic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "common/result.h"

namespace hybridgate::api::anthropic {

// A count_tokens body (model, messages, system, tools, tool_choice, thinking, ...: a Messages
// request without max_tokens) -> ChatRequest, with the Messages decoder's rules and errors.
// `body` is the client's body; it is not changed.
Status DecodeCountTokensInto(std::string_view body, ChatRequest& req);

// The count_tokens body an Anthropic upstream accepts for `req` (with `model_id`): the Messages
// encoding of it, keeping only the fields count_tokens documents (model, messages, system,
// tools, tool_choice, thinking, mcp_servers, context_management, output_config, output_format).
Result<std::string> EncodeCountTokensRequest(const ChatRequest& req, std::string_view model_id);

// {"input_tokens": N}.
std::string EncodeTokenCount(int64_t tokens);
// An upstream's {"input_tokens": N} -> N; an Error when the body says no such thing.
Result<int64_t> DecodeTokenCount(std::string_view body);

}  // namespace hybridgate::api::anthropic
