#include "eval/suite.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>

namespace hybridgate::eval {
namespace {

namespace json = boost::json;

Error LineError(std::string_view name, int line, std::string_view what) {
  return MakeError(ErrorCode::kInvalidRequest, fmt::format("{}:{}: {}", name, line, what));
}

// The text of a message's content: a string, or the text parts of an array.
std::string ContentText(const json::value* content) {
  if (!content) return "";
  if (content->is_string()) return std::string(content->as_string());
  std::string out;
  if (!content->is_array()) return out;
  for (const json::value& part : content->as_array()) {
    const auto* o = part.if_object();
    const auto* text = o ? o->if_contains("text") : nullptr;
    if (text && text->is_string()) {
      if (!out.empty()) out += '\n';
      out += text->as_string();
    }
  }
  return out;
}

Status ReadMessages(const json::object& o, SuiteCase& c, std::string_view name) {
  const json::value* messages = o.if_contains("messages");
  const json::value* prompt = o.if_contains("prompt");
  if ((messages != nullptr) == (prompt != nullptr)) {
    return Fail(LineError(name, c.line, "give `messages` (an array) or `prompt` (a string)"));
  }
  if (prompt) {
    if (!prompt->is_string()) return Fail(LineError(name, c.line, "`prompt` must be a string"));
    c.question = std::string(prompt->as_string());
    json::array one;
    one.push_back(json::object{{"role", "user"}, {"content", prompt->as_string()}});
    c.messages_json = json::serialize(one);
    return {};
  }
  if (!messages->is_array() || messages->as_array().empty()) {
    return Fail(LineError(name, c.line, "`messages` must be a non-empty array"));
  }
  for (const json::value& m : messages->as_array()) {
    const auto* mo = m.if_object();
    const auto* role = mo ? mo->if_contains("role") : nullptr;
    if (!role || !role->is_string()) {
      return Fail(LineError(name, c.line, "each message needs a string `role`"));
    }
    if (role->as_string() == "user") c.question = ContentText(mo->if_contains("content"));
  }
  c.messages_json = json::serialize(*messages);
  return {};
}

}  // namespace

Result<std::vector<SuiteCase>> ParseSuite(std::string_view text, std::string_view name) {
  std::vector<SuiteCase> out;
  std::set<std::string, std::less<>> ids;
  int line_no = 0;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    if (ec) return Fail(LineError(name, line_no, fmt::format("not JSON: {}", ec.message())));
    const auto* o = v.if_object();
    if (!o) return Fail(LineError(name, line_no, "a case must be a JSON object"));
    SuiteCase c;
    c.line = line_no;
    const auto* id = o->if_contains("id");
    if (!id || !id->is_string() || id->as_string().empty()) {
      return Fail(LineError(name, line_no, "`id` must be a non-empty string"));
    }
    c.id = std::string(id->as_string());
    if (!ids.insert(c.id).second) {
      return Fail(LineError(name, line_no, fmt::format("`id` \"{}\" is used twice", c.id)));
    }
    HG_TRY(ReadMessages(*o, c, name));
    if (const auto* r = o->if_contains("reference")) {
      if (!r->is_string()) return Fail(LineError(name, line_no, "`reference` must be a string"));
      c.reference = std::string(r->as_string());
    }
    if (const auto* s = o->if_contains("schema")) {
      if (!s->is_object()) return Fail(LineError(name, line_no, "`schema` must be an object"));
      c.schema = json::serialize(*s);
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: no cases", name)));
  }
  return out;
}

Result<std::vector<SuiteCase>> LoadSuite(const std::string& path) {
  std::error_code ec;
  // Checked before opening: a FIFO would block the open, and a reload with it.
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: cannot read it (not a regular file)", path)));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: cannot read it", path)));
  }
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxSuiteBytes) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: larger than {} MiB", path, kMaxSuiteBytes >> 20)));
    }
  }
  return ParseSuite(text, path);
}

}  // namespace hybridgate::eval
