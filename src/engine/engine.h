// The embedded open-weight engine: one GGUF model loaded in-process with llama.cpp, served by ONE
// decode thread with continuous batching. Requests (Jobs) share each llama_decode call: every
// active sequence contributes its next token, and waiting prompts are prefilled in chunks beside
// them, so a long prompt never stalls the streams already running. A cancelled job frees its slot
// (and its KV cache cells) at the next step.
//
// Threads: Submit/Cancel/Take may be called from any thread (the gateway's event loops); the
// decode thread is the only one that touches llama.cpp's context. Results are handed back through
// a Job that the caller polls after its `notify` callback fires (see job_waiter.h for Asio).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

struct llama_model;
struct llama_context;
struct llama_vocab;

namespace hybridgate::engine {

struct EngineConfig {
  std::string model_path;
  int slots = 4;         // sequences decoded together (continuous batching)
  int context = 4096;    // KV cache tokens per slot: prompt + completion
  int threads = 1;       // ggml threads; they spin, so keep them off the network threads' cores
  int batch = 512;       // most tokens per llama_decode call (decode tokens + prefill chunks)
  int max_queue = 1024;  // jobs waiting for a slot; beyond that Submit refuses (503)
};

struct Sampling {
  float temperature = 0.8f;
  float top_p = 0.95f;
  int top_k = 40;
  float min_p = 0.05f;
  std::optional<uint32_t> seed;   // unset: a random seed per job
  int max_tokens = -1;            // -1: until the slot's context is full
  std::vector<std::string> stop;  // the text stops before the first occurrence of any
  int top_logprobs = -1;          // -1: no logprobs; 0..20: with that many alternatives
};

struct TokenLogprob {
  std::string token;
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
};

// What a job produced since the last Take().
struct Progress {
  std::string text;
  std::vector<TokenLogprob> logprobs;
  bool done = false;
  std::string finish_reason;  // when done: "stop" or "length"
  std::optional<Error> error;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

class Engine;

class Job {
 public:
  // Appends what was produced since the last call to `out` (text, logprobs) and copies the
  // counters and the final state.
  void Take(Progress& out);
  // Stops generation; the slot is freed at the decode loop's next step. No notify after return.
  void Cancel();

 private:
  friend class Engine;
  bool cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  std::mutex mu_;
  Progress pending_;
  bool cancelled_ = false;
  std::function<void()> notify_;
  // Decode-thread state (no lock).
  std::vector<int32_t> prompt_;
  Sampling sampling_;
};

// Embedding vectors for a list of inputs (mean-pooled, L2-normalised), computed on the decode
// thread between generation steps.
class EmbedJob {
 public:
  // True once finished; then `vectors` (one per input) or `error` is set, and `tokens` counted.
  bool Take(std::vector<std::vector<float>>& vectors, std::optional<Error>& error, int64_t& tokens);

 private:
  friend class Engine;
  std::mutex mu_;
  bool done_ = false;
  std::vector<std::vector<int32_t>> inputs_;
  std::vector<std::vector<float>> vectors_;
  std::optional<Error> error_;
  int64_t tokens_ = 0;
  std::function<void()> notify_;
};

struct EngineStats {
  int active = 0;  // slots decoding
  int queued = 0;  // jobs waiting for a slot
  int64_t tokens_generated = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Load(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  struct Turn {
    std::string_view role;
    std::string_view content;
  };
  // Renders a conversation with the model's chat template (ChatML when it has none), ending with
  // the assistant's turn.
  Result<std::string> FormatChat(const std::vector<Turn>& turns) const;

  // Tokenizes `prompt` and queues it. Fails at once with kContextLength when the prompt does not
  // fit a slot, kUnavailable when the queue is full. `notify` runs on the decode thread after new
  // progress (keep it cheap: post to an event loop).
  Result<std::shared_ptr<Job>> Submit(std::string_view prompt, const Sampling& sampling,
                                      std::function<void()> notify);

  // Tokenizes `inputs` and queues them for embedding. kContextLength when one does not fit a
  // slot's context.
  Result<std::shared_ptr<EmbedJob>> SubmitEmbedding(const std::vector<std::string>& inputs,
                                                    std::function<void()> notify);
  int embedding_size() const;
  // The model's tokens for `text` (special tokens parsed, BOS added as for a prompt). Any thread.
  Result<std::vector<int32_t>> Tokenize(std::string_view text) const;

  EngineStats stats() const;
  const EngineConfig& config() const { return config_; }
  // The model's general.name, and whether it is the generated random-weight placeholder.
  const std::string& model_name() const { return model_name_; }
  bool placeholder() const;

 private:
  struct Slot;
  explicit Engine(const EngineConfig& config) : config_(config) {}
  void Loop();
  void Admit(std::vector<Slot>& slots);
  bool Step(std::vector<Slot>& slots);
  void Sample(Slot& slot, int32_t batch_index);
  // Releases what is safe to send; `finish_reason` non-null ends the job.
  void Emit(Slot& slot, const char* finish_reason);
  void Release(Slot& slot);
  void Embed(EmbedJob& job);

  EngineConfig config_;
  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  std::string model_name_;
  std::string chat_template_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::deque<std::shared_ptr<EmbedJob>> embed_queue_;
  llama_context* embed_ctx_ = nullptr;  // created on first use, decode thread only
  bool stop_ = false;
  std::atomic<int> active_{0};
  std::atomic<int64_t> tokens_generated_{0};
  std::thread thread_;
};

}  // namespace hybridgate::engine
