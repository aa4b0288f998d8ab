// The leak suite: secrets of every detector type, planted in every field each dialect allows
// (known fields and unknown ones, at any depth), plain and obfuscated (JSON escapes, separators,
// full-width digits, zero-width characters, line breaks, lower case), sent through the real binary
// for a model that only an EXTERNAL provider serves. The external fake's own record of every byte
// it received is then searched for each secret in all of its forms: there must be none. And the
// client gets the configured outcome: served by the self-hosted model (`route`), refused with 403
// (`block`), or redacted on the way out and restored on the way back (`redact`; a finding that
// redaction cannot reach is refused at the egress gate instead).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

struct Secret {
  std::string type;
  std::string value;  // the plain form a detector knows
};

// One secret per detector type (and several shapes of the important ones).
const std::vector<Secret>& Secrets() {
  static const std::vector<Secret> kSecrets = {
      {"email", "maria.gonzalez@northwind-legal.com"},
      {"phone", "+44 20 7946 0958"},
      {"phone", "(415) 555-0132"},
      {"credit_card", "4111 1111 1111 1111"},
      {"credit_card", "5500-0000-0000-0004"},
      {"credit_card", "378282246310005"},
      {"iban", "DE89 3704 0044 0532 0130 00"},
      {"us_ssn", "078-05-1120"},
      {"ipv4", "192.168.14.201"},
      {"api_key", "sk-proj-4fT9kQ2mZ8xW1vB7nR3sL6yH0jD5cE9a"},
      {"api_key", "AKIAIOSFODNN7EXAMPLE"},
      {"api_key", "ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ"},
      {"jwt",
       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
      {"secret", "password: Tr0ub4dor&3xQ9"},
      {"private_key",
       "-----BEGIN RSA PRIVATE "
       "KEY-----\nMIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HEcDmo\n"
       "-----END RSA PRIVATE KEY-----"},
      {"date_of_birth", "born 14 March 1985"},
      {"medical_record_number", "MRN 00123456"},
  };
  return kSecrets;
}

// How a secret is planted in a string (the JSON escaping happens when the body is serialised;
// the `json_escape` form is applied to the serialised body itself).
// kGlued: glued to words of letters on both sides ("pay4111…USD"); kGluedInvisible: the same
// through a zero-width space ("with<ZWSP>4111…<ZWSP>USD").
enum class Form {
  kPlain,
  kJsonEscape,
  kFullWidth,
  kZeroWidth,
  kSeparators,
  kLineBreak,
  kLower,
  kGlued,
  kGluedInvisible
};
constexpr Form kForms[] = {Form::kPlain,     Form::kJsonEscape, Form::kFullWidth,
                           Form::kZeroWidth, Form::kSeparators, Form::kLineBreak,
                           Form::kLower,     Form::kGlued,      Form::kGluedInvisible};

std::string FullWidth(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= '0' && c <= '9') {
      out += "\xef\xbc";  // U+FF10..U+FF19
      out += static_cast<char>(0x90 + (c - '0'));
    } else if (c == '@') {
      out += "\xef\xbc\xa0";  // U+FF20
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string Obfuscate(const Secret& s, Form form) {
  const std::string& v = s.value;
  switch (form) {
    case Form::kPlain:
    case Form::kJsonEscape:
      return v;
    case Form::kFullWidth:
      return FullWidth(v);
    case Form::kZeroWidth: {
      // U+200B after every fourth byte of ASCII (never inside a UTF-8 sequence).
      std::string out;
      for (size_t i = 0; i < v.size(); ++i) {
        out += v[i];
        if (i % 4 == 3 && i + 1 < v.size() && static_cast<unsigned char>(v[i]) < 0x80) {
          out += "\xe2\x80\x8b";
        }
      }
      return out;
    }
    case Form::kSeparators: {
      // Numbers with dots instead of their separators; other values unchanged.
      if (s.type != "credit_card" && s.type != "us_ssn" && s.type != "iban") return v;
      std::string out = v;
      for (char& c : out) {
        if (c == ' ' || c == '-') c = '.';
      }
      return out;
    }
    case Form::kLineBreak: {
      if (s.type != "credit_card" && s.type != "iban") return v;
      std::string out = v;
      for (char& c : out) {
        if (c == ' ' || c == '-') c = '\n';
      }
      return out;
    }
    case Form::kGlued:
      // Values found by their own shape; not those that need a word edge (an IPv4 address and a
      // version are told apart by it, `\bborn`, `\bMRN`, `\beyJ`) or context when glued (an
      // SSN: part numbers look the same).
      if (s.type == "ipv4" || s.type == "jwt" || s.type == "date_of_birth" ||
          s.type == "medical_record_number" || s.type == "us_ssn") {
        return v;
      }
      return "pay" + v + "USD";
    case Form::kGluedInvisible:
      return "with\xe2\x80\x8b" + v + "\xe2\x80\x8bUSD";
    case Form::kLower: {
      if (s.type != "iban" && s.type != "api_key" && s.type != "private_key") return v;
      if (s.value.starts_with("sk-") || s.value.starts_with("ghp_")) return v;
      std::string out = v;
      for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out;
    }
  }
  return v;
}

// Every byte of `body` that could carry the secret: the raw bytes, and every string in it (JSON
// decoded, JSON inside strings decoded again), each also projected onto its ASCII letters and
// digits (case folded) so a secret that was re-spaced, re-dashed or re-encoded is still found.
void CollectStrings(const json::value& v, std::vector<std::string>& out, int depth = 0) {
  if (v.is_string()) {
    std::string s(v.as_string());
    out.push_back(s);
    if (depth < 4 && !s.empty() && (s[0] == '{' || s[0] == '[')) {
      json::error_code ec;
      json::value inner = json::parse(s, ec);
      if (!ec) CollectStrings(inner, out, depth + 1);
    }
  } else if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      out.emplace_back(kv.key());
      CollectStrings(kv.value(), out, depth);
    }
  } else if (v.is_array()) {
    for (const auto& e : v.as_array()) CollectStrings(e, out, depth);
  }
}

std::string Project(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c)) {
      out += static_cast<char>(std::tolower(c));
    } else if (c == 0xef && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xbc &&
               static_cast<unsigned char>(s[i + 2]) >= 0x90 &&
               static_cast<unsigned char>(s[i + 2]) <= 0x99) {
      out += static_cast<char>('0' + (static_cast<unsigned char>(s[i + 2]) - 0x90));
      i += 2;
    }
  }
  return out;
}

// The distinctive core of a secret, projected: what must never appear in what left.
std::string Core(const Secret& s) {
  std::string p = Project(s.value);
  if (s.type == "secret") p = Project("Tr0ub4dor&3xQ9");
  if (s.type == "date_of_birth") p = Project("14 March 1985");
  if (s.type == "medical_record_number") p = "00123456";
  if (s.type == "private_key") p = Project("MIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3");
  return p;
}

std::vector<std::string> Leaks(const std::string& received_body) {
  std::vector<std::string> found;
  std::vector<std::string> strings{received_body};
  json::error_code ec;
  json::value v = json::parse(received_body, ec);
  if (!ec) CollectStrings(v, strings);
  std::string all;
  for (const std::string& s : strings) all += Project(s) + "|";
  for (const Secret& s : Secrets()) {
    if (all.find(Core(s)) != std::string::npos) found.push_back(s.type + " " + s.value);
  }
  return found;
}

// One request: a dialect's path and body with `text` planted in one field.
struct Plant {
  std::string dialect;  // for messages
  std::string field;
  std::string path;
  std::function<json::value(const std::string& text)> body;
};

json::object UserMessage(const std::string& text) {
  return json::object{{"role", "user"}, {"content", text}};
}

std::vector<Plant> Plants() {
  const std::string model = "gpt-4o";
  auto chat = [&](std::function<void(json::object&, const std::string&)> put) {
    return [=](const std::string& t) -> json::value {
      json::object b{{"model", model}, {"messages", json::array{UserMessage("Summarise this.")}}};
      put(b, t);
      return b;
    };
  };
  auto anthropic = [&](std::function<void(json::object&, const std::string&)> put) {
    return [=](const std::string& t) -> json::value {
      json::object b{{"model", model},
                     {"max_tokens", 64},
                     {"messages", json::array{UserMessage("Summarise this.")}}};
      put(b, t);
      return b;
    };
  };
  auto gemini = [](std::function<void(json::object&, const std::string&)> put) {
    return [=](const std::string& t) -> json::value {
      json::object b{
          {"contents",
           json::array{json::object{
               {"role", "user"}, {"parts", json::array{json::object{{"text", "Summarise."}}}}}}}};
      put(b, t);
      return b;
    };
  };
  const std::string gpath = "/v1beta/models/" + model + ":generateContent";
  std::vector<Plant> p = {
      // OpenAI chat completions.
      {"openai", "messages.content", "/v1/chat/completions",
       chat([](auto& b, auto& t) { b["messages"] = json::array{UserMessage("card: " + t)}; })},
      {"openai", "content parts split", "/v1/chat/completions", chat([](auto& b, auto& t) {
         size_t half = t.size() / 2;  // on a character boundary
         while (half > 0 && (static_cast<unsigned char>(t[half]) & 0xC0) == 0x80) --half;
         b["messages"] = json::array{json::object{
             {"role", "user"},
             {"content", json::array{json::object{{"type", "text"}, {"text", t.substr(0, half)}},
                                     json::object{{"type", "text"}, {"text", t.substr(half)}}}}}};
       })},
      {"openai", "system", "/v1/chat/completions", chat([](auto& b, auto& t) {
         b["messages"].as_array().insert(b["messages"].as_array().begin(),
                                         json::object{{"role", "system"}, {"content", t}});
       })},
      {"openai", "message name", "/v1/chat/completions",
       chat([](auto& b, auto& t) { b["messages"].as_array()[0].as_object()["name"] = t; })},
      {"openai", "user", "/v1/chat/completions", chat([](auto& b, auto& t) { b["user"] = t; })},
      {"openai", "stop", "/v1/chat/completions",
       chat([](auto& b, auto& t) { b["stop"] = json::array{t}; })},
      {"openai", "metadata", "/v1/chat/completions", chat([](auto& b, auto& t) {
         b["metadata"] = json::object{{"note", t}};
       })},
      {"openai", "unknown top-level field", "/v1/chat/completions", chat([](auto& b, auto& t) {
         b["x_future_field"] = json::object{{"deep", json::array{t}}};
       })},
      {"openai", "unknown field as key", "/v1/chat/completions", chat([](auto& b, auto& t) {
         b["x_future_field"] = json::object{{t, 1}};
       })},
      {"openai", "tool description and schema", "/v1/chat/completions", chat([](auto& b, auto& t) {
         b["tools"] = json::array{json::object{
             {"type", "function"},
             {"function",
              json::object{{"name", "lookup"},
                           {"description", t},
                           {"parameters", json::object{{"type", "object"}, {"description", t}}}}}}};
       })},
      {"openai", "tool-call arguments and result", "/v1/chat/completions",
       chat([](auto& b, auto& t) {
         const std::string args = json::serialize(json::object{{"value", t}});
         b["messages"] = json::array{
             UserMessage("Save it."),
             json::object{
                 {"role", "assistant"},
                 {"content", nullptr},
                 {"tool_calls",
                  json::array{json::object{
                      {"id", "call_1"},
                      {"type", "function"},
                      {"function", json::object{{"name", "save"}, {"arguments", args}}}}}}},
             json::object{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", args}},
             UserMessage("Thanks.")};
       })},
      {"openai", "response_format schema", "/v1/chat/completions", chat([](auto& b, auto& t) {
         b["response_format"] = json::object{
             {"type", "json_schema"},
             {"json_schema",
              json::object{{"name", "out"},
                           {"schema", json::object{{"type", "object"}, {"description", t}}}}}};
       })},
      {"openai", "image url", "/v1/chat/completions", chat([](auto& b, auto& t) {
         b["messages"] = json::array{json::object{
             {"role", "user"},
             {"content",
              json::array{json::object{{"type", "text"}, {"text", "What is this?"}},
                          json::object{{"type", "image_url"},
                                       {"image_url",
                                        json::object{{"url", "https://img.example/?q=" + t}}}}}}}};
       })},
      // Completions and embeddings: bodies forwarded as received.
      {"completions", "prompt", "/v1/completions",
       [](auto& t) -> json::value {
         return json::object{{"model", "gpt-4o"}, {"prompt", t}};
       }},
      {"completions", "prompt array", "/v1/completions",
       [](auto& t) -> json::value {
         return json::object{{"model", "gpt-4o"}, {"prompt", json::array{"hello", t}}};
       }},
      {"completions", "user", "/v1/completions",
       [](auto& t) -> json::value {
         return json::object{{"model", "gpt-4o"}, {"prompt", "hi"}, {"user", t}};
       }},
      {"completions", "unknown field", "/v1/completions",
       [](auto& t) -> json::value {
         return json::object{{"model", "gpt-4o"}, {"prompt", "hi"}, {"x", json::object{{"y", t}}}};
       }},
      {"embeddings", "input", "/v1/embeddings",
       [](auto& t) -> json::value {
         return json::object{{"model", "gpt-4o"}, {"input", t}};
       }},
      {"embeddings", "input array", "/v1/embeddings",
       [](auto& t) -> json::value {
         return json::object{{"model", "gpt-4o"}, {"input", json::array{"a", t}}};
       }},
      {"embeddings", "user", "/v1/embeddings",
       [](auto& t) -> json::value {
         return json::object{{"model", "gpt-4o"}, {"input", "a"}, {"user", t}};
       }},
      // Anthropic Messages.
      {"anthropic", "messages content", "/v1/messages",
       anthropic([](auto& b, auto& t) { b["messages"] = json::array{UserMessage("note " + t)}; })},
      {"anthropic", "system blocks", "/v1/messages", anthropic([](auto& b, auto& t) {
         b["system"] = json::array{json::object{{"type", "text"}, {"text", "You help."}},
                                   json::object{{"type", "text"}, {"text", t}}};
       })},
      {"anthropic", "metadata.user_id", "/v1/messages", anthropic([](auto& b, auto& t) {
         b["metadata"] = json::object{{"user_id", t}};
       })},
      {"anthropic", "stop_sequences", "/v1/messages",
       anthropic([](auto& b, auto& t) { b["stop_sequences"] = json::array{t}; })},
      {"anthropic", "tool_use input and tool_result", "/v1/messages",
       anthropic([](auto& b, auto& t) {
         b["messages"] = json::array{
             UserMessage("Save it."),
             json::object{
                 {"role", "assistant"},
                 {"content", json::array{json::object{{"type", "tool_use"},
                                                      {"id", "toolu_1"},
                                                      {"name", "save"},
                                                      {"input", json::object{{"v", t}}}}}}},
             json::object{{"role", "user"},
                          {"content", json::array{json::object{{"type", "tool_result"},
                                                               {"tool_use_id", "toolu_1"},
                                                               {"content", t}}}}}};
       })},
      {"anthropic", "image url source", "/v1/messages", anthropic([](auto& b, auto& t) {
         b["messages"] = json::array{json::object{
             {"role", "user"},
             {"content",
              json::array{
                  json::object{
                      {"type", "image"},
                      {"source", json::object{{"type", "url"},
                                              {"url", "https://img.example/a.png?id=" + t}}}},
                  json::object{{"type", "text"}, {"text", "What is it?"}}}}}};
       })},
      // Gemini generateContent.
      {"gemini", "parts text", gpath, gemini([](auto& b, auto& t) {
         b["contents"] = json::array{json::object{
             {"role", "user"}, {"parts", json::array{json::object{{"text", "note " + t}}}}}};
       })},
      {"gemini", "systemInstruction", gpath, gemini([](auto& b, auto& t) {
         b["systemInstruction"] = json::object{{"parts", json::array{json::object{{"text", t}}}}};
       })},
      {"gemini", "stopSequences", gpath, gemini([](auto& b, auto& t) {
         b["generationConfig"] = json::object{{"stopSequences", json::array{t}}};
       })},
      {"gemini", "responseSchema", gpath, gemini([](auto& b, auto& t) {
         b["generationConfig"] =
             json::object{{"responseMimeType", "application/json"},
                          {"responseSchema", json::object{{"type", "OBJECT"}, {"description", t}}}};
       })},
      {"gemini", "fileData.fileUri", gpath, gemini([](auto& b, auto& t) {
         b["contents"] = json::array{json::object{
             {"role", "user"},
             {"parts",
              json::array{json::object{{"text", "Read this."}},
                          json::object{{"fileData",
                                        json::object{{"mimeType", "image/png"},
                                                     {"fileUri", "gs://bucket/img?id=" + t}}}}}}}};
       })},
  };
  return p;
}

// The serialised body with every ASCII letter and digit of the secret written as \u00XX.
std::string EscapeSecretInBody(std::string body, const std::string& planted) {
  std::string escaped_form;
  for (unsigned char c : planted) {
    if (std::isalnum(c)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      escaped_form += buf;
    } else {
      escaped_form += static_cast<char>(c);
    }
  }
  // Only where the secret stands plainly in the serialised JSON (no characters it escaped).
  for (size_t at = body.find(planted); at != std::string::npos;
       at = body.find(planted, at + escaped_form.size())) {
    body.replace(at, planted.size(), escaped_form);
  }
  return body;
}

struct Outcomes {
  std::map<int, int> statuses;
  std::map<std::string, int> providers;
  std::vector<std::string> leaks;
  std::vector<std::string> unexpected;
  int requests = 0;
};

// Sends every plant x secret x form, for the model only the external provider serves.
Outcomes RunSuite(GatewayProcess& gw, FakeUpstream& cloud, const std::string& mode) {
  Outcomes o;
  TestClient client(gw.port());
  for (const Plant& plant : Plants()) {
    for (const Secret& secret : Secrets()) {
      for (Form form : kForms) {
        const std::string planted = Obfuscate(secret, form);
        if (form != Form::kPlain && form != Form::kJsonEscape && planted == secret.value) continue;
        std::string body = json::serialize(plant.body(planted));
        if (form == Form::kJsonEscape) body = EscapeSecretInBody(body, planted);
        const size_t before = cloud.request_count("");
        auto r = client.Request("POST", plant.path, body, {{"content-type", "application/json"}});
        ++o.requests;
        ++o.statuses[r.status];
        ++o.providers[r.headers.count("x-hybridgate-provider") ? r.headers["x-hybridgate-provider"]
                                                               : "-"];
        const std::string what = mode + " " + plant.dialect + " [" + plant.field + "] " +
                                 secret.type + " form " + std::to_string(int(form));
        const auto sent = cloud.requests("");
        for (size_t i = before; i < sent.size(); ++i) {
          for (const std::string& leak : Leaks(sent[i].body)) {
            o.leaks.push_back(what + ": " + leak + " in " + sent[i].body.substr(0, 300));
          }
        }
        const bool ok =
            (mode == "route" && r.status == 200 && r.headers["x-hybridgate-provider"] == "local") ||
            (mode == "block" && r.status == 403) ||
            (mode == "redact" &&
             ((r.status == 200 && r.headers["x-hybridgate-provider"] == "cloud" &&
               r.headers.count("x-hybridgate-redacted")) ||
              r.status == 403));
        if (!ok) {
          o.unexpected.push_back(what + " -> " + std::to_string(r.status) + " " +
                                 r.headers["x-hybridgate-provider"] + " " + r.body.substr(0, 200));
        }
      }
    }
  }
  return o;
}

Action Answer(const Recorded& r, std::string_view who) {
  if (r.target.find("/embeddings") != std::string::npos) {
    return Action{.body = R"({"object":"list","data":[{"object":"embedding","index":0,)"
                          R"("embedding":[0.1,0.2]}],"model":"m","usage":{"prompt_tokens":3,)"
                          R"("total_tokens":3}})"};
  }
  if (r.target.find("/chat/completions") == std::string::npos) {
    return Action{.body = std::string(R"({"id":"c","object":"text_completion","created":1,)"
                                      R"("model":"m","choices":[{"index":0,"text":")") +
                          std::string(who) +
                          R"(","finish_reason":"stop"}],"usage":{"prompt_tokens":3,)"
                          R"("completion_tokens":1,"total_tokens":4}})"};
  }
  return Action{.body = ChatCompletionJson(std::string("answer from ") + std::string(who))};
}

std::string Config(const FakeUpstream& local, const FakeUpstream& cloud, const std::string& extra) {
  return "providers:\n"
         "  - {name: local, type: openai, base_url: '" +
         local.base_url() +
         "', zone: self_hosted, models: [{name: llama}]}\n"
         "  - {name: cloud, type: openai, base_url: '" +
         cloud.base_url() + "', zone: external, models: [{name: gpt-4o}]}\n" + extra;
}

void Report(const Outcomes& o, const std::string& mode) {
  std::string statuses;
  for (const auto& [s, n] : o.statuses)
    statuses += " " + std::to_string(s) + ":" + std::to_string(n);
  std::string providers;
  for (const auto& [p, n] : o.providers) providers += " " + p + ":" + std::to_string(n);
  std::printf("leak suite, %s: %d requests; statuses%s; providers%s; leaks %zu; unexpected %zu\n",
              mode.c_str(), o.requests, statuses.c_str(), providers.c_str(), o.leaks.size(),
              o.unexpected.size());
  for (const std::string& l : o.leaks) std::printf("LEAK %s\n", l.c_str());
  for (const std::string& u : o.unexpected) std::printf("UNEXPECTED %s\n", u.c_str());
}

class LeakSuite : public ::testing::TestWithParam<std::string> {};

TEST_P(LeakSuite, NoPlantedSecretReachesTheExternalProvider) {
  const std::string mode = GetParam();
  FakeUpstream local([](const Recorded& r) { return Answer(r, "local"); });
  FakeUpstream cloud([](const Recorded& r) { return Answer(r, "cloud"); });
  const std::string actions = mode == "route" ? ""
                              : mode == "block"
                                  ? "residency: {actions: {3: block, 4: block, 5: block}}\n"
                                  : "residency: {actions: {3: redact, 4: redact}}\n";
  GatewayProcess gw(Config(local, cloud, actions + "log: {level: warn}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  const Outcomes o = RunSuite(gw, cloud, mode);
  Report(o, mode);
  EXPECT_TRUE(o.leaks.empty());
  EXPECT_TRUE(o.unexpected.empty());
  EXPECT_GT(o.requests, 1500);
  // A clean request still reaches the external model: the suite is not passing by refusing all.
  TestClient client(gw.port());
  auto clean = client.Post("/v1/chat/completions",
                           R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(clean.status, 200) << clean.body;
  EXPECT_EQ(clean.headers["x-hybridgate-provider"], "cloud");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

INSTANTIATE_TEST_SUITE_P(Modes, LeakSuite, ::testing::Values("route", "block", "redact"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hybridgate::testing
