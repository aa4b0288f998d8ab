// JsonWriter appends compact JSON to a std::string without building a DOM: the egress encoders
// use it so that a request is never copied into an intermediate tree on the hot path.
// Commas are inserted automatically; the caller only opens, closes and writes values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hybridgate {

// Appends `s` as a JSON string literal (with quotes), escaping per RFC 8259.
void AppendJsonString(std::string& out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Writes already-serialised JSON verbatim (a value kept from ingress, for example).
  JsonWriter& Raw(std::string_view json);

  // Shorthands for "key": value.
  JsonWriter& Field(std::string_view k, std::string_view v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, const char* v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, int64_t v) { return Key(k).Int(v); }
  JsonWriter& Field(std::string_view k, int v) { return Key(k).Int(v); }
  JsonWriter& Field(std::string_view k, double v) { return Key(k).Double(v); }
  JsonWriter& Field(std::string_view k, bool v) { return Key(k).Bool(v); }
  JsonWriter& RawField(std::string_view k, std::string_view json) { return Key(k).Raw(json); }

 private:
  // Whether the next element needs a comma before it; records that it is there.
  bool NextNeedsComma();
  void Separate();
  void Open(char bracket);
  void Close(char bracket);

  std::string& out_;
  // Per open container, whether it holds an element yet: bit d for depth d below 64 (so that a
  // writer allocates nothing of its own), deeper ones in `deep_`.
  uint64_t has_element_ = 0;
  size_t depth_ = 0;
  std::vector<bool> deep_;
  bool after_key_ = false;
};

}  // namespace hybridgate
