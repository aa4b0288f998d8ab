// UTF-8 hygiene for token streams: a model emits bytes (byte-fallback tokens can split a
// character, or be plain invalid), while clients need valid UTF-8 in every JSON chunk.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hybridgate::engine {

// Length of the longest prefix of `s` that does not end inside a multi-byte character that could
// still be completed by more bytes.
size_t CompleteUtf8Prefix(std::string_view s);

// Appends `in` to `out`, replacing every invalid byte sequence with U+FFFD. An incomplete
// character at the very end is replaced too: mid-stream, pass CompleteUtf8Prefix's prefix.
void AppendValidUtf8(std::string_view in, std::string& out);

}  // namespace hybridgate::engine
