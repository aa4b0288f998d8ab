// The `router` command line: train, score, eval (with k-fold cross-validation) and calibrate.
// The gateway binary mounts it with AddRouterCommand (`hybridgate router ...`). train and eval
// read labelled JSONL (--data) or, with --comparisons --config F [--route R] [--shadow D]
// [--since 30d], the shadow traffic in the config's comparison store (comparisons.h).
#pragma once

namespace CLI {
class App;
}

namespace hybridgate::learned {

// Adds `router` with its sub-commands to `root`. A sub-command's callback sets `exit_code`:
// 0 on success, 2 on bad input (data, model file or options; the message names file and line)
// or an internal failure. `exit_code` must outlive root.parse().
CLI::App* AddRouterCommand(CLI::App& root, int& exit_code);

}  // namespace hybridgate::learned
