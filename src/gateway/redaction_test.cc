#include "gateway/redaction.h"

#include <gtest/gtest.h>

#include "api/json.h"
#include "api/openai_chat.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/scanner.h"
#include "common/json_writer.h"

namespace hybridgate::gateway {
namespace {

const sensitivity::Scanner& DefaultScanner() {
  static const sensitivity::Scanner* scanner =
      new sensitivity::Scanner(std::move(*sensitivity::Scanner::Create({})));
  return *scanner;
}

// Decodes an OpenAI chat request, classifies it and redacts it in place.
struct Redacted {
  api::ChatRequest req;
  sensitivity::Classification cls;
  ResponseRestorer restorer;
};

std::unique_ptr<Redacted> RedactJson(std::string body) {
  auto r = std::make_unique<Redacted>();
  auto req = api::DecodeOpenAiChat(body);
  EXPECT_TRUE(req) << req.error().message;
  r->req = std::move(*req);
  std::vector<std::string_view> texts;
  classify::CollectTexts(r->req, texts);
  r->cls = DefaultScanner().Classify(texts);
  RedactRequest(r->req, r->cls, r->restorer);
  return r;
}

std::string Chunk(std::string_view content) {
  std::string c = R"({"id":"c1","object":"chat.completion.chunk","created":7,"model":"m",)"
                  R"("choices":[{"index":0,"delta":{"content":)";
  AppendJsonString(c, content);
  c += R"(},"finish_reason":null}]})";
  return c;
}

// The content deltas of restored chunks, concatenated.
std::string Contents(const std::vector<std::string>& chunks) {
  std::string all;
  for (const std::string& c : chunks) {
    auto doc = api::ParseJsonView(c);
    EXPECT_TRUE(doc) << c;
    if (!doc) continue;
    std::string_view s;
    if (!(*doc)["choices"].at(0)["delta"]["content"].get_string().get(s)) all += s;
  }
  return all;
}

TEST(RedactRequest, EveryTextKindInCollectTextsOrder) {
  auto r = RedactJson(R"({"model":"m","messages":[
    {"role":"system","content":"Support for ann@corp.io."},
    {"role":"user","content":[{"type":"text","text":"Card 4111 1111 1111 1111, mail ann@corp.io"}]},
    {"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function",
      "function":{"name":"send","arguments":"{\"to\":\"bob@corp.io\"}"}}]},
    {"role":"tool","tool_call_id":"t1","content":"sent to bob@corp.io"}]})");
  const auto& m = r->req.messages;
  EXPECT_EQ(m[0].text, "Support for <EMAIL_1>.");
  EXPECT_EQ(m[1].parts[0].text, "Card <CREDIT_CARD_1>, mail <EMAIL_1>");
  EXPECT_EQ(m[2].tool_calls[0].arguments, R"({"to":"<EMAIL_2>"})");
  EXPECT_EQ(m[3].text, "sent to <EMAIL_2>");
  EXPECT_EQ(r->restorer.replaced(), 5);
  // Nothing left to find.
  std::vector<std::string_view> texts;
  classify::CollectTexts(r->req, texts);
  EXPECT_TRUE(DefaultScanner().Classify(texts).findings.empty());
}

TEST(RedactionApplies, OnlyForResidencyRefusalsOfRedactClasses) {
  config::ResidencyConfig res;
  res.actions[3] = config::ResidencyAction::kRedact;
  sensitivity::Classification cls{3, {{"email", 0, 6, 3, 0}}};
  const Error blocked = MakeError(ErrorCode::kPolicyBlocked, "x");
  EXPECT_TRUE(RedactionApplies(res, cls, blocked, 0));
  EXPECT_FALSE(RedactionApplies(res, cls, MakeError(ErrorCode::kNotFound, "x"), 0));
  EXPECT_FALSE(RedactionApplies(res, cls, blocked, 2));  // the key's own ceiling refused it
  sensitivity::Classification header_only{3, {}};
  EXPECT_FALSE(RedactionApplies(res, header_only, blocked, 0));
  cls.data_class = 4;  // class 4 keeps `route`
  EXPECT_FALSE(RedactionApplies(res, cls, blocked, 0));
}

TEST(ResponseRestorer, WholeBodyContentAndToolArguments) {
  auto r = RedactJson(
      R"({"model":"m","messages":[{"role":"user","content":"to ann@corp.io, card 4111111111111111"}]})");
  const std::string body =
      R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant",)"
      R"("content":"Hi \u003cEMAIL_1\u003e, <CREDIT_CARD_1> <EMAIL_9>","tool_calls":[{"id":"t",)"
      R"("type":"function","function":{"name":"f","arguments":"{\"to\":\"<EMAIL_1>\"}"}}]},)"
      R"("finish_reason":"stop"}]})";
  const std::string out = r->restorer.RestoreBody(body);
  auto doc = api::ParseJsonView(out);
  ASSERT_TRUE(doc) << out;
  std::string_view content, args;
  ASSERT_FALSE((*doc)["choices"].at(0)["message"]["content"].get_string().get(content));
  EXPECT_EQ(content, "Hi ann@corp.io, 4111111111111111 <EMAIL_9>");  // invented: left as is
  ASSERT_FALSE((*doc)["choices"]
                   .at(0)["message"]["tool_calls"]
                   .at(0)["function"]["arguments"]
                   .get_string()
                   .get(args));
  EXPECT_EQ(args, R"({"to":"ann@corp.io"})");
  // No placeholder: the body comes back byte for byte.
  const std::string plain = R"({"choices":[{"message":{"content":"a < b"}}]})";
  EXPECT_EQ(r->restorer.RestoreBody(plain), plain);
}

TEST(ResponseRestorer, PlaceholderSplitAtEveryByteAcrossTwoChunks) {
  const std::string text = "Write to <EMAIL_1> today";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    auto r = RedactJson(R"({"model":"m","messages":[{"role":"user","content":"ann@corp.io"}]})");
    std::vector<std::string> out;
    r->restorer.FeedChunk(Chunk(text.substr(0, cut)), out);
    r->restorer.FeedChunk(Chunk(text.substr(cut)), out);
    r->restorer.FinishStream(out);
    EXPECT_EQ(Contents(out), "Write to ann@corp.io today") << "cut at " << cut;
    for (const std::string& c : out) {
      EXPECT_EQ(c.find("EMAIL"), std::string::npos) << "cut at " << cut << ": " << c;
    }
  }
}

TEST(ResponseRestorer, HeldFragmentFlushedBeforeFinishAndAtEnd) {
  auto r = RedactJson(R"({"model":"m","messages":[{"role":"user","content":"ann@corp.io"}]})");
  std::vector<std::string> out;
  r->restorer.FeedChunk(Chunk("see <EMAIL_"), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Contents(out), "see ");
  // The stream stops inside something that looked like a placeholder: sent as is, before the
  // finish chunk.
  r->restorer.FeedChunk(R"({"id":"c1","object":"chat.completion.chunk","created":7,"model":"m",)"
                        R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
                        out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(Contents({out[1]}), "<EMAIL_");
  EXPECT_NE(out[1].find(R"("id":"c1")"), std::string::npos) << out[1];
  EXPECT_NE(out[2].find(R"("finish_reason":"stop")"), std::string::npos);
  std::vector<std::string> rest;
  r->restorer.FinishStream(rest);
  EXPECT_TRUE(rest.empty());
  // Without a finish chunk, FinishStream flushes.
  r->restorer.FeedChunk(Chunk("x <EMA"), rest);
  r->restorer.FinishStream(rest);
  EXPECT_EQ(Contents(rest), "x <EMA");
}

TEST(ResponseRestorer, StreamedToolArgumentsAndInventedPlaceholders) {
  auto r = RedactJson(R"({"model":"m","messages":[{"role":"user","content":"ann@corp.io"}]})");
  auto args = [](std::string_view a) {
    std::string c =
        R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":)";
    AppendJsonString(c, a);
    return c + "}}]}}]}";
  };
  std::vector<std::string> out;
  r->restorer.FeedChunk(args(R"({"to":"<EM)"), out);
  r->restorer.FeedChunk(args(R"(AIL_1>","cc":"<EMAIL_2>"})"), out);
  std::string all;
  for (const std::string& c : out) {
    auto doc = api::ParseJsonView(c);
    ASSERT_TRUE(doc) << c;
    std::string_view s;
    ASSERT_FALSE((*doc)["choices"]
                     .at(0)["delta"]["tool_calls"]
                     .at(0)["function"]["arguments"]
                     .get_string()
                     .get(s));
    all += s;
  }
  EXPECT_EQ(all, R"({"to":"ann@corp.io","cc":"<EMAIL_2>"})");
}

}  // namespace
}  // namespace hybridgate::gateway
