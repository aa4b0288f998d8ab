// The text the scanner reads for a raw JSON text: a same-length copy in which the escapes that
// stand for whitespace become spaces, so a detector that needs a word boundary before a value
// finds it after `\n` as it does after a space. Offsets into the view are offsets into the JSON.
#pragma once

#include <string>
#include <string_view>

namespace hybridgate::sensitivity {

// Returns `json` itself (no copy) when it holds none of `\n \r \t \b \f \/`; otherwise writes into
// `storage` a copy in which each such two-byte escape is two spaces (`\/` is " /") and returns a
// view of `storage`. Escapes are read left to right in pairs, so `\\n` (an escaped backslash,
// then `n`) is left alone, as are `\"`, `\\` and `\uXXXX`, which the secret rule reads raw.
std::string_view JsonScanView(std::string_view json, std::string& storage);

}  // namespace hybridgate::sensitivity
