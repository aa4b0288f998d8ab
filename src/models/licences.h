// `hybridgate models licences --config F [--format table|json]`: every configured model's
// licence (config/licences.h), its terms, whether its outputs may train other models and why,
// and what the config's licence_policy says of it. Exit 0 when every model meets the policy, 1
// when one does not (each named with the clause), 2 on bad input.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace hybridgate::models {

void AddLicencesCommand(CLI::App& models, int& exit_code);

// The listing for the config at `path` in `format` (table | json), and the exit code.
int Licences(const std::string& path, const std::string& format, std::string& out,
             std::string& err);

}  // namespace hybridgate::models
