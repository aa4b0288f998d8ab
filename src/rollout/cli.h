// `hybridgate rollout status|promote|pause|resume|rollback --config F [--route R]`: a person's
// view of and hand on the canary rollouts the config declares, through their store (the running
// gateway follows within a second). /admin/rollouts answers with the same JSON.
// Exit 0; 2 on a bad config, an unknown route or a command that does not apply.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "config/config.h"
#include "rollout/store.h"

namespace CLI {
class App;
}

namespace hybridgate::rollout {

// {"rollouts":[…]}: for each rollout of `config` (or only `route`'s) its state, share, stage,
// the last evaluation (gates with value, limit and 95% interval; requests and time left) and its
// latest events, as stored: it writes nothing. A rollout no gateway has run yet is
// `not_started`; one whose store holds another candidate's rollout shows that one, with
// `config_candidate` and a note.
Result<std::string> StatusJson(Store& store, const config::Config& config, std::string_view route,
                               int64_t now_ms);

// Applies `command` to `route`'s rollout (compare-and-set, retried on a concurrent write) and
// records the event with `actor`. A reason over 1000 bytes or with control characters, and a
// store holding another candidate's running rollout, are errors (kInvalidRequest).
Result<State> RunCommand(Store& store, const config::Config& config, std::string_view route,
                         Command command, std::string reason, std::string_view actor,
                         int64_t now_ms);

void AddRolloutCommand(CLI::App& app, int& exit_code);

}  // namespace hybridgate::rollout
