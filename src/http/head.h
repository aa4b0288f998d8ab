// Hand-written HTTP/1.1 message heads. The server's responses and the client's upstream requests
// are serialized into one contiguous string and written with the body in a single gather write:
// Beast's serializer walks a long buffers_cat_view per header, which cost a quarter of the
// gateway's instructions per request.
#pragma once

#include <boost/beast/core/string.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace hybridgate::http::head {

// Appends "name: value\r\n", growing `out` once. (The callback's size argument is not used: GCC
// 12's libstdc++ passes the new capacity there when it grows the string.)
inline void AppendField(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  const size_t total = at + name.size() + value.size() + 4;
  out.resize_and_overwrite(total, [&](char* p, size_t) {
    p += at;
    if (!name.empty()) std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = ':';
    *p++ = ' ';
    if (!value.empty()) std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p++ = '\r';
    *p = '\n';
    return total;
  });
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

// A 64-bit mask with one bit for `name`, the same for names that are equal case-insensitively
// (unequal names may share it). Two fields whose bits differ cannot have the same name.
inline uint64_t NameBit(std::string_view name) {
  if (name.empty()) return 1;
  const auto c = [&](size_t i) { return static_cast<unsigned>(name[i]) | 0x20u; };
  return uint64_t{1} << ((name.size() * 7 + c(name.size() - 1) + c(name.size() / 2) * 3) & 63);
}

// Appends `fields` (last value of a name wins), leaving out the names in `framing`: the message's
// own framing fields, which the caller writes. Names are compared only where their NameBit
// collides: a head of a dozen fields is one pass, not a dozen scans of it.
template <class Fields>
void AppendFields(std::string& out, const Fields& fields,
                  std::initializer_list<std::string_view> framing) {
  uint64_t framing_bits = 0;
  for (std::string_view f : framing) framing_bits |= NameBit(f);
  uint64_t seen = 0, repeated = 0;  // bits of one field, and bits of two or more
  for (const auto& f : fields) {
    const uint64_t bit = NameBit(f.first);
    repeated |= seen & bit;
    seen |= bit;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const uint64_t bit = NameBit(fields[i].first);
    if ((repeated & bit) != 0 && Superseded(fields, i)) continue;
    if ((framing_bits & bit) != 0 && NameIn(fields[i].first, framing)) continue;
    AppendField(out, fields[i].first, fields[i].second);
  }
}

}  // namespace hybridgate::http::head
