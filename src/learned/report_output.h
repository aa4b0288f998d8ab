// Output helpers for the router CLI: an SVG plot of the PGR curves (hand-written, no plotting
// library) and a progress bar that only draws when stderr is a terminal.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"
#include "learned/evaluation.h"

namespace hybridgate::learned {

// One panel per benchmark: PGR against strong-call share for every router, with the diagonal.
std::string RenderSvg(const std::vector<BenchmarkReport>& reports);
Status WriteSvg(const std::vector<BenchmarkReport>& reports, const std::string& path);

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(size_t done, size_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace hybridgate::learned
