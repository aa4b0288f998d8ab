// `hybridgate quality export`: stored shadow comparisons as a fine-tuning set, one line of
// OpenAI's chat fine-tuning JSONL per comparison: {"messages": [the request's messages...,
// {"role": "assistant", "content": the chosen answer}]} (and the request's "tools" when it had
// any). Pure functions over stored rows and a trainability check, so that the selection and the
// refusals are testable without a store:
//   - the chosen answer is the primary's (what the client got), unless a `judge` verdict says
//     the shadow's was better (score > 0.5, Pairwise::kWin); a tie keeps the primary's;
//   - a row whose request or chosen answer was kept only as a hash (its data class was above
//     store_text_max_class) is skipped and counted, and so is one stored before requests were
//     kept, or whose chosen answer failed or has no text (a tool call);
//   - an answer from a deployment whose model may not be used for training (outputs_trainable:
//     false, by the config or by its provider's terms; or a deployment the config no longer
//     has) is refused: not written, counted per deployment with the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "quality/store.h"

namespace hybridgate::quality {

enum class ExportSide { kPrimary, kShadow };
ExportSide ChooseExportAnswer(const Comparison& c);

// Whether a deployment's ("provider/model") answers may be used for training: "" when they
// may, else why not, in words.
using TrainableCheck = std::function<std::string(std::string_view deployment)>;
// The check a config gives: its model's outputs_trainable (config/config.h). The config must
// outlive the check.
TrainableCheck TrainableFromConfig(const config::Config& config);

struct ExportSummary {
  int64_t written = 0;
  int64_t written_shadow = 0;  // of those, the shadow's answer (a judge preferred it)
  int64_t hashed = 0;          // texts kept only as hashes (data class above the store's)
  int64_t no_request = 0;      // no stored request (an older row) or one without messages
  int64_t no_answer = 0;       // the chosen answer failed or has no text
  struct Refusal {
    int64_t answers = 0;
    std::string why;
  };
  std::map<std::string, Refusal, std::less<>> refused;  // by deployment

  int64_t refused_answers() const;
};

// Appends `row`'s line (with its '\n') to `out`, or counts why there is none, in `summary`.
void ExportRow(const StoredComparison& row, const TrainableCheck& trainable, std::string& out,
               ExportSummary& summary);

// What happened, for stderr: one line on what was written and skipped, then one line per
// refused deployment naming it and the reason.
std::string DescribeExport(const ExportSummary& summary, std::string_view route);

}  // namespace hybridgate::quality
