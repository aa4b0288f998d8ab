// `hybridgate advise …`: the advisor's commands. `advise scorecard` asks the four questions and
// six dimensions (scorecard.h) from --answers, flags, or a form on a terminal, pre-fills what the
// ledger of --config knows over --since (token volume, data-class mix, p95 latency, routes), and
// prints the scorecard (table, json or md). Exit 0, or 2 on bad or missing answers.
#pragma once

namespace CLI {
class App;
}

namespace hybridgate::advisor {

void AddAdviseCommand(CLI::App& app, int& exit_code);

}  // namespace hybridgate::advisor
