// "json_schema", when the request asked for a JSON schema (response_format json_schema): the
// candidate's answer conforms to it (1); it does not while the reference's does (0); neither
// does (1: no worse). Validation: validator.h; the first violation, a JSON pointer into the
// answer and a keyword, is the score's detail. A schema that does not parse, or costs too much
// to check, gives no score.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "quality/comparators/comparator.h"
#include "quality/comparators/json_schema/validator.h"

namespace hybridgate::quality {

std::unique_ptr<Comparator> MakeJsonSchemaComparator(const ComparatorSpec& spec);

// Whether `document` conforms to `schema` (both JSON texts): "" when it does, else why not
// ("not JSON: …", "#/age: minimum", "the schema is not JSON", "the schema is too costly to
// check"). Exposed for tests and evals.
std::string SchemaViolation(std::string_view schema, std::string_view document);
// The same as a verdict: kUnusable (with why) when the schema is not JSON or could not be
// applied (too costly; a pattern, $ref, type or multipleOf it cannot check), so a caller can
// leave it unscored rather than count it against the answer.
SchemaCheck CheckSchemaText(std::string_view schema, std::string_view document);

}  // namespace hybridgate::quality
