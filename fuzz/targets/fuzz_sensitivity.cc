// Fuzzes the sensitivity scanner (default detectors) over arbitrary bytes, split into several
// texts at NUL bytes like one request's messages, then redaction and streamed restoration.
// Checks the documented invariants: findings in bounds, sorted, non-overlapping, carrying a valid
// text index; they are what scanning each text on its own finds (Classify scans the texts in one
// Hyperscan call); the streamed restorer yields what the one-shot Restore yields.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "classify/sensitivity/redactor.h"
#include "classify/sensitivity/scanner.h"
#include "default_scanner.h"
#include "invariant.h"
#include "split.h"

namespace sensitivity = hybridgate::sensitivity;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> texts;
  while (true) {
    const size_t nul = in.find('\0');
    texts.push_back(in.substr(0, nul));
    if (nul == std::string_view::npos) break;
    in.remove_prefix(nul + 1);
  }
  const sensitivity::Classification c = TheScanner().Classify(texts);
  std::vector<size_t> last_end(texts.size(), 0);
  for (const sensitivity::Finding& f : c.findings) {
    if (f.text_index >= texts.size()) Die("text_index out of range");
    if (f.start > f.end || f.end > texts[f.text_index].size()) Die("finding out of bounds");
    if (f.start < last_end[f.text_index]) Die("findings overlap or are unsorted");
    last_end[f.text_index] = f.end;
  }
  std::vector<sensitivity::Finding> each;
  for (size_t i = 0; i < texts.size(); ++i) {
    for (sensitivity::Finding& f : TheScanner().Scan(texts[i])) {
      f.text_index = i;
      each.push_back(std::move(f));
    }
  }
  if (each != c.findings) Die("Classify differs from scanning each text on its own");

  sensitivity::Redactor redactor;
  const std::vector<std::string> redacted = redactor.RedactAll(texts, c);
  if (redacted.size() != texts.size()) Die("RedactAll changed the number of texts");
  for (const std::string& r : redacted) {
    const std::string whole = redactor.Restore(r);
    sensitivity::StreamRestorer restorer(redactor);
    std::string streamed;
    hybridgate::fuzz::ForEachChunk(
        reinterpret_cast<const uint8_t*>(r.data()), r.size(), [&](std::string_view chunk) {
          streamed += restorer.Feed(chunk);
          if (restorer.held() >= redactor.max_placeholder_size() && restorer.held() > 0)
            Die("restorer held back a whole placeholder or more");
        });
    streamed += restorer.Finish();
    // ForEachChunk drops the last byte (it drives the split), so compare against that prefix.
    const std::string want =
        redactor.Restore(std::string_view(r).substr(0, r.empty() ? 0 : r.size() - 1));
    if (streamed != want) Die("streamed restoration differs from Restore");
    (void)whole;
  }
  return 0;
}
