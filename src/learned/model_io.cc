#include "learned/model_io.h"

#include <fmt/format.h>

#include <bit>
#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/json_writer.h"
#include "learned/dataset.h"

namespace hybridgate::learned {
namespace {

namespace json = boost::json;
constexpr std::string_view kMagic = "HGROUTER";

void PutFloats(std::string& out, const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = std::bit_cast<uint32_t>(v[i]);
    const char b[4] = {static_cast<char>(u & 0xFF), static_cast<char>((u >> 8) & 0xFF),
                       static_cast<char>((u >> 16) & 0xFF), static_cast<char>(u >> 24)};
    out.append(b, 4);
  }
}

void GetFloats(std::string_view in, size_t& pos, float* v, size_t n) {
  for (size_t i = 0; i < n; ++i, pos += 4) {
    const auto* b = reinterpret_cast<const unsigned char*>(in.data() + pos);
    const uint32_t u =
        uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
    v[i] = std::bit_cast<float>(u);
  }
}

std::string Payload(const ModelParams& p) {
  std::string out;
  out.reserve(4 * (2 * kNumDense + 1 + p.weights.size() + p.subject_bias.size() +
                   p.subject_weights.size()));
  PutFloats(out, p.dense_mean.data(), kNumDense);
  PutFloats(out, p.dense_scale.data(), kNumDense);
  PutFloats(out, &p.bias, 1);
  PutFloats(out, p.weights.data(), p.weights.size());
  PutFloats(out, p.subject_bias.data(), p.subject_bias.size());
  PutFloats(out, p.subject_weights.data(), p.subject_weights.size());
  return out;
}

std::string Header(const ModelParams& p, std::string_view payload) {
  std::string h;
  JsonWriter w(h);
  w.BeginObject().Field("format_version", kModelFormatVersion).Field("kind", "hybridgate.router");
  w.Field("target", TargetName(p.target));
  w.Key("labels").BeginObject().Field("weak", p.labels.weak).Field("strong", p.labels.strong);
  w.EndObject();
  w.Field("seed", fmt::format("{}", p.seed));
  w.Key("features").BeginObject().Field("word_bigrams", p.features.word_bigrams);
  w.Field("char_ngram_min", p.features.char_ngram_min);
  w.Field("char_ngram_max", p.features.char_ngram_max);
  w.Field("option_words", p.features.option_words).EndObject();
  w.Field("hash_bits", static_cast<int64_t>(p.hash_bits));
  w.Field("main_groups", static_cast<int64_t>(p.main_groups));
  w.Field("subject_bits", static_cast<int64_t>(p.subject_bits));
  w.Field("subject_groups", static_cast<int64_t>(p.subject_groups));
  w.Field("gated_groups", static_cast<int64_t>(p.gated_groups));
  w.Key("dense_names").BeginArray();
  for (std::string_view name : kDenseNames) w.String(name);
  w.EndArray().Key("classes").BeginArray();
  for (const std::string& c : p.classes) w.String(c);
  w.EndArray().Key("gated_classes").BeginArray();
  for (uint32_t g : p.gated_classes) w.Int(g);
  w.EndArray();
  w.Field("payload_bytes", static_cast<int64_t>(payload.size()));
  w.Field("payload_checksum", fmt::format("{:016x}", StableHash(payload)));
  w.EndObject();
  return h;
}

Error Bad(std::string_view source, std::string_view what) {
  return MakeError(ErrorCode::kInvalidRequest,
                   fmt::format("{}: not a valid model file: {}", source, what));
}

Result<int64_t> GetInt(const json::object& o, std::string_view key, std::string_view source) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64())
    return Fail(Bad(source, fmt::format("\"{}\" missing or not an integer", key)));
  return v->as_int64();
}

Result<bool> GetBool(const json::object& o, std::string_view key, std::string_view source) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_bool())
    return Fail(Bad(source, fmt::format("\"{}\" missing or not a bool", key)));
  return v->as_bool();
}

Result<std::string> GetString(const json::object& o, std::string_view key,
                              std::string_view source) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string())
    return Fail(Bad(source, fmt::format("\"{}\" missing or not a string", key)));
  return std::string(v->as_string());
}

// Subject classes and the indices of the gated ones.
Status ReadClasses(const json::value& classes, const json::object& h, std::string_view source,
                   ModelParams& p) {
  for (const json::value& c : classes.as_array()) {
    if (!c.is_string()) return Fail(Bad(source, "a class name is not a string"));
    p.classes.emplace_back(c.as_string());
  }
  if (p.classes.size() > kMaxClasses) return Fail(Bad(source, "too many classes"));
  const json::value* gated = h.if_contains("gated_classes");
  if (gated == nullptr || !gated->is_array()) return Fail(Bad(source, "\"gated_classes\" missing"));
  for (const json::value& g : gated->as_array()) {
    if (!g.is_int64() || g.as_int64() < 0 ||
        static_cast<size_t>(g.as_int64()) >= p.classes.size()) {
      return Fail(Bad(source, "a gated class index is out of range"));
    }
    p.gated_classes.push_back(static_cast<uint32_t>(g.as_int64()));
  }
  return {};
}

// Fills everything but the float arrays from the header.
Status ReadHeader(const json::object& h, std::string_view source, ModelParams& p) {
  auto version = GetInt(h, "format_version", source);
  if (!version) return Fail(version.error());
  if (*version != kModelFormatVersion) {
    return Fail(Bad(source, fmt::format("format version {} (this build reads {})", *version,
                                        kModelFormatVersion)));
  }
  auto target = GetString(h, "target", source);
  if (!target) return Fail(target.error());
  auto t = ParseTarget(*target);
  if (!t) return Fail(Bad(source, t.error().message));
  p.target = *t;
  const json::value* labels = h.if_contains("labels");
  const json::value* features = h.if_contains("features");
  const json::value* classes = h.if_contains("classes");
  if (labels == nullptr || !labels->is_object() || features == nullptr || !features->is_object() ||
      classes == nullptr || !classes->is_array()) {
    return Fail(Bad(source, "\"labels\", \"features\" or \"classes\" missing"));
  }
  auto weak = GetString(labels->as_object(), "weak", source);
  auto strong = GetString(labels->as_object(), "strong", source);
  auto seed = GetString(h, "seed", source);
  auto bigrams = GetBool(features->as_object(), "word_bigrams", source);
  auto cmin = GetInt(features->as_object(), "char_ngram_min", source);
  auto cmax = GetInt(features->as_object(), "char_ngram_max", source);
  auto options = GetBool(features->as_object(), "option_words", source);
  auto hash_bits = GetInt(h, "hash_bits", source);
  auto main_groups = GetInt(h, "main_groups", source);
  auto subject_bits = GetInt(h, "subject_bits", source);
  auto subject_groups = GetInt(h, "subject_groups", source);
  auto gated_groups = GetInt(h, "gated_groups", source);
  for (const Error* e :
       {weak ? nullptr : &weak.error(), strong ? nullptr : &strong.error(),
        seed ? nullptr : &seed.error(), bigrams ? nullptr : &bigrams.error(),
        cmin ? nullptr : &cmin.error(), cmax ? nullptr : &cmax.error(),
        options ? nullptr : &options.error(), hash_bits ? nullptr : &hash_bits.error(),
        main_groups ? nullptr : &main_groups.error(),
        subject_bits ? nullptr : &subject_bits.error(),
        subject_groups ? nullptr : &subject_groups.error(),
        gated_groups ? nullptr : &gated_groups.error()}) {
    if (e != nullptr) return Fail(*e);
  }
  if (*hash_bits < 4 || *hash_bits > 26 || *subject_bits < 4 || *subject_bits > 24 || *cmin < 0 ||
      *cmin > 16 || *cmax < 0 || *cmax > 16 || *main_groups < 0 || *main_groups > 15 ||
      *subject_groups < 0 || *subject_groups > 15 || *gated_groups < 0 || *gated_groups > 15) {
    return Fail(Bad(source, "a layout field is out of range"));
  }
  p.labels = {*weak, *strong};
  p.seed = std::strtoull(seed->c_str(), nullptr, 10);
  p.features = {*bigrams, static_cast<int>(*cmin), static_cast<int>(*cmax), *options};
  p.hash_bits = static_cast<uint32_t>(*hash_bits);
  p.main_groups = static_cast<uint32_t>(*main_groups);
  p.subject_bits = static_cast<uint32_t>(*subject_bits);
  p.subject_groups = static_cast<uint32_t>(*subject_groups);
  p.gated_groups = static_cast<uint32_t>(*gated_groups);
  return ReadClasses(*classes, h, source, p);
}

}  // namespace

Result<Model> DeserializeModel(std::string_view bytes, std::string_view source) {
  const size_t magic_end = bytes.find('\n');
  if (magic_end == std::string_view::npos || bytes.substr(0, kMagic.size()) != kMagic) {
    return Fail(Bad(source, "missing HGROUTER magic line"));
  }
  const size_t header_end = bytes.find('\n', magic_end + 1);
  if (header_end == std::string_view::npos) return Fail(Bad(source, "missing header line"));
  json::error_code ec;
  json::value hv = json::parse(bytes.substr(magic_end + 1, header_end - magic_end - 1), ec);
  if (ec || !hv.is_object()) return Fail(Bad(source, "header is not a JSON object"));
  ModelParams p;
  if (Status s = ReadHeader(hv.as_object(), source, p); !s) return Fail(s.error());

  const std::string_view payload = bytes.substr(header_end + 1);
  auto declared = GetInt(hv.as_object(), "payload_bytes", source);
  auto checksum = GetString(hv.as_object(), "payload_checksum", source);
  if (!declared || !checksum) return Fail(Bad(source, "payload size or checksum missing"));
  const size_t c = p.classes.size();
  const size_t subject = c == 0 ? 0 : p.NumSubjectBuckets() * c;
  const size_t floats = 2 * kNumDense + 1 + p.NumMain() + c + subject;
  if (static_cast<uint64_t>(*declared) != payload.size() || payload.size() != 4 * floats) {
    return Fail(Bad(
        source, fmt::format("payload is {} bytes, layout needs {}", payload.size(), 4 * floats)));
  }
  if (*checksum != fmt::format("{:016x}", StableHash(payload))) {
    return Fail(Bad(source, "payload checksum mismatch (file truncated or corrupted)"));
  }
  size_t pos = 0;
  GetFloats(payload, pos, p.dense_mean.data(), kNumDense);
  GetFloats(payload, pos, p.dense_scale.data(), kNumDense);
  GetFloats(payload, pos, &p.bias, 1);
  p.weights.resize(p.NumMain());
  GetFloats(payload, pos, p.weights.data(), p.weights.size());
  p.subject_bias.resize(c);
  GetFloats(payload, pos, p.subject_bias.data(), c);
  p.subject_weights.resize(subject);
  GetFloats(payload, pos, p.subject_weights.data(), subject);
  if (Status s = ValidateParams(p); !s) return Fail(Bad(source, s.error().message));
  return Model(std::move(p));
}

Status SaveModel(const Model& model, const std::string& path) {
  const std::string bytes = SerializeModel(model);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return Fail(MakeError(ErrorCode::kInternal, fmt::format("{}: cannot open for writing", path)));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Fail(MakeError(ErrorCode::kInternal, fmt::format("{}: write failed", path)));
  return {};
}

Result<Model> LoadModel(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Fail(MakeError(ErrorCode::kNotFound, fmt::format("{}: cannot open model file", path)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return DeserializeModel(ss.view(), path);
}

std::string SerializeModel(const Model& model) {
  const ModelParams& p = model.params();
  const std::string payload = Payload(p);
  std::string out = fmt::format("{} {}\n", kMagic, kModelFormatVersion);
  out += Header(p, payload);
  out += '\n';
  out += payload;
  return out;
}

}  // namespace hybridgate::learned
