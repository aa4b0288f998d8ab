// Test-only: runs one `hybridgate` subcommand in-process and captures what it printed, as a
// test would see it from a shell (its exit code, stdout and stderr).
#pragma once

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>

namespace hybridgate::cli_testing {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

// `add(app, exit_code)` registers the subcommand under test (an AddXCommand function). A parse
// error counts as exit code 100, as main() would answer it.
template <class Add>
CliRun Run(Add add, const std::string& command_line) {
  CLI::App app("test");
  int exit_code = -1;
  add(app, exit_code);
  CliRun r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(command_line, false);
  } catch (const CLI::ParseError& e) {
    exit_code = e.get_exit_code() == 0 ? 0 : 100;
  }
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  r.exit_code = exit_code;
  return r;
}

}  // namespace hybridgate::cli_testing
