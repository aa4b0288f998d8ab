// Request features the routing policy decides on: a complexity score in [0, 1] (from a
// Classifier), the estimated input size, and what the request needs from a model (images, tools,
// JSON-schema output). Pure, computed once per request, no I/O.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "api/chat_request.h"

namespace hybridgate::complexity {

// One signal's share of a complexity score: its contribution to the score's logit (positive
// pushes towards "hard"). Names are static strings.
struct Contribution {
  std::string_view name;
  double value = 0;
};

struct Features {
  double complexity = 0;           // 0 easy … 1 hard; from a Classifier
  int64_t est_input_tokens = 0;    // rough: bytes / 4 plus per-message and per-image overheads
  bool has_tools = false;          // tools offered, or tool calls/results in the conversation
  bool has_images = false;         // any image part
  bool wants_json = false;         // response_format json_object or json_schema
  bool wants_json_schema = false;  // response_format json_schema
  int turns = 0;                   // user messages
  int messages = 0;                // all messages
  int data_class = 1;              // from the sensitivity check (1..5); the gateway fills it in
  std::string_view classifier;     // name of the classifier that set `complexity`
  std::vector<Contribution> top;   // the score's largest contributions, biggest |value| first
};

// Everything but `complexity`, `data_class` and `top`. Single pass over the messages.
Features ExtractBaseFeatures(const api::ChatRequest& req);

// Token estimate for a text: ~4 bytes a token (English and code); never 0 for non-empty text.
int64_t EstimateTokens(std::string_view text);

}  // namespace hybridgate::complexity
