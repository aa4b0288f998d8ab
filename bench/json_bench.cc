// JSON decode/encode, dialect translation and request classification (issue #9): what the gateway
// spends per request at the edges, next to two baselines measured in the same run on the same
// bytes: simdjson's raw DOM parse (the floor for any decode) and a memcpy (touching the memory).
// Read the results as ratios to those baselines, not as absolute numbers.
//
// Inputs are built in code, deterministic: a ~1 KB chat request (system + one user turn) and a
// ~16 KB multi-turn one with three tools, tool calls and tool results, as OpenAI bodies; the
// Anthropic and Gemini bodies of the same conversations are our own encoders' output. Responses
// are the golden files in src/api/{anthropic,gemini}/testdata (HYBRIDGATE_SOURCE_DIR). The
// stream is one upstream answer of 237 OpenAI chunks (reasoning, text, a tool call, usage),
// and the Anthropic / Gemini SSE of that answer, fed to the parsers one upstream chunk at a time.
//
// Run (Release build; nothing here asserts a timing):
//   cmake --preset release && cmake --build --preset release --target json_bench
//   ./build/release/bench/json_bench --benchmark_min_time=0.2
// --benchmark_filter=Stream (a regex) runs a subset. Counters: body_bytes is the input (for the
// encoders, the bytes written), messages what a decode produced, chunks / events the stream's
// length; items/s is per upstream chunk (OpenAI) or SSE event (Anthropic, Gemini).
//
// One run (2 shared, loaded cores at 2.6 GHz, GCC 12 -O3; CPU time per iteration):
//   name                                     CPU time       bytes/s  per chunk
//   BM_Baseline_SimdjsonParse/1KB              136 ns   7.00 GiB/s
//   BM_Baseline_SimdjsonParse/16KB            4156 ns   3.72 GiB/s
//   BM_Baseline_Memcpy/1KB                     5.3 ns    179 GiB/s
//   BM_Baseline_Memcpy/16KB                    112 ns    138 GiB/s
//   BM_Baseline_SimdjsonParseChunks          22333 ns   2.42 GiB/s      95 ns
//   BM_DecodeOpenAiChat/1KB                    495 ns   1.93 GiB/s
//   BM_DecodeOpenAiChat/16KB                 14593 ns   1.08 GiB/s
//   BM_DecodeAnthropicRequest/1KB              624 ns   1.57 GiB/s
//   BM_DecodeAnthropicRequest/16KB           21709 ns    740 MiB/s
//   BM_DecodeGeminiRequest/1KB                 984 ns    999 MiB/s
//   BM_DecodeGeminiRequest/16KB              26815 ns    564 MiB/s
//   BM_EncodeOpenAiChat/1KB                    301 ns   3.19 GiB/s
//   BM_EncodeOpenAiChat/16KB                  6258 ns   2.47 GiB/s
//   BM_EncodeAnthropicRequest/1KB              492 ns   1.99 GiB/s
//   BM_EncodeAnthropicRequest/16KB           16636 ns    965 MiB/s
//   BM_EncodeGeminiRequest/1KB                 488 ns   1.97 GiB/s
//   BM_EncodeGeminiRequest/16KB              17279 ns    875 MiB/s
//   BM_TranslateResponse/OpenAiToAnthropic     727 ns    809 MiB/s
//   BM_TranslateResponse/OpenAiToGemini       1506 ns    589 MiB/s
//   BM_TranslateResponse/AnthropicToOpenAi     906 ns    510 MiB/s
//   BM_TranslateResponse/GeminiToOpenAi       1437 ns    416 MiB/s
//   BM_StreamFromOpenAi/ToAnthropic          61796 ns    894 MiB/s     261 ns
//   BM_StreamFromOpenAi/ToGemini             77644 ns    712 MiB/s     328 ns
//   BM_StreamToOpenAi/FromAnthropic         144687 ns    195 MiB/s     605 ns
//   BM_StreamToOpenAi/FromGemini            133652 ns    244 MiB/s     636 ns
//   BM_ClassifyComplexity/1KB                 3578 ns    273 MiB/s   (1457 ns with the hashed
//   BM_ClassifyComplexity/16KB               25494 ns    620 MiB/s   cue table; 16KB: 9726 ns)
// So: an OpenAI decode costs ~3.5x simdjson's bare parse of the same bytes at both sizes, the
// Anthropic and Gemini decoders 4.5-7x; a translated stream chunk costs 3-7x parsing it.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "api/anthropic/anthropic.h"
#include "api/chat_request.h"
#include "api/gemini/gemini.h"
#include "api/openai_chat.h"
#include "api/sse.h"
#include "classify/complexity/classifier.h"
#include "classify/complexity/heuristic.h"
#include "common/json_writer.h"

namespace hybridgate::api {
namespace {

constexpr std::string_view kAnthropicModel = "claude-sonnet-4-5";
constexpr std::string_view kGeminiModel = "gemini-2.5-flash";

// --- inputs --------------------------------------------------------------------------------------

// Deterministic English-ish text with the odd number and punctuation (no quotes or backslashes,
// so the JSON escapes stay realistic: few).
std::string Prose(std::size_t size, uint64_t seed) {
  static constexpr const char* kWords[] = {
      "the",    "order",     "customer", "shipping", "invoice",   "please",  "check",  "whether",
      "a",      "refund",    "was",      "issued",   "for",       "item",    "and",    "tell",
      "me",     "when",      "it",       "arrives",  "we",        "need",    "to",     "compare",
      "prices", "across",    "three",    "stores",   "before",    "Friday",  "budget", "is",
      "about",  "delivery",  "address",  "changed",  "last",      "week",    "book",   "edition",
      "second", "paperback", "in",       "stock",    "warehouse", "London",  "Berlin", "of",
      "with",   "also",      "summary",  "report",   "should",    "include", "every",  "line"};
  std::string out;
  out.reserve(size + 16);
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  int in_sentence = 0;
  while (out.size() < size) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    out += kWords[(state >> 33) % std::size(kWords)];
    if ((state >> 20) % 17 == 0) out += " 42";
    if (++in_sentence == 11) {
      out += (state >> 45) % 5 == 0 ? "? " : ". ";
      in_sentence = 0;
    } else {
      out += ' ';
    }
  }
  out.resize(size);
  return out;
}

void WriteTool(JsonWriter& w, std::string_view name, std::string_view description,
               std::string_view parameters) {
  w.BeginObject().Field("type", "function").Key("function").BeginObject();
  w.Field("name", name).Field("description", description).RawField("parameters", parameters);
  w.EndObject().EndObject();
}

// The ~16 KB request: a support agent with three tools and `turns` rounds of
// question -> tool call -> tool result -> answer, then a last question.
std::string MultiTurnBody(int turns) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("model", "gpt-4o").Key("messages").BeginArray();
  w.BeginObject().Field("role", "system").Field("content", Prose(700, 1)).EndObject();
  for (int t = 0; t < turns; ++t) {
    const std::string id = "call_" + std::to_string(1000 + t);
    w.BeginObject().Field("role", "user").Field("content", Prose(420, 10 + t)).EndObject();
    w.BeginObject().Field("role", "assistant").Key("content").Null();
    w.Key("tool_calls").BeginArray().BeginObject().Field("id", id).Field("type", "function");
    w.Key("function").BeginObject().Field("name", t % 2 ? "search_catalog" : "get_order");
    w.Field("arguments", "{\"order_id\":\"A-" + std::to_string(48213 + t) +
                             "\",\"fields\":[\"status\",\"items\",\"shipping\"]}");
    w.EndObject().EndObject().EndArray().EndObject();
    const std::string result = "{\"status\":\"shipped\",\"items\":[{\"sku\":\"BK-" +
                               std::to_string(770 + t) + "\",\"qty\":2,\"title\":\"" +
                               Prose(120, 50 + t) + "\"}],\"carrier\":\"DHL\",\"eta_days\":3}";
    w.BeginObject().Field("role", "tool").Field("tool_call_id", id).Field("content", result);
    w.EndObject();
    w.BeginObject().Field("role", "assistant").Field("content", Prose(320, 90 + t)).EndObject();
  }
  w.BeginObject().Field("role", "user").Field("content", Prose(300, 7)).EndObject();
  w.EndArray().Key("tools").BeginArray();
  WriteTool(w, "get_order", "Look up an order by id and return the requested fields.",
            R"({"type":"object","properties":{"order_id":{"type":"string","description":)"
            R"("Order id, e.g. A-48213"},"fields":{"type":"array","items":{"type":"string",)"
            R"("enum":["status","items","shipping","payment"]}}},"required":["order_id"]})");
  WriteTool(
      w, "search_catalog", "Full-text search over the catalogue; returns up to 10 items.",
      R"({"type":"object","properties":{"query":{"type":"string"},"max_price":)"
      R"({"type":"number","minimum":0},"in_stock":{"type":"boolean"}},"required":["query"]})");
  WriteTool(w, "issue_refund", "Refund part or all of an order. Needs a reason.",
            R"({"type":"object","properties":{"order_id":{"type":"string"},"amount":)"
            R"({"type":"number"},"reason":{"type":"string"}},"required":["order_id","reason"]})");
  w.EndArray().Field("tool_choice", "auto").Field("parallel_tool_calls", true);
  w.Field("temperature", 0.2).Field("max_completion_tokens", int64_t{2048});
  w.Field("stream", true).Key("stream_options").BeginObject().Field("include_usage", true);
  w.EndObject().Field("user", "user-7731").EndObject();
  return out;
}

std::string SmallBody(std::size_t question_bytes) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("model", "gpt-4o-mini").Key("messages").BeginArray();
  w.BeginObject().Field("role", "system");
  w.Field("content", "You are a helpful assistant for an online bookshop. Answer briefly.");
  w.EndObject().BeginObject().Field("role", "user").Field("content", Prose(question_bytes, 3));
  w.EndObject().EndArray().Field("temperature", 0.7).Field("max_tokens", int64_t{512});
  w.Field("user", "user-7731").EndObject();
  return out;
}

enum class Size { k1K, k16K };

struct Corpus {
  std::string openai;     // OpenAI chat body (the ingress bytes)
  std::string anthropic;  // the same conversation as an Anthropic Messages body
  std::string gemini;     // ... and as a Gemini generateContent body
  ChatRequest req;        // `openai` decoded
  std::string error;      // why the corpus could not be built; empty when fine
};

Corpus BuildCorpus(Size size) {
  Corpus c;
  if (size == Size::k1K) {
    const std::size_t skeleton = SmallBody(0).size();
    c.openai = SmallBody(skeleton < 1024 ? 1024 - skeleton : 0);
  } else {
    int turns = 1;
    while (MultiTurnBody(turns).size() < 16 * 1024) ++turns;
    c.openai = MultiTurnBody(turns);
  }
  std::string copy = c.openai;
  auto req = DecodeOpenAiChat(copy);
  if (!req) {
    c.error = "DecodeOpenAiChat: " + req.error().message;
    return c;
  }
  c.req = std::move(*req);
  if (auto s = anthropic::EncodeRequest(c.req, {.model = kAnthropicModel}, c.anthropic); !s) {
    c.error = "anthropic::EncodeRequest: " + s.error().message;
  } else if (auto g = gemini::EncodeRequest(c.req, c.gemini); !g) {
    c.error = "gemini::EncodeRequest: " + g.error().message;
  }
  return c;
}

const Corpus& GetCorpus(Size size) {
  static const Corpus* corpora = new Corpus[2]{BuildCorpus(Size::k1K), BuildCorpus(Size::k16K)};
  return corpora[size == Size::k1K ? 0 : 1];
}

// A golden file under src/api/; empty when it cannot be read (the benchmark then skips).
std::string ReadGolden(std::string_view relative) {
  std::ifstream in(std::string(HYBRIDGATE_SOURCE_DIR) + "/src/api/" + std::string(relative),
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One streamed answer as an OpenAI upstream sends it: role, 16 reasoning deltas (vLLM/DeepSeek
// style), 192 content deltas of a token or two, a tool call whose arguments arrive in 24 pieces,
// the finish chunk, the usage chunk and [DONE]: 237 chunks.
std::vector<std::string> OpenAiChunks() {
  std::vector<std::string> chunks;
  const auto chunk = [&](std::string_view delta_json, std::string_view finish) {
    std::string out;
    JsonWriter w(out);
    w.BeginObject().Field("id", "chatcmpl-9xBench").Field("object", "chat.completion.chunk");
    w.Field("created", int64_t{1700000000}).Field("model", "gpt-4o-mini-2024-07-18");
    w.Field("system_fingerprint", "fp_0ba0d124f1").Key("choices").BeginArray().BeginObject();
    w.Field("index", 0).RawField("delta", delta_json).Key("logprobs").Null().Key("finish_reason");
    finish.empty() ? w.Null() : w.String(finish);
    w.EndObject().EndArray().EndObject();
    chunks.push_back(std::move(out));
  };
  const auto delta = [](std::string_view key, std::string_view text) {
    std::string out;
    JsonWriter(out).BeginObject().Field(key, text).EndObject();
    return out;
  };
  chunk(R"({"role":"assistant","content":""})", "");
  const std::string thought = Prose(16 * 12, 11);
  for (int i = 0; i < 16; ++i) chunk(delta("reasoning_content", thought.substr(i * 12, 12)), "");
  const std::string answer = Prose(192 * 7, 12);
  for (int i = 0; i < 192; ++i) chunk(delta("content", answer.substr(i * 7, 7)), "");
  chunk(R"({"tool_calls":[{"index":0,"id":"call_Qx3f","type":"function","function":)"
        R"({"name":"search_catalog","arguments":""}}]})",
        "");
  const std::string args =
      R"({"query":"second edition paperback in stock London","max_price":42.5,"in_stock":true})";
  const std::size_t piece = (args.size() + 23) / 24;
  for (std::size_t i = 0; i < 24; ++i) {
    std::string d;
    JsonWriter w(d);
    w.BeginObject().Key("tool_calls").BeginArray().BeginObject().Field("index", 0);
    w.Key("function")
        .BeginObject()
        .Field("arguments", args.substr(std::min(i * piece, args.size()), piece));
    w.EndObject().EndObject().EndArray().EndObject();
    chunk(d, "");
  }
  chunk("{}", "tool_calls");
  chunks.push_back(
      R"({"id":"chatcmpl-9xBench","object":"chat.completion.chunk","created":1700000000,)"
      R"("model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[],)"
      R"("usage":{"prompt_tokens":4210,"completion_tokens":391,"total_tokens":4601,)"
      R"("prompt_tokens_details":{"cached_tokens":2048}}})");
  chunks.push_back("[DONE]");
  return chunks;
}

// The upstream answer in one dialect: what each OpenAI chunk turned into (the SSE bytes of one
// upstream read), and how many SSE events that is in all.
struct SseStream {
  std::vector<std::string> reads;
  int64_t events = 0;
  int64_t bytes = 0;
  std::string error;
};

template <class Translator>
SseStream TranslateStream(Translator translator) {
  SseStream s;
  for (const std::string& c : OpenAiChunks()) {
    std::string out;
    if (auto st = translator.Feed(c, out); !st) {
      s.error = st.error().message;
      return s;
    }
    if (!out.empty()) s.reads.push_back(std::move(out));
  }
  std::string tail;
  translator.Finish(tail);
  if (!tail.empty()) s.reads.push_back(std::move(tail));
  SseParser parser;
  for (const std::string& r : s.reads) {
    s.bytes += static_cast<int64_t>(r.size());
    (void)parser.Feed(r, [&](const SseEvent&) { ++s.events; });
  }
  return s;
}

const SseStream& AnthropicSse() {
  static const SseStream* s =
      new SseStream(TranslateStream(anthropic::StreamFromOpenAi(std::string(kAnthropicModel))));
  return *s;
}

const SseStream& GeminiSse() {
  static const SseStream* s =
      new SseStream(TranslateStream(gemini::StreamFromOpenAi(std::string(kGeminiModel))));
  return *s;
}

int64_t TotalBytes(const std::vector<std::string>& parts) {
  int64_t n = 0;
  for (const std::string& p : parts) n += static_cast<int64_t>(p.size());
  return n;
}

// Skips the benchmark (and returns true) when its input could not be built.
bool Unusable(benchmark::State& state, const std::string& error) {
  if (error.empty()) return false;
  state.SkipWithError(error.c_str());
  return true;
}

void SetBytes(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

// --- baselines -----------------------------------------------------------------------------------

void BM_Baseline_SimdjsonParse(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  if (Unusable(state, c.error)) return;
  const simdjson::padded_string padded(c.openai);
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element root;
    if (parser.parse(padded).get(root)) {
      state.SkipWithError("simdjson parse failed");
      break;
    }
    benchmark::DoNotOptimize(root);
  }
  SetBytes(state, c.openai.size());
}
BENCHMARK_CAPTURE(BM_Baseline_SimdjsonParse, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_Baseline_SimdjsonParse, 16KB, Size::k16K);

void BM_Baseline_Memcpy(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  if (Unusable(state, c.error)) return;
  std::vector<char> dst(c.openai.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), c.openai.data(), c.openai.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, c.openai.size());
}
BENCHMARK_CAPTURE(BM_Baseline_Memcpy, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_Baseline_Memcpy, 16KB, Size::k16K);

// The per-chunk floor for the stream translators: parse each OpenAI chunk, nothing else.
void BM_Baseline_SimdjsonParseChunks(benchmark::State& state) {
  std::vector<simdjson::padded_string> chunks;
  for (const std::string& c : OpenAiChunks()) {
    if (c != "[DONE]") chunks.emplace_back(c);
  }
  simdjson::dom::parser parser;
  int64_t bytes = 0;
  for (const auto& c : chunks) bytes += static_cast<int64_t>(c.size());
  for (auto _ : state) {
    for (const auto& c : chunks) {
      simdjson::dom::element root;
      if (parser.parse(c).get(root)) state.SkipWithError("simdjson parse failed");
      benchmark::DoNotOptimize(root);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * chunks.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
}
BENCHMARK(BM_Baseline_SimdjsonParseChunks);

// --- request decode (ingress) and encode (egress) ------------------------------------------------

// The decoders take the body by reference and may grow its capacity for simdjson's padding (once:
// later iterations reuse it, as a body read into a buffer with spare room would).
template <class Decode>
void DecodeLoop(benchmark::State& state, const Corpus& c, const std::string& input, Decode decode) {
  if (Unusable(state, c.error)) return;
  std::string body = input;
  std::size_t messages = 0;
  for (auto _ : state) {
    auto req = decode(body);
    if (!req) {
      state.SkipWithError(req.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(req);
    messages = req->messages.size();
  }
  SetBytes(state, body.size());
  state.counters["messages"] = static_cast<double>(messages);
}

void BM_DecodeOpenAiChat(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  DecodeLoop(state, c, c.openai, [](std::string& body) { return DecodeOpenAiChat(body); });
}
BENCHMARK_CAPTURE(BM_DecodeOpenAiChat, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_DecodeOpenAiChat, 16KB, Size::k16K);

void BM_DecodeAnthropicRequest(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  DecodeLoop(state, c, c.anthropic,
             [](std::string& body) { return anthropic::DecodeRequest(body); });
}
BENCHMARK_CAPTURE(BM_DecodeAnthropicRequest, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_DecodeAnthropicRequest, 16KB, Size::k16K);

void BM_DecodeGeminiRequest(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  DecodeLoop(state, c, c.gemini, [](std::string& body) {
    return gemini::DecodeRequest(body, kGeminiModel, /*stream=*/false);
  });
}
BENCHMARK_CAPTURE(BM_DecodeGeminiRequest, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_DecodeGeminiRequest, 16KB, Size::k16K);

// ChatRequest -> an upstream's body, into a reused buffer; body_bytes counts the bytes written.
template <class Encode>
void EncodeLoop(benchmark::State& state, const Corpus& c, Encode encode) {
  if (Unusable(state, c.error)) return;
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (Status s = encode(out); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  SetBytes(state, out.size());
}

void BM_EncodeOpenAiChat(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  EncodeLoop(state, c, [&](std::string& out) -> Status {
    EncodeOpenAiChat(c.req, {.model = "gpt-4o-2024-08-06"}, out);
    return {};
  });
}
BENCHMARK_CAPTURE(BM_EncodeOpenAiChat, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_EncodeOpenAiChat, 16KB, Size::k16K);

void BM_EncodeAnthropicRequest(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  EncodeLoop(state, c, [&](std::string& out) {
    return anthropic::EncodeRequest(c.req, {.model = kAnthropicModel}, out);
  });
}
BENCHMARK_CAPTURE(BM_EncodeAnthropicRequest, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_EncodeAnthropicRequest, 16KB, Size::k16K);

void BM_EncodeGeminiRequest(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  EncodeLoop(state, c, [&](std::string& out) { return gemini::EncodeRequest(c.req, out); });
}
BENCHMARK_CAPTURE(BM_EncodeGeminiRequest, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_EncodeGeminiRequest, 16KB, Size::k16K);

// --- non-stream responses (golden files); bytes/s counts the input ------------------------------

enum class Response { kOpenAiToAnthropic, kOpenAiToGemini, kAnthropicToOpenAi, kGeminiToOpenAi };

void BM_TranslateResponse(benchmark::State& state, Response kind) {
  static constexpr const char* kInput[] = {
      "anthropic/testdata/response_openai.json", "gemini/testdata/encode_response_openai.json",
      "anthropic/testdata/response_anthropic.json", "gemini/testdata/response_gemini.json"};
  const std::string input = ReadGolden(kInput[static_cast<int>(kind)]);
  if (Unusable(state, input.empty() ? std::string("cannot read ") + kInput[static_cast<int>(kind)]
                                    : std::string())) {
    return;
  }
  const auto translate = [&]() -> Result<std::string> {
    switch (kind) {
      case Response::kOpenAiToAnthropic:
        return anthropic::EncodeResponse(input);
      case Response::kOpenAiToGemini:
        return gemini::EncodeResponse(input);
      case Response::kAnthropicToOpenAi:
        return anthropic::DecodeResponse(input, 1700000000);
      case Response::kGeminiToOpenAi:
        return gemini::DecodeResponse(input, kGeminiModel, 1700000000);
    }
    return std::string();
  };
  for (auto _ : state) {
    auto out = translate();
    if (!out) {
      state.SkipWithError(out.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  SetBytes(state, input.size());
}
BENCHMARK_CAPTURE(BM_TranslateResponse, OpenAiToAnthropic, Response::kOpenAiToAnthropic);
BENCHMARK_CAPTURE(BM_TranslateResponse, OpenAiToGemini, Response::kOpenAiToGemini);
BENCHMARK_CAPTURE(BM_TranslateResponse, AnthropicToOpenAi, Response::kAnthropicToOpenAi);
BENCHMARK_CAPTURE(BM_TranslateResponse, GeminiToOpenAi, Response::kGeminiToOpenAi);

// --- streams: one whole answer per iteration; items/s counts upstream chunks / SSE events -------

// OpenAI chunks -> a client's dialect (an Anthropic or Gemini client served by an OpenAI upstream).
template <class Translator>
void StreamFromOpenAi(benchmark::State& state, std::string_view model) {
  const std::vector<std::string> chunks = OpenAiChunks();
  std::string out;
  for (auto _ : state) {
    Translator translator{std::string(model)};
    for (const std::string& c : chunks) {
      out.clear();  // the gateway writes each chunk's events to the client before the next
      if (auto st = translator.Feed(c, out); !st) {
        state.SkipWithError(st.error().message.c_str());
        break;
      }
      benchmark::DoNotOptimize(out.data());
    }
    translator.Finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * chunks.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * TotalBytes(chunks));
  state.counters["chunks"] = static_cast<double>(chunks.size());
}
void BM_StreamFromOpenAi_Anthropic(benchmark::State& state) {
  StreamFromOpenAi<anthropic::StreamFromOpenAi>(state, kAnthropicModel);
}
BENCHMARK(BM_StreamFromOpenAi_Anthropic)->Name("BM_StreamFromOpenAi/ToAnthropic");

void BM_StreamFromOpenAi_Gemini(benchmark::State& state) {
  StreamFromOpenAi<gemini::StreamFromOpenAi>(state, kGeminiModel);
}
BENCHMARK(BM_StreamFromOpenAi_Gemini)->Name("BM_StreamFromOpenAi/ToGemini");

// Anthropic upstream SSE -> OpenAI chunks: SseParser plus the translator, one upstream read at a
// time (each read is the events one OpenAI chunk became, so events end on read boundaries).
void BM_StreamToOpenAi_Anthropic(benchmark::State& state) {
  const SseStream& sse = AnthropicSse();
  if (Unusable(state, sse.error)) return;
  std::vector<std::string> out;
  for (auto _ : state) {
    SseParser parser;
    anthropic::StreamToOpenAi translator(1700000000);
    Status status;
    for (const std::string& read : sse.reads) {
      out.clear();
      auto fed = parser.Feed(read, [&](const SseEvent& e) {
        if (status) status = translator.Feed(e, out);
      });
      if (!fed || !status) break;
      benchmark::DoNotOptimize(out.data());
    }
    if (!status || !translator.Done()) {
      state.SkipWithError(status ? "stream did not end" : status.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * sse.events);
  state.SetBytesProcessed(state.iterations() * sse.bytes);
  state.counters["events"] = static_cast<double>(sse.events);
}
BENCHMARK(BM_StreamToOpenAi_Anthropic)->Name("BM_StreamToOpenAi/FromAnthropic");

void BM_StreamToOpenAi_Gemini(benchmark::State& state) {
  const SseStream& sse = GeminiSse();
  if (Unusable(state, sse.error)) return;
  std::vector<std::string> out;
  for (auto _ : state) {
    SseParser parser;
    gemini::StreamToOpenAi translator(std::string(kGeminiModel), 1700000000);
    Status status;
    for (const std::string& read : sse.reads) {
      out.clear();
      auto fed = parser.Feed(read, [&](const SseEvent& e) {
        if (status) status = translator.Feed(e.data, out);
      });
      if (!fed || !status) break;
      benchmark::DoNotOptimize(out.data());
    }
    translator.Finish(out);
    if (!status || !translator.Finished()) {
      state.SkipWithError(status ? "stream did not finish" : status.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * sse.events);
  state.SetBytesProcessed(state.iterations() * sse.bytes);
  state.counters["events"] = static_cast<double>(sse.events);
}
BENCHMARK(BM_StreamToOpenAi_Gemini)->Name("BM_StreamToOpenAi/FromGemini");

// --- classification ------------------------------------------------------------------------------

// What the route planner runs per request (gateway/route_planner.cc): base features, then the
// heuristic classifier's score and its top contributions. bytes/s counts the OpenAI body.
void BM_ClassifyComplexity(benchmark::State& state, Size size) {
  const Corpus& c = GetCorpus(size);
  if (Unusable(state, c.error)) return;
  const complexity::HeuristicClassifier heuristic;
  for (auto _ : state) {
    complexity::Features f = complexity::Classify(heuristic, c.req);
    benchmark::DoNotOptimize(f);
  }
  SetBytes(state, c.openai.size());
}
BENCHMARK_CAPTURE(BM_ClassifyComplexity, 1KB, Size::k1K);
BENCHMARK_CAPTURE(BM_ClassifyComplexity, 16KB, Size::k16K);

}  // namespace
}  // namespace hybridgate::api

BENCHMARK_MAIN();
