// Hand-written HTTP/1.1 message heads. The server's responses and the client's upstream requests
// are serialized into one contiguous string and written with the body in a single gather write:
// Beast's serializer walks a long buffers_cat_view per header, which cost a quarter of the
// gateway's instructions per request.
#pragma once

#include <boost/beast/core/string.hpp>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace hybridgate::http::head {

// Appends "name: value\r\n".
inline void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

// Appends the decimal digits of `n`.
void AppendDecimal(std::string& out, size_t n);

// The chunked-encoding size line of a chunk of `n` bytes ("<hex>\r\n") into `buf` (at least
// kChunkLineMax bytes); returns its length.
constexpr size_t kChunkLineMax = 2 * sizeof(size_t) + 2;
size_t ChunkLine(char* buf, size_t n);

// Whether `name` is one of `names`, case-insensitively.
inline bool NameIn(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (boost::beast::iequals(name, n)) return true;
  }
  return false;
}

// Whether field `i` of `fields` is overridden by a later one of the same name: fields are applied
// like repeated Beast `set()` calls, where the last value of a name wins.
template <class Fields>
bool Superseded(const Fields& fields, size_t i) {
  for (size_t j = i + 1; j < fields.size(); ++j) {
    if (boost::beast::iequals(fields[j].first, fields[i].first)) return true;
  }
  return false;
}

// Whether `fields` sets `name`.
template <class Fields>
bool Has(const Fields& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (boost::beast::iequals(f.first, name)) return true;
  }
  return false;
}

// Appends `fields` (last value of a name wins), leaving out the names in `framing`: the message's
// own framing fields, which the caller writes.
template <class Fields>
void AppendFields(std::string& out, const Fields& fields,
                  std::initializer_list<std::string_view> framing) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (Superseded(fields, i) || NameIn(fields[i].first, framing)) continue;
    AppendField(out, fields[i].first, fields[i].second);
  }
}

}  // namespace hybridgate::http::head
