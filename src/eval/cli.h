// `hybridgate eval`: runs a suite (eval/suite.h) through each model via an in-process gateway on
// the config (eval/run.h), prints a table, writes a markdown report with an SVG chart and a JSON
// result, and checks each model against a baseline. Exit 0; 1 when a model's score dropped more
// than --max-drop below its baseline; 2 on bad input.
#pragma once

#include <CLI/CLI.hpp>

namespace hybridgate::eval {

void AddEvalCommand(CLI::App& app, int& exit_code);

}  // namespace hybridgate::eval
