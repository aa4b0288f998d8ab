#include "classify/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <list>
#include <string>

#include "api/json.h"
#include "api/openai_chat.h"
#include "classify/body_strings.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/scanner.h"
#include "common/json_writer.h"
#include "config/config.h"

namespace hybridgate::classify {
namespace {

void WriteResult(std::string_view id, const sensitivity::Classification& c, bool with_text,
                 std::ostream& out) {
  std::string line;
  JsonWriter w(line);
  w.BeginObject().Field("id", id).Field("class", c.data_class).Key("findings").BeginArray();
  for (const auto& f : c.findings) {
    w.BeginObject().Field("type", f.type);
    w.Field("start", static_cast<int64_t>(f.start)).Field("end", static_cast<int64_t>(f.end));
    if (with_text) w.Field("text", static_cast<int64_t>(f.text_index));
    w.EndObject();
  }
  w.EndArray().EndObject();
  line.push_back('\n');
  out << line;
}

// Classifies one JSONL line; returns an error message naming what is wrong, or "".
std::string ClassifyLine(std::string& line, const sensitivity::Scanner& scanner,
                         const config::ResidencyConfig& residency, std::ostream& out) {
  std::string id;
  std::string prompt;
  std::string request_json;
  {
    auto root = api::ParseJson(line);
    if (!root) return root.error().message;
    if (!root->is_object()) return "expected a JSON object";
    simdjson::dom::element v;
    if ((*root)["id"].get(v)) return "missing 'id'";
    id = v.is_string() ? std::string(v.get_string().value()) : simdjson::minify(v);
    std::string_view p;
    if (!(*root)["prompt"].get_string().get(p)) {
      prompt.assign(p);
    } else if (!(*root)["request"].get(v) && v.is_object()) {
      request_json = simdjson::minify(v);
    } else {
      return "expected a string 'prompt' or an object 'request'";
    }
  }
  if (request_json.empty()) {
    WriteResult(id, scanner.Classify({std::string_view(prompt)}), false, out);
    return "";
  }
  {
    std::string copy = request_json;
    auto req = api::DecodeOpenAiChat(copy);
    if (!req) return "request: " + req.error().message;
  }
  // What the gateway scans: every string of the request (findings' `text` indexes them in
  // document order, keys included; offsets are bytes into that string).
  BodyStrings strings;
  if (auto s = CollectBodyStrings(request_json, strings); !s) return s.error().message;
  WriteResult(id, ClassifyStrings(scanner, residency, strings), true, out);
  return "";
}

}  // namespace

int RunClassify(const std::string& config_path, std::istream& in, std::ostream& out,
                std::ostream& err) {
  auto cfg = config::LoadConfig(config_path);
  if (!cfg) {
    err << cfg.error().message << "\n";
    return 2;
  }
  auto scanner = sensitivity::Scanner::Create(cfg->sensitivity);
  if (!scanner) {
    err << config_path << ": sensitivity: " << scanner.error().message << "\n";
    return 2;
  }
  std::string line;
  int line_no = 0;
  int bad = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (std::string e = ClassifyLine(line, *scanner, cfg->residency, out); !e.empty()) {
      err << fmt::format("stdin:{}: {}\n", line_no, e);
      ++bad;
    }
  }
  return bad == 0 ? 0 : 2;
}

CLI::App* AddClassifyCommand(CLI::App& root, int& exit_code) {
  auto* cmd = root.add_subcommand("classify",
                                  "Classify JSONL prompts/requests from stdin by data sensitivity");
  auto path = std::make_shared<std::string>();
  cmd->add_option("--config,-c", *path, "Gateway YAML config (its sensitivity section)")
      ->required();
  cmd->callback(
      [path, &exit_code] { exit_code = RunClassify(*path, std::cin, std::cout, std::cerr); });
  return cmd;
}

}  // namespace hybridgate::classify
