// An eval suite: JSONL, one test case a line, `{"id", "messages" | "prompt", "reference"?,
// "schema"?}`. `messages` is an OpenAI chat messages array, `prompt` a user message's text;
// `reference` is a known good answer, `schema` a JSON schema the answer must conform to (it is
// also asked for, as OpenAI's response_format). Parsed once, at the edge, with errors naming
// the file and line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace hybridgate::eval {

struct SuiteCase {
  std::string id;
  int line = 0;
  std::string messages_json;  // the OpenAI messages array, as JSON text
  std::string question;       // the last user message's text (what a judge reads)
  std::optional<std::string> reference;
  std::optional<std::string> schema;  // as JSON text
};

// The cases of `text` (the suite's contents; `name` is the file, for messages). A leading UTF-8
// byte order mark and blank lines are skipped; a line that is not an object, has no unique string
// `id`, neither or both of `messages` (a non-empty array of objects with a string `role`) and
// `prompt` (a string), a `reference` that is not a string or a `schema` that is not an object is an
// error. An empty suite is an error.
Result<std::vector<SuiteCase>> ParseSuite(std::string_view text, std::string_view name);
// A suite file larger than kMaxSuiteBytes is refused (a suite is read whole).
inline constexpr size_t kMaxSuiteBytes = 256u << 20;
Result<std::vector<SuiteCase>> LoadSuite(const std::string& path);

}  // namespace hybridgate::eval
