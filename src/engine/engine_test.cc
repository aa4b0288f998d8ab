// The engine against a generated random-weight model: real llama.cpp load, template, tokenize,
// decode and sample. Outputs are gibberish; the tests check the mechanics users depend on.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "engine/model_files.h"
#include "engine/tiny_model.h"
#include "engine/utf8.h"

namespace hybridgate::engine {
namespace {

namespace fs = std::filesystem;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("hg-engine-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    TinyModelSpec spec;
    spec.vocab_path = PlaceholderVocabPath();
    auto ok = WriteTinyModel(spec, (dir_ / "tiny.gguf").string());
    ASSERT_TRUE(ok) << ok.error().message;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  std::unique_ptr<Engine> Load(int slots, int context = 512) {
    EngineConfig c;
    c.model_path = (dir_ / "tiny.gguf").string();
    c.slots = slots;
    c.context = context;
    auto e = Engine::Load(c);
    EXPECT_TRUE(e) << e.error().message;
    return e ? std::move(*e) : nullptr;
  }

  static fs::path dir_;
};
fs::path EngineTest::dir_;

// Collects a job's progress on the test thread.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  int notified = 0;
  std::function<void()> Notify() {
    return [this] {
      std::lock_guard l(mu);
      ++notified;
      cv.notify_all();
    };
  }
};

Progress RunToEnd(Job& job, Collector& c) {
  Progress all;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!all.done && std::chrono::steady_clock::now() < deadline) {
    {
      std::unique_lock l(c.mu);
      c.cv.wait_for(l, std::chrono::milliseconds(50));
    }
    Progress p;
    job.Take(p);
    all.text += p.text;
    for (auto& lp : p.logprobs) all.logprobs.push_back(lp);
    all.done = p.done;
    all.finish_reason = p.finish_reason;
    all.error = p.error;
    all.prompt_tokens = p.prompt_tokens;
    all.completion_tokens = p.completion_tokens;
  }
  return all;
}

bool ValidUtf8(std::string_view s) {
  std::string out;
  AppendValidUtf8(s, out);
  return out == s;
}

TEST_F(EngineTest, LoadsThePlaceholderAndRendersChatMl) {
  auto e = Load(1);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->placeholder());
  auto prompt = e->FormatChat({{"system", "be brief"}, {"user", "hi"}});
  ASSERT_TRUE(prompt);
  EXPECT_EQ(*prompt,
            "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST_F(EngineTest, GeneratesUpToMaxTokensWithUsage) {
  auto e = Load(1);
  Collector c;
  Sampling s;
  s.temperature = 0;
  s.max_tokens = 12;
  auto job = e->Submit("Hello there", s, c.Notify());
  ASSERT_TRUE(job);
  Progress p = RunToEnd(**job, c);
  ASSERT_TRUE(p.done);
  ASSERT_FALSE(p.error);
  EXPECT_GT(p.prompt_tokens, 1);
  EXPECT_LE(p.completion_tokens, 12);
  if (p.finish_reason == "length") EXPECT_EQ(p.completion_tokens, 12);
  EXPECT_TRUE(ValidUtf8(p.text));
  EXPECT_GT(c.notified, 0);
}

TEST_F(EngineTest, GreedyAndSeededSamplingAreReproducible) {
  auto e = Load(2);
  auto run = [&](Sampling s) {
    Collector c;
    auto job = e->Submit("Once upon a time", s, c.Notify());
    EXPECT_TRUE(job);
    return RunToEnd(**job, c).text;
  };
  Sampling greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 20;
  EXPECT_EQ(run(greedy), run(greedy));
  Sampling seeded;
  seeded.seed = 7;
  seeded.max_tokens = 20;
  EXPECT_EQ(run(seeded), run(seeded));
}

TEST_F(EngineTest, ConcurrentJobsShareTheDecodeLoop) {
  auto e = Load(4);
  std::vector<Collector> cs(4);
  std::vector<std::shared_ptr<Job>> jobs;
  Sampling s;
  s.max_tokens = 200;
  s.seed = 1;
  for (int i = 0; i < 4; ++i) {
    auto j = e->Submit("Tell me a story number " + std::to_string(i), s, cs[i].Notify());
    ASSERT_TRUE(j);
    jobs.push_back(*j);
  }
  // All four are decoding at once, before any has finished: continuous batching, not a queue.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int seen_active = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    seen_active = std::max(seen_active, e->stats().active);
    if (seen_active == 4) break;
  }
  EXPECT_EQ(seen_active, 4);
  for (int i = 0; i < 4; ++i) {
    Progress p = RunToEnd(*jobs[i], cs[i]);
    EXPECT_TRUE(p.done);
    EXPECT_FALSE(p.error);
    EXPECT_GT(p.completion_tokens, 0);
  }
}

TEST_F(EngineTest, CancelFreesTheSlotForTheNextJob) {
  auto e = Load(1, 4096);
  Collector c1, c2;
  Sampling s;
  s.max_tokens = 4000;
  auto long_job = e->Submit("a", s, c1.Notify());
  ASSERT_TRUE(long_job);
  Sampling quick;
  quick.max_tokens = 4;
  auto next = e->Submit("b", quick, c2.Notify());
  ASSERT_TRUE(next);
  // Wait until the long job produces, then cancel it; the queued one must get the slot.
  {
    std::unique_lock l(c1.mu);
    c1.cv.wait_for(l, std::chrono::seconds(10), [&] { return c1.notified > 0; });
  }
  EXPECT_EQ(e->stats().queued, 1);
  (*long_job)->Cancel();
  Progress p = RunToEnd(**next, c2);
  EXPECT_TRUE(p.done);
  EXPECT_FALSE(p.error);
  Progress rest;
  (*long_job)->Take(rest);
  EXPECT_FALSE(rest.done);  // cancelled, never completed
  EXPECT_LT(rest.completion_tokens, 4000);
}

TEST_F(EngineTest, PromptOverTheContextIsAContextLengthError) {
  auto e = Load(1, 64);
  std::string prompt;
  for (int i = 0; i < 200; ++i) prompt += "word ";
  auto job = e->Submit(prompt, Sampling{}, [] {});
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().code, ErrorCode::kContextLength);
  EXPECT_NE(job.error().message.find("maximum context length is 64 tokens"), std::string::npos);
}

TEST_F(EngineTest, LogprobsDescribeTheSampledTokens) {
  auto e = Load(1);
  Collector c;
  Sampling s;
  s.temperature = 0;
  s.max_tokens = 8;
  s.top_logprobs = 3;
  auto job = e->Submit("The", s, c.Notify());
  ASSERT_TRUE(job);
  Progress p = RunToEnd(**job, c);
  ASSERT_EQ(static_cast<int64_t>(p.logprobs.size()), p.completion_tokens);
  for (const TokenLogprob& lp : p.logprobs) {
    EXPECT_LE(lp.logprob, 0.0f);
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_GE(lp.top[0].second, lp.top[1].second);
    // Greedy: the sampled token is the most likely one.
    EXPECT_FLOAT_EQ(lp.logprob, lp.top[0].second);
  }
}

TEST_F(EngineTest, StopStringEndsTheTextBeforeIt) {
  auto e = Load(1);
  Sampling s;
  s.temperature = 0;
  s.max_tokens = 30;
  Collector c1;
  auto full_job = e->Submit("Stop test", s, c1.Notify());
  const std::string full = RunToEnd(**full_job, c1).text;
  ASSERT_GT(full.size(), 12u);
  const std::string stop = full.substr(full.size() / 2, 3);
  s.stop = {stop};
  Collector c2;
  auto job = e->Submit("Stop test", s, c2.Notify());
  Progress p = RunToEnd(**job, c2);
  EXPECT_EQ(p.finish_reason, "stop");
  EXPECT_EQ(p.text, full.substr(0, full.find(stop)));
}

std::vector<std::vector<float>> EmbedAll(Engine& e, const std::vector<std::string>& inputs) {
  Collector c;
  auto job = e.SubmitEmbedding(inputs, c.Notify());
  EXPECT_TRUE(job);
  std::vector<std::vector<float>> out;
  std::optional<Error> error;
  int64_t tokens = 0;
  for (int i = 0; i < 600 && !(*job)->Take(out, error, tokens); ++i) {
    std::unique_lock l(c.mu);
    c.cv.wait_for(l, std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(error);
  EXPECT_GT(tokens, 0);
  return out;
}

TEST_F(EngineTest, EmbeddingsAreNormalisedAndDeterministic) {
  auto e = Load(1);
  auto v = EmbedAll(*e, {"the cat sat", "quantum chromodynamics", "the cat sat"});
  ASSERT_EQ(v.size(), 3u);
  ASSERT_EQ(static_cast<int>(v[0].size()), e->embedding_size());
  double norm = 0;
  for (float x : v[0]) norm += x * x;
  EXPECT_NEAR(norm, 1.0, 1e-4);
  EXPECT_EQ(v[0], v[2]);
  EXPECT_NE(v[0], v[1]);
  std::string big;
  for (int i = 0; i < 800; ++i) big += "word ";
  auto over = e->SubmitEmbedding({big}, [] {});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kContextLength);
}

}  // namespace
}  // namespace hybridgate::engine
