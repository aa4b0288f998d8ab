#include "engine/engine.h"

#include <fmt/format.h>
#include <llama.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "engine/tiny_model.h"
#include "engine/utf8.h"

namespace hybridgate::engine {

struct Engine::Slot {
  std::shared_ptr<Job> job;
  int seq = 0;
  llama_sampler* sampler = nullptr;
  size_t fed = 0;   // prompt tokens already decoded
  int32_t pos = 0;  // position of the next token in this sequence
  llama_token last = -1;
  bool generating = false;
  int32_t batch_index = -1;  // row of this slot's logits in the current batch
  int64_t generated = 0;
  std::string held;  // text not yet released: a possible stop-string prefix or a partial character
  std::vector<TokenLogprob> logprobs;
};

namespace {

void QuietLog(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

Error EngineError(ErrorCode code, std::string message) {
  return MakeError(code, "local engine: " + std::move(message));
}

std::string Piece(const llama_vocab* vocab, llama_token token) {
  char buf[128];
  int n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, false);
  if (n >= 0) return std::string(buf, n);
  std::string big(-n, '\0');
  n = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
  big.resize(std::max(n, 0));
  return big;
}

}  // namespace

void Job::Take(Progress& out) {
  std::lock_guard lock(mu_);
  out.text += pending_.text;
  pending_.text.clear();
  for (auto& lp : pending_.logprobs) out.logprobs.push_back(std::move(lp));
  pending_.logprobs.clear();
  out.done = pending_.done;
  out.finish_reason = pending_.finish_reason;
  out.error = pending_.error;
  out.prompt_tokens = pending_.prompt_tokens;
  out.completion_tokens = pending_.completion_tokens;
}

void Job::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  notify_ = nullptr;
}

Result<std::unique_ptr<Engine>> Engine::Load(const EngineConfig& config) {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(QuietLog, nullptr);
    llama_backend_init();
  });
  if (config.slots < 1 || config.context < 16 || config.threads < 1 || config.batch < 1) {
    return Fail(EngineError(ErrorCode::kInvalidRequest,
                            "slots, threads and batch must be ≥ 1 and context ≥ 16"));
  }
  std::unique_ptr<Engine> e(new Engine(config));
  llama_model_params mp = llama_model_default_params();
  e->model_ = llama_model_load_from_file(config.model_path.c_str(), mp);
  if (!e->model_) {
    return Fail(EngineError(ErrorCode::kInvalidRequest,
                            fmt::format("cannot load model '{}' (missing file, or not a GGUF "
                                        "model this llama.cpp supports)",
                                        config.model_path)));
  }
  e->vocab_ = llama_model_get_vocab(e->model_);
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(config.slots * config.context);
  cp.n_batch = static_cast<uint32_t>(config.batch);
  cp.n_ubatch = static_cast<uint32_t>(std::min(config.batch, 512));
  cp.n_seq_max = static_cast<uint32_t>(config.slots);
  cp.n_threads = config.threads;
  cp.n_threads_batch = config.threads;
  cp.kv_unified = false;  // each slot its own cache range: no cross-talk, simple eviction
  cp.no_perf = true;
  e->ctx_ = llama_init_from_model(e->model_, cp);
  if (!e->ctx_) {
    return Fail(EngineError(ErrorCode::kInvalidRequest,
                            fmt::format("cannot create a context of {} slots × {} tokens for '{}'",
                                        config.slots, config.context, config.model_path)));
  }
  char name[256] = {0};
  if (llama_model_meta_val_str(e->model_, "general.name", name, sizeof(name)) > 0) {
    e->model_name_ = name;
  }
  if (const char* t = llama_model_chat_template(e->model_, nullptr)) e->chat_template_ = t;
  e->thread_ = std::thread(&Engine::Loop, e.get());
  return e;
}

Engine::~Engine() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (embed_ctx_) llama_free(embed_ctx_);
  if (ctx_) llama_free(ctx_);
  if (model_) llama_model_free(model_);
}

bool Engine::placeholder() const { return model_name_ == kPlaceholderName; }

EngineStats Engine::stats() const {
  std::lock_guard lock(mu_);
  return {active_.load(), static_cast<int>(queue_.size()), tokens_generated_.load()};
}

Result<std::string> Engine::FormatChat(const std::vector<Turn>& turns) const {
  std::vector<std::string> owned;
  owned.reserve(turns.size() * 2);
  std::vector<llama_chat_message> msgs;
  size_t total = 0;
  for (const Turn& t : turns) {
    owned.emplace_back(t.role);
    owned.emplace_back(t.content);
    total += t.content.size() + 32;
  }
  for (size_t i = 0; i < turns.size(); ++i) {
    msgs.push_back({owned[2 * i].c_str(), owned[2 * i + 1].c_str()});
  }
  auto apply = [&](const char* tmpl) -> int32_t {
    std::string buf(total * 2 + 256, '\0');
    int32_t n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), true, buf.data(),
                                          static_cast<int32_t>(buf.size()));
    if (n > static_cast<int32_t>(buf.size())) {
      buf.resize(n);
      n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), true, buf.data(), n);
    }
    if (n >= 0) owned.back() = buf.substr(0, n);
    return n;
  };
  int32_t n = chat_template_.empty() ? -1 : apply(chat_template_.c_str());
  // A template llama.cpp's matcher does not know: ChatML is what most instruct models accept.
  if (n < 0) n = apply("chatml");
  if (n < 0) return Fail(EngineError(ErrorCode::kInternal, "cannot apply the chat template"));
  return std::move(owned.back());
}

Result<std::vector<int32_t>> Engine::Tokenize(std::string_view text) const {
  const int32_t len = static_cast<int32_t>(text.size());
  std::vector<llama_token> tokens(text.size() + 8);
  int32_t n = llama_tokenize(vocab_, text.data(), len, tokens.data(),
                             static_cast<int32_t>(tokens.size()), true, true);
  if (n < 0) {
    tokens.resize(-n);
    n = llama_tokenize(vocab_, text.data(), len, tokens.data(), -n, true, true);
  }
  if (n < 0) return Fail(EngineError(ErrorCode::kInvalidRequest, "cannot tokenize the input"));
  tokens.resize(n);
  return tokens;
}

Result<std::shared_ptr<Job>> Engine::Submit(std::string_view prompt, const Sampling& sampling,
                                            std::function<void()> notify) {
  auto tokenized = Tokenize(prompt);
  if (!tokenized) return Fail(std::move(tokenized.error()));
  std::vector<llama_token>& tokens = *tokenized;
  const int32_t n = static_cast<int32_t>(tokens.size());
  const int64_t want = sampling.max_tokens > 0 ? sampling.max_tokens : 1;
  if (n + want > config_.context) {
    return Fail(MakeError(
        ErrorCode::kContextLength,
        fmt::format("This model's maximum context length is {} tokens. However, you requested {} "
                    "tokens ({} in the messages, {} in the completion). Please reduce the length "
                    "of the messages or completion.",
                    config_.context, n + want, n, want),
        "messages"));
  }
  auto job = std::make_shared<Job>();
  job->prompt_.assign(tokens.begin(), tokens.end());
  job->sampling_ = sampling;
  job->notify_ = std::move(notify);
  job->pending_.prompt_tokens = n;
  {
    std::lock_guard lock(mu_);
    if (static_cast<int>(queue_.size()) >= config_.max_queue) {
      return Fail(EngineError(ErrorCode::kUnavailable,
                              fmt::format("{} requests already wait for a slot", queue_.size())));
    }
    queue_.push_back(job);
  }
  cv_.notify_one();
  return job;
}

bool EmbedJob::Take(std::vector<std::vector<float>>& vectors, std::optional<Error>& error,
                    int64_t& tokens) {
  std::lock_guard lock(mu_);
  if (!done_) return false;
  vectors = std::move(vectors_);
  error = error_;
  tokens = tokens_;
  return true;
}

int Engine::embedding_size() const { return llama_model_n_embd(model_); }

Result<std::shared_ptr<EmbedJob>> Engine::SubmitEmbedding(const std::vector<std::string>& inputs,
                                                          std::function<void()> notify) {
  auto job = std::make_shared<EmbedJob>();
  for (const std::string& in : inputs) {
    auto tokens = Tokenize(in);
    if (!tokens) return Fail(std::move(tokens.error()));
    if (static_cast<int>(tokens->size()) > config_.context) {
      return Fail(MakeError(
          ErrorCode::kContextLength,
          fmt::format("This model's maximum context length is {} tokens, however you requested "
                      "{} tokens in one input. Please reduce your input.",
                      config_.context, tokens->size()),
          "input"));
    }
    job->tokens_ += static_cast<int64_t>(tokens->size());
    job->inputs_.push_back(std::move(*tokens));
  }
  job->notify_ = std::move(notify);
  {
    std::lock_guard lock(mu_);
    if (static_cast<int>(embed_queue_.size()) >= config_.max_queue) {
      return Fail(EngineError(ErrorCode::kUnavailable, "too many embedding requests wait"));
    }
    embed_queue_.push_back(job);
  }
  cv_.notify_one();
  return job;
}

// One input at a time through a second context (embeddings on, mean pooling) that shares the
// model's weights; runs between generation steps on the decode thread.
void Engine::Embed(EmbedJob& job) {
  auto finish = [&job](std::optional<Error> error) {
    std::lock_guard lock(job.mu_);
    job.error_ = std::move(error);
    job.done_ = true;
    if (job.notify_) job.notify_();
  };
  if (!embed_ctx_) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(config_.context);
    cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(config_.context);
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = config_.threads;
    cp.embeddings = true;
    cp.pooling_type = LLAMA_POOLING_TYPE_MEAN;
    cp.no_perf = true;
    embed_ctx_ = llama_init_from_model(model_, cp);
    if (!embed_ctx_) {
      finish(EngineError(ErrorCode::kUnavailable, "cannot create an embedding context"));
      return;
    }
  }
  const int n_embd = llama_model_n_embd(model_);
  std::vector<std::vector<float>> out;
  for (const std::vector<int32_t>& tokens : job.inputs_) {
    llama_memory_clear(llama_get_memory(embed_ctx_), true);
    llama_batch batch = llama_batch_init(static_cast<int32_t>(tokens.size()), 0, 1);
    for (size_t i = 0; i < tokens.size(); ++i) {
      batch.token[i] = tokens[i];
      batch.pos[i] = static_cast<int32_t>(i);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = true;
    }
    batch.n_tokens = static_cast<int32_t>(tokens.size());
    const int rc = llama_decode(embed_ctx_, batch);
    llama_batch_free(batch);
    const float* e = rc == 0 ? llama_get_embeddings_seq(embed_ctx_, 0) : nullptr;
    if (!e) {
      finish(EngineError(ErrorCode::kUnavailable, fmt::format("embedding failed ({})", rc)));
      return;
    }
    std::vector<float>& v = out.emplace_back(e, e + n_embd);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    norm = std::sqrt(norm);
    if (norm > 0) {
      for (float& x : v) x = static_cast<float>(x / norm);
    }
  }
  {
    std::lock_guard lock(job.mu_);
    job.vectors_ = std::move(out);
  }
  finish(std::nullopt);
}

void Engine::Loop() {
  // Below the network threads: a busy decode loop must never delay accepting or proxying.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
  std::vector<Slot> slots(config_.slots);
  for (int i = 0; i < config_.slots; ++i) slots[i].seq = i;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return stop_ || !queue_.empty() || !embed_queue_.empty() || active_.load() > 0;
      });
      if (stop_) break;
    }
    std::shared_ptr<EmbedJob> embed;
    {
      std::lock_guard lock(mu_);
      if (!embed_queue_.empty()) {
        embed = std::move(embed_queue_.front());
        embed_queue_.pop_front();
      }
    }
    if (embed) Embed(*embed);  // one per step: generation keeps flowing between them
    Admit(slots);
    Step(slots);
  }
  for (Slot& s : slots) {
    if (!s.job) continue;
    {
      std::lock_guard lock(s.job->mu_);
      s.job->pending_.error = EngineError(ErrorCode::kUnavailable, "the engine is shutting down");
      s.job->pending_.done = true;
      if (s.job->notify_) s.job->notify_();
    }
    Release(s);
  }
}

void Engine::Admit(std::vector<Slot>& slots) {
  for (Slot& s : slots) {
    if (s.job) continue;
    std::shared_ptr<Job> job;
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && !job) {
        job = std::move(queue_.front());
        queue_.pop_front();
        if (job->cancelled()) job.reset();
      }
    }
    if (!job) return;
    const Sampling& sp = job->sampling_;
    llama_sampler* chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (sp.temperature <= 0) {
      llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    } else {
      if (sp.top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(sp.top_k));
      if (sp.top_p < 1) llama_sampler_chain_add(chain, llama_sampler_init_top_p(sp.top_p, 1));
      if (sp.min_p > 0) llama_sampler_chain_add(chain, llama_sampler_init_min_p(sp.min_p, 1));
      llama_sampler_chain_add(chain, llama_sampler_init_temp(sp.temperature));
      llama_sampler_chain_add(chain,
                              llama_sampler_init_dist(sp.seed ? *sp.seed : LLAMA_DEFAULT_SEED));
    }
    s.job = std::move(job);
    s.sampler = chain;
    s.fed = 0;
    s.pos = 0;
    s.generating = false;
    s.generated = 0;
    s.held.clear();
    s.logprobs.clear();
    active_.fetch_add(1);
  }
}

bool Engine::Step(std::vector<Slot>& slots) {
  llama_batch batch = llama_batch_init(config_.batch, 0, 1);
  struct BatchFree {
    llama_batch& b;
    ~BatchFree() { llama_batch_free(b); }
  } batch_free{batch};
  auto add = [&](Slot& s, llama_token tok, bool logits) {
    const int i = batch.n_tokens++;
    batch.token[i] = tok;
    batch.pos[i] = s.pos++;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = s.seq;
    batch.logits[i] = logits;
    if (logits) s.batch_index = i;
  };
  // Streams already generating go first: one token each keeps their inter-token latency flat.
  for (Slot& s : slots) {
    s.batch_index = -1;
    if (!s.job) continue;
    if (s.job->cancelled()) {
      Release(s);
      continue;
    }
    if (s.generating && batch.n_tokens < config_.batch) add(s, s.last, true);
  }
  // Prompts fill what is left of the batch, in chunks.
  for (Slot& s : slots) {
    if (!s.job || s.generating) continue;
    while (s.fed < s.job->prompt_.size() && batch.n_tokens < config_.batch) {
      const bool last = s.fed + 1 == s.job->prompt_.size();
      add(s, s.job->prompt_[s.fed++], last);
    }
  }
  if (batch.n_tokens == 0) return false;
  const int rc = llama_decode(ctx_, batch);
  if (rc != 0) {
    for (Slot& s : slots) {
      if (!s.job || (s.batch_index < 0 && s.generating)) continue;
      {
        std::lock_guard lock(s.job->mu_);
        s.job->pending_.error =
            EngineError(ErrorCode::kUnavailable, fmt::format("llama_decode failed ({})", rc));
        s.job->pending_.done = true;
        if (s.job->notify_) s.job->notify_();
      }
      Release(s);
    }
    return true;
  }
  for (Slot& s : slots) {
    if (s.job && s.batch_index >= 0) Sample(s, s.batch_index);
  }
  return true;
}

void Engine::Sample(Slot& s, int32_t idx) {
  const Sampling& sp = s.job->sampling_;
  if (sp.top_logprobs >= 0) {
    const float* logits = llama_get_logits_ith(ctx_, idx);
    const int n_vocab = llama_vocab_n_tokens(vocab_);
    float max = *std::max_element(logits, logits + n_vocab);
    double sum = 0;
    for (int i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
    const float lse = max + static_cast<float>(std::log(sum));
    s.logprobs.push_back({});
    TokenLogprob& lp = s.logprobs.back();
    const int k = std::min(sp.top_logprobs, n_vocab);
    if (k > 0) {
      std::vector<int32_t> ids(n_vocab);
      std::iota(ids.begin(), ids.end(), 0);
      std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                        [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
      for (int i = 0; i < k; ++i) {
        lp.top.emplace_back(Piece(vocab_, ids[i]), logits[ids[i]] - lse);
      }
    }
    lp.logprob = lse;  // the sampled token's logit is subtracted below
  }
  const llama_token tok = llama_sampler_sample(s.sampler, ctx_, idx);
  s.generating = true;
  s.last = tok;
  ++s.generated;
  tokens_generated_.fetch_add(1, std::memory_order_relaxed);
  if (llama_vocab_is_eog(vocab_, tok)) {
    if (!s.logprobs.empty()) s.logprobs.pop_back();  // the end token is not part of the text
    --s.generated;
    Emit(s, "stop");
    return;
  }
  const std::string piece = Piece(vocab_, tok);
  if (!s.logprobs.empty()) {
    s.logprobs.back().token = piece;
    s.logprobs.back().logprob = llama_get_logits_ith(ctx_, idx)[tok] - s.logprobs.back().logprob;
  }
  s.held += piece;
  for (const std::string& stop : sp.stop) {
    if (stop.empty()) continue;
    if (size_t at = s.held.find(stop); at != std::string::npos) {
      s.held.resize(at);
      Emit(s, "stop");
      return;
    }
  }
  const bool length =
      (sp.max_tokens > 0 && s.generated >= sp.max_tokens) || s.pos + 1 >= config_.context;
  Emit(s, length ? "length" : nullptr);
}

void Engine::Emit(Slot& s, const char* finish_reason) {
  const bool done = finish_reason != nullptr;
  const Sampling& sp = s.job->sampling_;
  std::string text;
  size_t consumed = 0;
  if (done) {
    consumed = s.held.size();
    AppendValidUtf8(s.held, text);
  } else {
    // Hold back a partial UTF-8 character and any tail that may start a stop string.
    size_t n = CompleteUtf8Prefix(s.held);
    size_t keep = 0;
    for (const std::string& stop : sp.stop) {
      for (size_t k = std::min(stop.size() - 1, n); k > keep; --k) {
        if (s.held.compare(n - k, k, stop, 0, k) == 0) {
          keep = k;
          break;
        }
      }
    }
    consumed = n - keep;
    AppendValidUtf8(std::string_view(s.held).substr(0, consumed), text);
  }
  s.held.erase(0, consumed);
  {
    std::lock_guard lock(s.job->mu_);
    Progress& p = s.job->pending_;
    p.text += text;
    for (auto& lp : s.logprobs) p.logprobs.push_back(std::move(lp));
    p.completion_tokens = s.generated;
    if (done) {
      p.done = true;
      p.finish_reason = finish_reason;
    }
    if (s.job->notify_) s.job->notify_();
  }
  s.logprobs.clear();
  if (done) Release(s);
}

void Engine::Release(Slot& s) {
  llama_memory_seq_rm(llama_get_memory(ctx_), s.seq, -1, -1);
  if (s.sampler) llama_sampler_free(s.sampler);
  s.sampler = nullptr;
  s.job.reset();
  s.generating = false;
  s.batch_index = -1;
  active_.fetch_sub(1);
}

}  // namespace hybridgate::engine
