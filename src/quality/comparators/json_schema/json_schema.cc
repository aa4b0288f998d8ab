#include "quality/comparators/json_schema/json_schema.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "quality/comparators/json_schema/validator.h"

namespace hybridgate::quality {
namespace {

class JsonSchema final : public Comparator {
 public:
  std::string_view name() const override { return "json_schema"; }
  boost::asio::awaitable<std::optional<Score>> Compare(const Comparison& c,
                                                       ModelCalls&) const override {
    if (!c.primary.ok || !c.shadow.ok || !c.schema) co_return std::nullopt;
    const std::string shadow = SchemaViolation(*c.schema, c.shadow.text);
    if (shadow.starts_with("the schema")) co_return std::nullopt;
    if (shadow.empty()) co_return Score{"json_schema", 1.0, "the shadow's answer conforms"};
    const std::string primary = SchemaViolation(*c.schema, c.primary.text);
    if (primary.empty()) {
      co_return Score{
          "json_schema", 0.0,
          fmt::format("the shadow's answer does not conform ({}); the primary's does", shadow)};
    }
    co_return Score{"json_schema", 1.0, "neither answer conforms"};
  }
};

}  // namespace

SchemaCheck CheckSchemaText(std::string_view schema, std::string_view document) {
  boost::system::error_code ec;
  const boost::json::value s = boost::json::parse(schema, ec);
  if (ec || !(s.is_object() || s.is_bool())) {
    return {SchemaCheck::Result::kUnusable, "the schema is not JSON"};
  }
  const boost::json::value d = boost::json::parse(document, ec);
  if (ec) return {SchemaCheck::Result::kViolates, fmt::format("not JSON: {}", ec.message())};
  return CheckSchema(s, d);
}

std::string SchemaViolation(std::string_view schema, std::string_view document) {
  boost::system::error_code ec;
  const boost::json::value s = boost::json::parse(schema, ec);
  if (ec || !(s.is_object() || s.is_bool())) return "the schema is not JSON";
  const boost::json::value d = boost::json::parse(document, ec);
  if (ec) return fmt::format("not JSON: {}", ec.message());
  SchemaCheck check = CheckSchema(s, d);
  switch (check.result) {
    case SchemaCheck::Result::kConforms:
      return "";
    case SchemaCheck::Result::kUnusable:
      return check.detail;
    case SchemaCheck::Result::kViolates:
      return check.detail;
  }
  return "";
}

std::unique_ptr<Comparator> MakeJsonSchemaComparator(const ComparatorSpec&) {
  return std::make_unique<JsonSchema>();
}

}  // namespace hybridgate::quality
