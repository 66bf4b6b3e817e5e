// `ledgerfl sweep`: the Cartesian product of --grid overrides, one `ledgerfl run` per point.
#pragma once

#include <string>
#include <vector>

namespace ledgerfl::cli {

struct SweepArgs {
  std::string scenario;
  std::vector<std::string> grid;  // "key.path=v1,v2,v3"
  std::vector<std::string> sets;  // fixed overrides for every point
  std::string out_dir = "runs/sweep";
  int jobs = 1;     // runs at once (each a separate process)
  int threads = 1;  // --threads of each run
};

// One grid point: its overrides and its output file name.
struct SweepPoint {
  std::vector<std::string> sets;
  std::string name;
};

// Expands the grid (throws scenario::InputError for a malformed --grid entry).
std::vector<SweepPoint> expand_grid(const std::vector<std::string>& grid);

// Runs every point (validating the scenario once per point first, in this process), writes
// OUT_DIR/<name>.h5 and OUT_DIR/index.csv (point, overrides, file, exit code, final accuracy).
// Returns 0 if every run succeeded, 1 otherwise.
int run_sweep(const std::string& self_exe, const SweepArgs& args);

}  // namespace ledgerfl::cli
