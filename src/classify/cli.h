// `hybridgate classify --config FILE`: the sensitivity check offline. Reads JSONL on stdin —
// {"id","prompt"} or {"id","request":{...chat request...}} — and prints one line per input:
// {"id","class":N,"findings":[{"type","start","end"}]} with byte offsets into the prompt (for the
// request form each finding also names its "text": the index of the text in the request, in the
// order CollectTexts lists them). Bad lines are reported with their line number; exit 2.
#pragma once

#include <iosfwd>

namespace CLI {
class App;
}

namespace hybridgate::classify {

CLI::App* AddClassifyCommand(CLI::App& root, int& exit_code);

// The command's body, for tests: returns the exit code.
int RunClassify(const std::string& config_path, std::istream& in, std::ostream& out,
                std::ostream& err);

}  // namespace hybridgate::classify
