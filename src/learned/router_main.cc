// Stand-alone `router` command for development; the gateway binary mounts the same command.
#include <CLI/CLI.hpp>

#include "learned/cli.h"

int main(int argc, char** argv) {
  CLI::App app("HybridGate learned router");
  app.require_subcommand(1);
  int exit_code = 0;
  hybridgate::learned::AddRouterCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
