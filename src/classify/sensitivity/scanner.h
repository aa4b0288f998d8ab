// Sensitive-data scanner: one Hyperscan database compiled from every enabled detector, one pass
// over a request's texts, then cheap validators (checksums, ranges, context windows, entropy).
// Built once at startup; Scan() and Classify() are const and may run on any number of threads.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "classify/sensitivity/finding.h"
#include "classify/sensitivity/sensitivity_config.h"
#include "common/result.h"

namespace hybridgate::sensitivity {

class Scanner {
 public:
  // Compiles the database. Fails with kInvalidRequest for a bad config (e.g. a regex that neither
  // Hyperscan nor RE2 accepts) and kInternal when Hyperscan cannot build the database.
  static Result<Scanner> Create(const SensitivityConfig& config);

  Scanner(Scanner&&) noexcept;
  Scanner& operator=(Scanner&&) noexcept;
  ~Scanner();

  // Findings in one text: non-overlapping, sorted by start. Offsets are bytes into `text`. A
  // text with characters that hide a value from the ASCII detectors (full-width and other
  // scripts' digits, zero-width and bidi characters, Unicode spaces and dashes) is scanned as a
  // folded copy (normalize.h) and its findings mapped back: they cover the original bytes. An
  // all-ASCII text is scanned as it is, with no copy.
  //
  // Thread safety: each thread scans with its own Hyperscan scratch, kept in a thread_local and
  // grown (hs_alloc_scratch) the first time the thread meets a database it was not sized for. No
  // lock on the hot path and no pool to size; a thread's scratch lives until the thread exits.
  std::vector<Finding> Scan(std::string_view text) const;

  // All texts of one request (messages, system prompt, tool arguments): findings carry the index
  // of their text; data_class is the highest class found, at least the configured floor. The
  // findings are Scan()'s for each text; the texts share one Hyperscan call where that cannot
  // change them (README.md, "How a scan works").
  Classification Classify(std::span<const std::string_view> texts) const;
  Classification Classify(std::initializer_list<std::string_view> texts) const {
    return Classify(std::span<const std::string_view>(texts.begin(), texts.size()));
  }

  // The class a finding type maps to under this config (floor not applied).
  int ClassOf(std::string_view type) const;

 private:
  struct Impl;
  explicit Scanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybridgate::sensitivity
