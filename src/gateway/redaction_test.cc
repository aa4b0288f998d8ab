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

// One string of each restored chunk, picked by `field` from the parsed chunk, concatenated.
template <class Field>
std::string Concat(const std::vector<std::string>& chunks, Field field) {
  std::string all;
  for (const std::string& c : chunks) {
    auto doc = api::ParseJsonView(c);
    EXPECT_TRUE(doc) << c;
    if (!doc) continue;
    std::string_view s;
    if (!field(*doc).get_string().get(s)) all += s;
  }
  return all;
}

// The content deltas of restored chunks, concatenated.
std::string Contents(const std::vector<std::string>& chunks) {
  return Concat(chunks,
                [](simdjson::dom::element d) { return d["choices"].at(0)["delta"]["content"]; });
}

// A chunk carrying `arguments` for tool call 0 of choice 0.
std::string ArgumentsChunk(std::string_view arguments) {
  std::string c =
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":)";
  AppendJsonString(c, arguments);
  return c + "}}]}}]}";
}

// The tool-call arguments of restored chunks, concatenated.
std::string Arguments(const std::vector<std::string>& chunks) {
  return Concat(chunks, [](simdjson::dom::element d) {
    return d["choices"].at(0)["delta"]["tool_calls"].at(0)["function"]["arguments"];
  });
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
  std::vector<std::string> out;
  r->restorer.FeedChunk(ArgumentsChunk(R"({"to":"<EM)"), out);
  r->restorer.FeedChunk(ArgumentsChunk(R"(AIL_1>","cc":"<EMAIL_2>"})"), out);
  EXPECT_EQ(Arguments(out), R"({"to":"ann@corp.io","cc":"<EMAIL_2>"})");
}

// A password with a quote and a backslash, and a PEM block (newlines), sent as message text and
// restored into a tool call's arguments: the client parses the body, then the arguments, and
// gets the originals back byte for byte.
constexpr std::string_view kPassword = "Xy9\"kQ2\\mP4vN8";
constexpr std::string_view kPem =
    "-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8\n-----END PRIVATE "
    "KEY-----";

std::unique_ptr<Redacted> RedactSecrets() {
  std::string content = "log in with password: '" + std::string(kPassword) + "' and key\n";
  content += kPem;
  std::string body = R"({"model":"m","messages":[{"role":"user","content":)";
  AppendJsonString(body, content);
  auto r = RedactJson(body + "}]}");
  EXPECT_EQ(r->req.messages.at(0).text,
            "log in with password: '<SECRET_1>' and key\n<PRIVATE_KEY_1>");
  return r;
}

constexpr std::string_view kArgs =
    R"({"user":"say \"hi\"","pw":"<SECRET_1>","key":"<PRIVATE_KEY_1>"})";

void ExpectOriginals(std::string_view args) {
  auto doc = api::ParseJsonView(args);
  ASSERT_TRUE(doc) << args;
  std::string_view user, pw, key;
  ASSERT_FALSE((*doc)["user"].get_string().get(user));
  ASSERT_FALSE((*doc)["pw"].get_string().get(pw));
  ASSERT_FALSE((*doc)["key"].get_string().get(key));
  EXPECT_EQ(user, "say \"hi\"");
  EXPECT_EQ(pw, kPassword);
  EXPECT_EQ(key, kPem);
}

TEST(ResponseRestorer, OriginalsJsonEscapedInsideWholeBodyToolArguments) {
  auto r = RedactSecrets();
  std::string body = R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant",)"
                     R"("content":"pw <SECRET_1>","tool_calls":[{"id":"t","type":"function",)"
                     R"("function":{"name":"login","arguments":)";
  AppendJsonString(body, kArgs);
  body += R"(}}]},"finish_reason":"tool_calls"}]})";
  const std::string out = r->restorer.RestoreBody(body);
  auto doc = api::ParseJsonView(out);
  ASSERT_TRUE(doc) << out;
  std::string_view content, args;
  ASSERT_FALSE((*doc)["choices"].at(0)["message"]["content"].get_string().get(content));
  EXPECT_EQ(content, "pw " + std::string(kPassword));  // plain text: escaped once, by the body
  ASSERT_FALSE((*doc)["choices"]
                   .at(0)["message"]["tool_calls"]
                   .at(0)["function"]["arguments"]
                   .get_string()
                   .get(args));
  ExpectOriginals(args);
}

TEST(ResponseRestorer, OriginalsJsonEscapedInStreamedToolArgumentsAtEverySplit) {
  const std::string_view all = kArgs;
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    auto r = RedactSecrets();
    std::vector<std::string> out;
    // The opening chunk holds no placeholder and passes through untouched.
    r->restorer.FeedChunk(ArgumentsChunk(all.substr(0, std::min<std::size_t>(cut, 3))), out);
    if (cut > 3) r->restorer.FeedChunk(ArgumentsChunk(all.substr(3, cut - 3)), out);
    r->restorer.FeedChunk(ArgumentsChunk(all.substr(cut)), out);
    r->restorer.FinishStream(out);
    SCOPED_TRACE(cut);
    ExpectOriginals(Arguments(out));
  }
}

// Earlier turns' tool-call arguments and a JSON tool result hold the password JSON-escaped
// (`Xy9\"kQ2\\mP4vN8`): the whole value is replaced, its original kept decoded, so it restores
// into a new tool call's arguments byte for byte.
std::unique_ptr<Redacted> RedactSecretInToolTurns() {
  std::string args = R"({"user":"ann","password":)";
  AppendJsonString(args, kPassword);
  args += "}";
  std::string result = R"({"ok":true,"token":)";
  AppendJsonString(result, kPassword);
  result += "}";
  std::string body = R"({"model":"m","messages":[{"role":"user","content":"log in"},)"
                     R"({"role":"assistant","content":null,"tool_calls":[{"id":"t1",)"
                     R"("type":"function","function":{"name":"login","arguments":)";
  AppendJsonString(body, args);
  body += R"(}}]},{"role":"tool","tool_call_id":"t1","content":)";
  AppendJsonString(body, result);
  return RedactJson(body + "}]}");
}

// Every 4-byte piece of `secret` is absent from `text`.
void ExpectNoPartOf(std::string_view secret, std::string_view text) {
  for (std::size_t i = 0; i + 4 <= secret.size(); ++i) {
    EXPECT_EQ(text.find(secret.substr(i, 4)), std::string_view::npos)
        << secret.substr(i, 4) << " in " << text;
  }
}

TEST(RedactRequest, JsonEscapedSecretInToolTurnsReplacedWholeAndKeptDecoded) {
  auto r = RedactSecretInToolTurns();
  const auto& m = r->req.messages;
  EXPECT_EQ(m.at(1).tool_calls.at(0).arguments, R"({"user":"ann","password":"<SECRET_1>"})");
  EXPECT_EQ(m.at(2).text, R"({"ok":true,"token":"<SECRET_1>"})");  // the same value, decoded
  EXPECT_EQ(r->restorer.replaced(), 2);
  ASSERT_EQ(r->restorer.redactor().mapping().size(), 1u);
  EXPECT_EQ(r->restorer.redactor().mapping().at("<SECRET_1>"), kPassword);
  std::vector<std::string_view> texts;
  classify::CollectTexts(r->req, texts);
  for (std::string_view t : texts) ExpectNoPartOf(kPassword, t);
  EXPECT_TRUE(DefaultScanner().Classify(texts).findings.empty());
  // The scan's offsets stay bytes into the arguments as the client sent them.
  ASSERT_FALSE(r->cls.findings.empty());
  const sensitivity::Finding& f = r->cls.findings.front();
  EXPECT_EQ(f.type, "secret");
  EXPECT_EQ(f.size(), std::string_view(R"(Xy9\"kQ2\\mP4vN8)").size());
}

TEST(RedactRequest, ToolResultThatIsNotJsonStaysPlainText) {
  auto r = RedactJson(R"({"model":"m","messages":[{"role":"tool","tool_call_id":"t",)"
                      R"("content":"note: \"password\": \"Xy9\\\"kQ2mP4vN8\""}]})");
  EXPECT_EQ(r->req.messages.at(0).text, R"(note: "password": "<SECRET_1>")");
  EXPECT_EQ(r->restorer.redactor().mapping().at("<SECRET_1>"), R"(Xy9\"kQ2mP4vN8)");
}

TEST(ResponseRestorer, SecretFromToolTurnsRestoredIntoNewToolArguments) {
  auto r = RedactSecretInToolTurns();
  std::string body = R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant",)"
                     R"("content":null,"tool_calls":[{"id":"t2","type":"function",)"
                     R"("function":{"name":"login","arguments":)";
  AppendJsonString(body, R"({"pw":"<SECRET_1>"})");
  body += R"(}}]},"finish_reason":"tool_calls"}]})";
  const std::string out = r->restorer.RestoreBody(body);
  // JSON.parse twice: the body, then its arguments.
  auto doc = api::ParseJsonView(out);
  ASSERT_TRUE(doc) << out;
  std::string_view args;
  ASSERT_FALSE((*doc)["choices"]
                   .at(0)["message"]["tool_calls"]
                   .at(0)["function"]["arguments"]
                   .get_string()
                   .get(args));
  auto inner = api::ParseJsonView(args);
  ASSERT_TRUE(inner) << args;
  std::string_view pw;
  ASSERT_FALSE((*inner)["pw"].get_string().get(pw));
  EXPECT_EQ(pw, kPassword);

  std::vector<std::string> chunks;
  r->restorer.FeedChunk(ArgumentsChunk(R"({"pw":"<SEC)"), chunks);
  r->restorer.FeedChunk(ArgumentsChunk(R"(RET_1>"})"), chunks);
  r->restorer.FinishStream(chunks);
  auto streamed = api::ParseJsonView(Arguments(chunks));
  ASSERT_TRUE(streamed) << Arguments(chunks);
  ASSERT_FALSE((*streamed)["pw"].get_string().get(pw));
  EXPECT_EQ(pw, kPassword);
}

// The legacy `function_call` gets the same JSON escaping as tool calls, whole and streamed (a
// fragment held at the end goes out as a function_call delta).
TEST(ResponseRestorer, LegacyFunctionCallArgumentsJsonEscaped) {
  auto r = RedactSecrets();
  std::string body = R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant",)"
                     R"("content":null,"function_call":{"name":"login","arguments":)";
  AppendJsonString(body, kArgs);
  body += R"(}},"finish_reason":"function_call"}]})";
  const std::string out = r->restorer.RestoreBody(body);
  auto doc = api::ParseJsonView(out);
  ASSERT_TRUE(doc) << out;
  std::string_view args;
  ASSERT_FALSE(
      (*doc)["choices"].at(0)["message"]["function_call"]["arguments"].get_string().get(args));
  ExpectOriginals(args);

  auto chunk = [](std::string_view a) {
    std::string c = R"({"choices":[{"index":0,"delta":{"function_call":{"arguments":)";
    AppendJsonString(c, a);
    return c + "}}}]}";
  };
  const std::string_view all = kArgs;
  const std::size_t cut = all.find("<PRIVATE_") + 4;
  std::vector<std::string> chunks;
  r->restorer.FeedChunk(chunk(all.substr(0, cut)), chunks);
  r->restorer.FeedChunk(chunk(all.substr(cut, all.size() - cut - 4)), chunks);
  r->restorer.FeedChunk(chunk(all.substr(all.size() - 4)), chunks);
  r->restorer.FinishStream(chunks);
  auto function_arguments = [](simdjson::dom::element d) {
    return d["choices"].at(0)["delta"]["function_call"]["arguments"];
  };
  ExpectOriginals(Concat(chunks, function_arguments));

  chunks.clear();
  r->restorer.FeedChunk(chunk(R"({"pw":"<SECRET_1>","x":"<SEC)"), chunks);
  r->restorer.FinishStream(chunks);
  EXPECT_EQ(chunks.size(), 2u);  // the held fragment: a function_call delta of its own
  std::string want = R"({"pw":)";
  AppendJsonString(want, kPassword);
  EXPECT_EQ(Concat(chunks, function_arguments), want + R"(,"x":"<SEC)");
}

// /v1/completions and /v1/embeddings: the body is scanned whole, like Gateway::Forward does.
sensitivity::Classification ScanWhole(std::string_view body) {
  const std::string_view whole[] = {body};
  return DefaultScanner().Classify(whole);
}

TEST(RedactRawBody, PromptStringsOnlyOriginalsDecoded) {
  ResponseRestorer restorer;
  std::string body =
      R"({"model":"m","prompt":"caf\u00e9 ann@corp.io; password: 'Xy9\"kQ2\\mP4vN8'\n","max_tokens":5,)"
      R"( "user":"bob@corp.io", "stream":true})";
  const auto cls = ScanWhole(body);
  ASSERT_EQ(cls.findings.size(), 3u);
  EXPECT_EQ(RedactRawBody(body, cls, restorer), 2);
  EXPECT_EQ(restorer.replaced(), 2);
  // The prompt is re-encoded; every other byte is as it was (the `user` e-mail is left for the
  // caller's second scan to refuse).
  EXPECT_EQ(body,
            R"({"model":"m","prompt":"café <EMAIL_1>; password: '<SECRET_1>'\n","max_tokens":5,)"
            R"( "user":"bob@corp.io", "stream":true})");
  const auto& mapping = restorer.redactor().mapping();
  EXPECT_EQ(mapping.at("<EMAIL_1>"), "ann@corp.io");
  EXPECT_EQ(mapping.at("<SECRET_1>"), "Xy9\"kQ2\\mP4vN8");  // decoded, not as JSON wrote it
  EXPECT_EQ(ScanWhole(body).findings.size(), 1u);
}

TEST(RedactRawBody, ArraysOfStringsAndEmbeddingsInput) {
  ResponseRestorer restorer;
  std::string body = R"({"input":["ann@corp.io",[1,2],"x 4111 1111 1111 1111"],"model":"e"})";
  EXPECT_EQ(RedactRawBody(body, ScanWhole(body), restorer), 2);
  EXPECT_EQ(body, R"({"input":["<EMAIL_1>",[1,2],"x <CREDIT_CARD_1>"],"model":"e"})");
  // Token arrays, other keys, nothing found: untouched.
  std::string tokens = R"({"model":"m","prompt":[[1,2,3]],"suffix":"ann@corp.io"})";
  const std::string before = tokens;
  EXPECT_EQ(RedactRawBody(tokens, ScanWhole(tokens), restorer), 0);
  EXPECT_EQ(tokens, before);
}

TEST(RedactRawBody, FindingCuttingAnEscapeCoversTheCharacter) {
  ResponseRestorer restorer;
  std::string body = R"({"prompt":"a\u0041b"})";
  sensitivity::Classification cls;
  cls.findings.push_back({"secret", 13, 16, 4, 0});  // "041" inside \u0041
  EXPECT_EQ(RedactRawBody(body, cls, restorer), 1);
  EXPECT_EQ(body, R"({"prompt":"a<SECRET_1>b"})");
  EXPECT_EQ(restorer.redactor().mapping().at("<SECRET_1>"), "A");
}

std::string CompletionChunk(std::string_view text) {
  std::string c = R"({"id":"cmpl-1","object":"text_completion","created":7,"model":"m",)"
                  R"("choices":[{"index":0,"text":)";
  AppendJsonString(c, text);
  return c + R"(,"logprobs":null,"finish_reason":null}]})";
}

// The texts of restored text_completion chunks, concatenated.
std::string CompletionTexts(const std::vector<std::string>& chunks) {
  return Concat(chunks, [](simdjson::dom::element d) {
    std::string_view object;
    EXPECT_FALSE(d["object"].get_string().get(object));
    EXPECT_EQ(object, "text_completion");
    return d["choices"].at(0)["text"];
  });
}

TEST(RedactRawBody, CompletionsAnswerRestoredWholeAndStreamed) {
  const std::string text = "Sent to <EMAIL_1> ok";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    ResponseRestorer restorer;
    std::string body = R"({"model":"m","prompt":"mail ann@corp.io","stream":true})";
    ASSERT_EQ(RedactRawBody(body, ScanWhole(body), restorer), 1);
    std::vector<std::string> out;
    restorer.FeedChunk(CompletionChunk(text.substr(0, cut)), out);
    restorer.FeedChunk(CompletionChunk(text.substr(cut)), out);
    restorer.FinishStream(out);
    EXPECT_EQ(CompletionTexts(out), "Sent to ann@corp.io ok") << "cut at " << cut;
  }
  ResponseRestorer restorer;
  std::string body = R"({"model":"m","prompt":"mail ann@corp.io"})";
  ASSERT_EQ(RedactRawBody(body, ScanWhole(body), restorer), 1);
  // A held fragment at the end of the stream goes out as a text_completion chunk.
  std::vector<std::string> out;
  restorer.FeedChunk(CompletionChunk("to <EMAIL_"), out);
  restorer.FinishStream(out);
  EXPECT_EQ(CompletionTexts(out), "to <EMAIL_");
  const std::string answer =
      R"({"id":"cmpl-1","object":"text_completion","choices":[{"text":"to <EMAIL_1>","index":0}]})";
  EXPECT_EQ(
      restorer.RestoreBody(answer),
      R"({"id":"cmpl-1","object":"text_completion","choices":[{"text":"to ann@corp.io","index":0}]})");
}

}  // namespace
}  // namespace hybridgate::gateway
