#include "engine/tiny_model.h"

#include <fmt/format.h>
#include <ggml.h>
#include <gguf.h>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

namespace hybridgate::engine {
namespace {

// ChatML, which both llama.cpp's built-in template matcher and llama-server's Jinja engine read.
constexpr const char* kChatTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] "
    "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' "
    "}}{% endif %}";

struct GgufDeleter {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};

}  // namespace

Status WriteTinyModel(const TinyModelSpec& spec, const std::string& out_path) {
  if (spec.n_embd % spec.n_head != 0) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "n_embd must be a multiple of n_head"));
  }
  gguf_init_params vp{/*no_alloc=*/true, /*ctx=*/nullptr};
  std::unique_ptr<gguf_context, GgufDeleter> vocab(
      gguf_init_from_file(spec.vocab_path.c_str(), vp));
  if (!vocab) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("cannot read vocabulary file '{}'", spec.vocab_path)));
  }
  const int64_t tokens_key = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
  if (tokens_key < 0) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("'{}' has no tokenizer.ggml.tokens", spec.vocab_path)));
  }
  const int64_t n_vocab = static_cast<int64_t>(gguf_get_arr_n(vocab.get(), tokens_key));

  std::unique_ptr<gguf_context, GgufDeleter> out(gguf_init_empty());
  gguf_set_kv(out.get(), vocab.get());
  gguf_set_val_str(out.get(), "general.architecture", "llama");
  gguf_set_val_str(out.get(), "general.name", std::string(kPlaceholderName).c_str());
  gguf_set_val_u32(out.get(), "general.file_type", 0);  // all F32
  gguf_set_val_u32(out.get(), "llama.context_length", spec.context);
  gguf_set_val_u32(out.get(), "llama.embedding_length", spec.n_embd);
  gguf_set_val_u32(out.get(), "llama.block_count", spec.n_layer);
  gguf_set_val_u32(out.get(), "llama.feed_forward_length", spec.n_ff);
  gguf_set_val_u32(out.get(), "llama.attention.head_count", spec.n_head);
  gguf_set_val_u32(out.get(), "llama.attention.head_count_kv", spec.n_head);
  gguf_set_val_u32(out.get(), "llama.rope.dimension_count", spec.n_embd / spec.n_head);
  gguf_set_val_f32(out.get(), "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_str(out.get(), "tokenizer.chat_template", kChatTemplate);

  struct Shape {
    std::string name;
    int64_t ne0, ne1;  // ne1 == 0: a vector
    bool ones;         // norms start at 1
  };
  std::vector<Shape> shapes = {{"token_embd.weight", spec.n_embd, n_vocab, false},
                               {"output_norm.weight", spec.n_embd, 0, true},
                               {"output.weight", spec.n_embd, n_vocab, false}};
  for (int l = 0; l < spec.n_layer; ++l) {
    auto blk = [l](const char* t) { return fmt::format("blk.{}.{}.weight", l, t); };
    shapes.push_back({blk("attn_norm"), spec.n_embd, 0, true});
    shapes.push_back({blk("attn_q"), spec.n_embd, spec.n_embd, false});
    shapes.push_back({blk("attn_k"), spec.n_embd, spec.n_embd, false});
    shapes.push_back({blk("attn_v"), spec.n_embd, spec.n_embd, false});
    shapes.push_back({blk("attn_output"), spec.n_embd, spec.n_embd, false});
    shapes.push_back({blk("ffn_norm"), spec.n_embd, 0, true});
    shapes.push_back({blk("ffn_gate"), spec.n_embd, spec.n_ff, false});
    shapes.push_back({blk("ffn_up"), spec.n_embd, spec.n_ff, false});
    shapes.push_back({blk("ffn_down"), spec.n_ff, spec.n_embd, false});
  }
  size_t bytes = 0;
  for (const Shape& s : shapes) {
    bytes += ggml_tensor_overhead() + sizeof(float) * s.ne0 * std::max<int64_t>(s.ne1, 1) + 64;
  }
  ggml_init_params gp{bytes, nullptr, /*no_alloc=*/false};
  std::unique_ptr<ggml_context, GgmlDeleter> ctx(ggml_init(gp));
  if (!ctx) return Fail(MakeError(ErrorCode::kInternal, "ggml_init failed"));

  std::mt19937 rng(spec.seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  for (const Shape& s : shapes) {
    ggml_tensor* t = s.ne1 == 0 ? ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, s.ne0)
                                : ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, s.ne0, s.ne1);
    ggml_set_name(t, s.name.c_str());
    float* data = static_cast<float*>(t->data);
    const int64_t n = ggml_nelements(t);
    for (int64_t i = 0; i < n; ++i) data[i] = s.ones ? 1.0f : normal(rng);
    gguf_add_tensor(out.get(), t);
  }

  const std::string tmp = out_path + ".tmp";
  if (!gguf_write_to_file(out.get(), tmp.c_str(), /*only_meta=*/false)) {
    std::remove(tmp.c_str());
    return Fail(MakeError(ErrorCode::kInternal, fmt::format("cannot write '{}'", tmp)));
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Fail(MakeError(ErrorCode::kInternal, fmt::format("cannot rename to '{}'", out_path)));
  }
  return {};
}

}  // namespace hybridgate::engine
