// JSON Schema validation for the keywords structured outputs use (OpenAI's strict schemas,
// Anthropic's and Gemini's response schemas), drafts 4 to 2020-12 as far as they agree:
// type, enum, const, the number, string, array and object keywords, allOf / anyOf / oneOf /
// not, if / then / else, and `$ref` to a JSON pointer within the schema ("#/$defs/x",
// "#/definitions/x", "#"). `format`, annotations and remote references are not checked.
//
// Hand-written on Boost.JSON rather than RapidJSON's validator (the one Debian 12 packages,
// 1.1.0): that aborts on patternProperties beside additionalProperties: false and resolves no
// `$defs`, and the schemas here are the clients' own. Patterns run on RE2 (linear time, no
// backtracking), and every validation has a step budget, so no schema can make one slow.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace hybridgate::quality {

struct SchemaCheck {
  enum class Result { kConforms, kViolates, kUnusable };
  Result result = Result::kConforms;
  // kViolates: the first violation, "<JSON pointer into the document>: <keyword>" ("#/age:
  // minimum"); kUnusable: why the schema could not be applied (too costly, or a pattern RE2
  // cannot check and nothing else failed).
  std::string detail;
};

// `document` checked against `schema`.
SchemaCheck CheckSchema(const boost::json::value& schema, const boost::json::value& document);

}  // namespace hybridgate::quality
