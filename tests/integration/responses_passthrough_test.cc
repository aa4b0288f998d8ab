// OpenAI's Responses API passed through, through the real binary: a Responses client's request to
// an `openai` provider with `responses_api: true` reaches the upstream's /v1/responses (a strict
// fake that refuses what OpenAI refuses: unknown top-level fields, a previous_response_id it does
// not know, a reasoning item it cannot resolve) as the client wrote it — but for the model id,
// `store: false` and, continuing a conversation the gateway keeps, the whole history as input
// instead of previous_response_id. The client gets the upstream's answer and events, with the
// gateway's response id (which GET /v1/responses/{id} and previous_response_id know) and its own
// `store`; the ledger gets the usage.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

constexpr std::string_view kUpstreamModel = "gpt-5-2025-08-07";

// `openai` (the strict fake, external) serving gpt-5 through its Responses API, with the
// gateway's response store and ledger in `s`; `extra` is appended (residency, ...).
std::string Config(const FakeUpstream& up, const Scratch& s, std::string_view extra = "") {
  setenv("HG_IT_OPENAI_KEY", std::string(kFakeOpenAiKey).c_str(), 1);
  return "providers:\n  - {name: openai, type: openai, base_url: '" + up.base_url() +
         "', api_key_env: HG_IT_OPENAI_KEY, responses_api: true, models: [{name: gpt-5, id: " +
         std::string(kUpstreamModel) +
         ", input_per_mtok: 1.25, output_per_mtok: 10}]}\n"
         "responses: {path: '" +
         s.Path("responses.db") + "'}\nledger: {path: '" + s.Path("ledger.db") + "'}\n" +
         std::string(extra);
}

// A client's first turn with most of what the API takes: instructions, a function tool and a
// built-in one, reasoning with encrypted content asked for, text options, metadata, caching.
constexpr std::string_view kFirstTurn = R"({"model":"gpt-5",
  "instructions":"You are terse.",
  "input":[{"role":"user","content":[{"type":"input_text","text":"What is the weather in Paris?"}]}],
  "tools":[{"type":"function","name":"get_weather","description":"Current weather",
            "parameters":{"type":"object","properties":{"city":{"type":"string"}},
                          "required":["city"],"additionalProperties":false},"strict":true},
           {"type":"web_search"}],
  "tool_choice":"auto","parallel_tool_calls":true,
  "reasoning":{"effort":"low","summary":"auto"},"include":["reasoning.encrypted_content"],
  "text":{"format":{"type":"text"},"verbosity":"low"},"max_output_tokens":800,
  "metadata":{"app":"it"},"prompt_cache_key":"weather-1","safety_identifier":"user-42",
  "service_tier":"auto","truncation":"disabled"})";

// The upstream's answer: a reasoning item with encrypted content and a function call.
constexpr std::string_view kFirstAnswer = R"({"id":"resp_upstream_1","object":"response",
  "created_at":1755000000,"status":"completed","background":false,"error":null,
  "incomplete_details":null,"instructions":"You are terse.","max_output_tokens":800,
  "model":"gpt-5-2025-08-07",
  "output":[{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAB-opaque","summary":[]},
            {"id":"fc_1","type":"function_call","status":"completed",
             "arguments":"{\"city\":\"Paris\"}","call_id":"call_1","name":"get_weather"}],
  "parallel_tool_calls":true,"previous_response_id":null,
  "reasoning":{"effort":"low","summary":"auto"},"service_tier":"default","store":false,
  "temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"low"},"tool_choice":"auto",
  "tools":[],"top_p":1.0,"truncation":"disabled",
  "usage":{"input_tokens":210,"input_tokens_details":{"cached_tokens":128},"output_tokens":40,
           "output_tokens_details":{"reasoning_tokens":24},"total_tokens":250},
  "user":null,"metadata":{"app":"it"}})";

constexpr std::string_view kSecondAnswer = R"({"id":"resp_upstream_2","object":"response",
  "created_at":1755000005,"status":"completed","error":null,"incomplete_details":null,
  "model":"gpt-5-2025-08-07",
  "output":[{"id":"msg_2","type":"message","status":"completed","role":"assistant",
             "content":[{"type":"output_text","text":"18 degrees and sunny.","annotations":[],
                         "logprobs":[]}]}],
  "previous_response_id":null,"store":false,
  "usage":{"input_tokens":300,"input_tokens_details":{"cached_tokens":200},"output_tokens":9,
           "output_tokens_details":{"reasoning_tokens":0},"total_tokens":309},
  "metadata":{}})";

// `body` with `fields` set, as the upstream or the client should see it.
json::value WithFields(std::string_view body, const json::object& fields) {
  json::value v = json::parse(body);
  for (const auto& kv : fields) v.as_object()[kv.key()] = kv.value();
  return v;
}

struct LedgerRow {
  std::string endpoint, provider, model;
  int64_t input = -1, cached = -1, output = -1, estimated = -1, stream = -1, status = 0;
};

std::vector<LedgerRow> ReadLedger(const std::string& path) {
  std::vector<LedgerRow> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return rows;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT endpoint, provider, model, input_tokens, cached_input_tokens, "
                     "output_tokens, usage_estimated, stream, status FROM requests ORDER BY seq",
                     -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    auto text = [&](int i) {
      const auto* t = sqlite3_column_text(st, i);
      return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
    };
    rows.push_back({text(0), text(1), text(2), sqlite3_column_int64(st, 3),
                    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
                    sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7),
                    sqlite3_column_int64(st, 8)});
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

TEST(ResponsesPassthrough, TwoTurnsReachTheUpstreamAsSentAndContinueByTheGatewaysId) {
  FakeUpstream up(ValidatingOpenAiResponses([](const Recorded& r) {
    const bool second = r.body.find("call_1\",\"output\"") != std::string::npos ||
                        r.body.find("function_call_output") != std::string::npos;
    return Action{.body = std::string(second ? kSecondAnswer : kFirstAnswer)};
  }));
  Scratch s{"hg-resp-native"};
  GatewayProcess gw(Config(up, s));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());

  auto first = c.Request("POST", "/v1/responses", std::string(kFirstTurn),
                         {{"OpenAI-Beta", "responses=experimental"}});
  ASSERT_EQ(first.status, 200) << first.body << gw.Log();
  EXPECT_EQ(first.headers["x-hybridgate-provider"], "openai");
  // web_search went along: nothing was dropped.
  EXPECT_EQ(first.headers.count("x-hybridgate-dropped-fields"), 0u) << first.body;
  ASSERT_EQ(up.request_count("/v1/responses"), 1u);
  EXPECT_EQ(up.request_count("/v1/chat/completions"), 0u);
  const Recorded sent = up.requests("/v1/responses").at(0);
  EXPECT_EQ(json::parse(sent.body),
            WithFields(kFirstTurn, json::object{{"model", kUpstreamModel}, {"store", false}}));
  EXPECT_EQ(sent.headers.at("openai-beta"), "responses=experimental");
  EXPECT_EQ(sent.headers.at("authorization"), "Bearer " + std::string(kFakeOpenAiKey));

  // The upstream's answer, with the gateway's id and the client's store.
  const json::value answer = json::parse(first.body);
  const std::string id(answer.at("id").as_string());
  EXPECT_TRUE(id.starts_with("resp_")) << id;
  EXPECT_NE(id, "resp_upstream_1");
  EXPECT_EQ(answer, WithFields(kFirstAnswer, json::object{{"id", id}, {"store", true}}));
  auto stored = c.Get("/v1/responses/" + id);
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(json::parse(stored.body), answer);

  // The second turn continues by the gateway's id: the upstream, which kept nothing, gets the
  // whole conversation (items without the ids only a store could resolve; the reasoning item
  // with its encrypted content) and no previous_response_id.
  const std::string second_turn = R"({"model":"gpt-5","previous_response_id":")" + id + R"(",
      "input":[{"type":"function_call_output","call_id":"call_1","output":"{\"temp\":18}"}],
      "include":["reasoning.encrypted_content"]})";
  auto second = c.Request("POST", "/v1/responses", second_turn);
  ASSERT_EQ(second.status, 200) << second.body << gw.Log();
  ASSERT_EQ(up.request_count("/v1/responses"), 2u);
  const json::value sent2 = json::parse(up.requests("/v1/responses").at(1).body);
  const json::value want_input = json::parse(R"([
      {"role":"user","content":[{"type":"input_text","text":"What is the weather in Paris?"}],
       "type":"message"},
      {"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAB-opaque","summary":[]},
      {"type":"function_call","arguments":"{\"city\":\"Paris\"}","call_id":"call_1",
       "name":"get_weather"},
      {"type":"function_call_output","call_id":"call_1","output":"{\"temp\":18}"}])");
  EXPECT_EQ(sent2, json::value({{"model", kUpstreamModel},
                                {"input", want_input},
                                {"include", json::array{"reasoning.encrypted_content"}},
                                {"store", false}}))
      << sent2;
  const json::value answer2 = json::parse(second.body);
  const std::string id2(answer2.at("id").as_string());
  EXPECT_NE(id2, id);
  EXPECT_EQ(answer2,
            WithFields(kSecondAnswer,
                       json::object{{"id", id2}, {"store", true}, {"previous_response_id", id}}));
  auto items = c.Get("/v1/responses/" + id2 + "/input_items?order=asc");
  ASSERT_EQ(items.status, 200) << items.body;
  EXPECT_EQ(json::parse(items.body).at("data").as_array().size(), 4u) << items.body;

  // The ledger has both answers' usage, cached tokens included.
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();
  const auto rows = ReadLedger(s.Path("ledger.db"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].endpoint, "responses");
  EXPECT_EQ(rows[0].provider, "openai");
  EXPECT_EQ(rows[0].model, kUpstreamModel);
  EXPECT_EQ(rows[0].input, 210);
  EXPECT_EQ(rows[0].cached, 128);
  EXPECT_EQ(rows[0].output, 40);
  EXPECT_EQ(rows[0].estimated, 0);
  EXPECT_EQ(rows[1].input, 300);
  EXPECT_EQ(rows[1].cached, 200);
  EXPECT_EQ(rows[1].output, 9);
}

// The documented event sequence of a streamed answer, as OpenAI sends it.
std::vector<std::string> StreamEvents() {
  const std::string response =
      R"({"id":"resp_upstream_s","object":"response","created_at":1755000100,"status":"%s",)"
      R"("error":null,"incomplete_details":null,"model":"gpt-5-2025-08-07","output":%o,)"
      R"("previous_response_id":null,"store":false,"usage":%u,"metadata":{}})";
  auto with = [&](std::string_view status, std::string_view output, std::string_view usage) {
    std::string r = response;
    r.replace(r.find("%s"), 2, status);
    r.replace(r.find("%o"), 2, output);
    r.replace(r.find("%u"), 2, usage);
    return r;
  };
  const std::string message =
      R"({"id":"msg_s","type":"message","status":"completed","role":"assistant",)"
      R"("content":[{"type":"output_text","text":"Hello there.","annotations":[],"logprobs":[]}]})";
  const std::string usage =
      R"({"input_tokens":37,"input_tokens_details":{"cached_tokens":0},"output_tokens":11,)"
      R"("output_tokens_details":{"reasoning_tokens":5},"total_tokens":48})";
  auto event = [](std::string_view type, int seq, const std::string& rest) {
    return "event: " + std::string(type) + "\ndata: {\"type\":\"" + std::string(type) +
           "\",\"sequence_number\":" + std::to_string(seq) + "," + rest + "}\n\n";
  };
  return {
      event("response.created", 0, R"("response":)" + with("in_progress", "[]", "null")),
      event("response.in_progress", 1, R"("response":)" + with("in_progress", "[]", "null")),
      event("response.output_item.added", 2,
            R"("output_index":0,"item":{"id":"msg_s","type":"message","status":"in_progress",)"
            R"("role":"assistant","content":[]})"),
      event("response.content_part.added", 3,
            R"("item_id":"msg_s","output_index":0,"content_index":0,"part":{"type":)"
            R"("output_text","text":"","annotations":[],"logprobs":[]})"),
      event("response.output_text.delta", 4,
            R"("item_id":"msg_s","output_index":0,"content_index":0,"delta":"Hello",)"
            R"("logprobs":[],"obfuscation":"abc")"),
      event("response.output_text.delta", 5,
            R"("item_id":"msg_s","output_index":0,"content_index":0,"delta":" there.",)"
            R"("logprobs":[],"obfuscation":"de")"),
      event("response.output_text.done", 6,
            R"("item_id":"msg_s","output_index":0,"content_index":0,"text":"Hello there.",)"
            R"("logprobs":[])"),
      event("response.content_part.done", 7,
            R"("item_id":"msg_s","output_index":0,"content_index":0,"part":{"type":)"
            R"("output_text","text":"Hello there.","annotations":[],"logprobs":[]})"),
      event("response.output_item.done", 8, R"("output_index":0,"item":)" + message),
      event("response.completed", 9,
            R"("response":)" + with("completed", "[" + message + "]", usage)),
  };
}

TEST(ResponsesPassthrough, StreamedEventsComeBackAsTheUpstreamSentThem) {
  const std::vector<std::string> events = StreamEvents();
  FakeUpstream up(ValidatingOpenAiResponses([&](const Recorded& r) {
    if (json::parse(r.body).as_object().contains("stream")) {
      return Action{.content_type = "text/event-stream", .chunks = events};
    }
    return Action{.body = std::string(kSecondAnswer)};
  }));
  Scratch s{"hg-resp-native"};
  GatewayProcess gw(Config(up, s));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const std::string request =
      R"({"model":"gpt-5","input":"Say hello.","stream":true,"store":true,
          "stream_options":{"include_obfuscation":true}})";
  auto head = c.StartStream("/v1/responses", request);
  const std::string sse = c.ReadAll();
  ASSERT_EQ(head.status, 200) << sse << gw.Log();
  EXPECT_EQ(head.headers["content-type"], "text/event-stream");
  const Recorded sent = up.requests("/v1/responses").at(0);
  EXPECT_EQ(json::parse(sent.body),
            WithFields(request, json::object{{"model", kUpstreamModel}, {"store", false}}));
  EXPECT_EQ(sent.headers.at("accept"), "text/event-stream");

  std::string upstream_sse;
  for (const std::string& e : events) upstream_sse += e;
  const auto got = NamedSseEvents(sse);
  const auto want = NamedSseEvents(upstream_sse);
  ASSERT_EQ(got.size(), want.size()) << sse;
  std::string id;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << i;
    json::value expected = want[i].second;
    if (auto* response = expected.as_object().if_contains("response")) {
      // Only the Response object's id and store are the gateway's.
      const std::string gw_id(got[i].second.at("response").at("id").as_string());
      if (id.empty()) id = gw_id;
      EXPECT_EQ(gw_id, id) << i;
      response->as_object()["id"] = id;
      response->as_object()["store"] = true;
    }
    EXPECT_EQ(got[i].second, expected) << i;
  }
  ASSERT_TRUE(id.starts_with("resp_")) << sse;
  EXPECT_NE(id, "resp_upstream_s");
  // Events other than the Response object's are the upstream's bytes.
  EXPECT_NE(sse.find(events[4]), std::string::npos) << sse;

  // Stored from the stream, and continued non-streamed.
  auto stored = c.Get("/v1/responses/" + id);
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(json::parse(stored.body), got.back().second.at("response"));
  auto next = c.Post("/v1/responses",
                     R"({"model":"gpt-5","input":"Again?","previous_response_id":")" + id + "\"}");
  ASSERT_EQ(next.status, 200) << next.body << gw.Log();
  const json::value sent2 = json::parse(up.requests("/v1/responses").at(1).body);
  EXPECT_EQ(sent2.at("input"), json::parse(R"([
      {"type":"message","role":"user","content":[{"type":"input_text","text":"Say hello."}]},
      {"type":"message","role":"assistant","content":[{"type":"output_text",
       "text":"Hello there.","annotations":[],"logprobs":[]}]},
      {"role":"user","content":"Again?"}])"))
      << sent2;

  ASSERT_EQ(gw.Stop(), 0) << gw.Log();
  const auto rows = ReadLedger(s.Path("ledger.db"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].stream, 1);
  EXPECT_EQ(rows[0].input, 37);
  EXPECT_EQ(rows[0].output, 11);
  EXPECT_EQ(rows[0].estimated, 0);
}

// An upstream that fails mid-stream: what it sent reaches the client, then the error and
// response.failed (numbered on from the upstream's events, with the gateway's id) — never a
// completed answer — and nothing is stored.
TEST(ResponsesPassthrough, AStreamTheUpstreamBreaksEndsWithResponseFailed) {
  std::vector<std::string> events = StreamEvents();
  events.resize(5);  // up to the first text delta
  events.push_back(
      "event: error\ndata: {\"type\":\"error\",\"sequence_number\":5,\"code\":\"server_error\","
      "\"message\":\"The model crashed.\",\"param\":null}\n\n");
  FakeUpstream up(ValidatingOpenAiResponses([&](const Recorded&) {
    return Action{.content_type = "text/event-stream", .chunks = events};
  }));
  Scratch s{"hg-resp-native"};
  GatewayProcess gw(Config(up, s));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto head = c.StartStream("/v1/responses", R"({"model":"gpt-5","input":"hi","stream":true})");
  const std::string sse = c.ReadAll();
  ASSERT_EQ(head.status, 200) << sse;
  const auto got = NamedSseEvents(sse);
  ASSERT_EQ(got.size(), 7u) << sse;
  EXPECT_EQ(got[4].first, "response.output_text.delta");
  EXPECT_EQ(got[5].first, "error");
  EXPECT_EQ(got[5].second.at("sequence_number"), 5);
  EXPECT_NE(json::serialize(got[5].second).find("The model crashed."), std::string::npos) << sse;
  EXPECT_EQ(got[6].first, "response.failed");
  EXPECT_EQ(got[6].second.at("sequence_number"), 6);
  const json::value id = got[0].second.at("response").at("id");
  EXPECT_EQ(got[6].second.at("response").at("id"), id);
  EXPECT_EQ(sse.find("response.completed"), std::string::npos) << sse;
  EXPECT_EQ(c.Get("/v1/responses/" + std::string(id.as_string())).status, 404);
}

TEST(ResponsesPassthrough, UpstreamRefusalsAndRedactedRequests) {
  constexpr std::string_view kEmail = "ann.lee@example.com";
  FakeUpstream up(ValidatingOpenAiResponses([](const Recorded& r) {
    if (r.target == "/v1/chat/completions") {
      return Action{.body = ChatCompletionJson("Mailed <EMAIL_1>.", std::string(kUpstreamModel))};
    }
    return Action{.body = std::string(kSecondAnswer)};
  }));
  Scratch s{"hg-resp-native"};
  GatewayProcess gw(Config(up, s, "residency: {actions: {3: redact}}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  // A field the gateway does not know goes along; the upstream's 400 comes back as it said it.
  auto r = c.Post("/v1/responses", R"({"model":"gpt-5","input":"hi","future_field":1})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body).at("error").at("param"), "future_field") << r.body;
  // A request residency redacted is not the client's any more: translated to chat completions,
  // the answer's placeholders put back.
  r = c.Post("/v1/responses", R"({"model":"gpt-5","input":"mail )" + std::string(kEmail) + R"("})");
  ASSERT_EQ(r.status, 200) << r.body << gw.Log();
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "1");
  EXPECT_EQ(json::parse(r.body).at("output").at(0).at("content").at(0).at("text"),
            json::value("Mailed " + std::string(kEmail) + "."));
  ASSERT_EQ(up.request_count("/v1/chat/completions"), 1u);
  const Recorded sent = up.requests("/v1/chat/completions").at(0);
  EXPECT_EQ(sent.body.find(kEmail), std::string::npos) << sent.body;
  EXPECT_EQ(up.request_count("/v1/responses"), 1u);  // only the refused one
}

// What only OpenAI's Responses API can do (a tool_choice that requires a built-in tool, a
// stored `conversation` or `prompt`) goes to a provider with responses_api as written; a model
// that only chat upstreams serve refuses it with 400, naming why, and nothing is sent.
TEST(ResponsesPassthrough, WhatOnlyTheResponsesApiDoesGoesThereOrIsRefused) {
  FakeUpstream up(ValidatingOpenAiResponses(
      [](const Recorded&) { return Action{.body = std::string(kSecondAnswer)}; }));
  FakeUpstream chat(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("from chat", "gpt-4o")}; });
  Scratch s{"hg-resp-native-only"};
  std::string config = Config(up, s);
  config.insert(config.find("responses:"), "  - {name: chat, type: openai, base_url: '" +
                                               chat.base_url() + "', models: [{name: gpt-4o}]}\n");
  GatewayProcess gw(config);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const std::string asks[] = {
      R"("tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search"})",
      R"("conversation":"conv_123")",
      R"("prompt":{"id":"pmpt_123","variables":{"city":"Paris"}})",
  };
  for (const std::string& ask : asks) {
    const size_t before = up.request_count("/v1/responses");
    auto r = c.Post("/v1/responses", R"({"model":"gpt-5","input":"hi",)" + ask + "}");
    ASSERT_EQ(r.status, 200) << ask << " " << r.body;
    ASSERT_EQ(up.request_count("/v1/responses"), before + 1) << ask;
    const json::object sent = json::parse(up.requests("/v1/responses").back().body).as_object();
    const json::object want = json::parse("{" + ask + "}").as_object();
    for (const auto& kv : want) EXPECT_EQ(sent.at(kv.key()), kv.value()) << ask;
    r = c.Post("/v1/responses", R"({"model":"gpt-4o","input":"hi",)" + ask + "}");
    EXPECT_EQ(r.status, 400) << ask << " " << r.body;
    EXPECT_NE(json::parse(r.body).at("error").at("message").as_string().find("responses_api"),
              json::string::npos)
        << r.body;
  }
  EXPECT_EQ(chat.request_count(""), chat.request_count("/v1/models")) << "nothing was sent";
}

}  // namespace
}  // namespace hybridgate::testing
