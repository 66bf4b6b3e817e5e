// make_sample_h5 OUT.h5 [ROUNDS]: writes a small, deterministic run file for the analysis tests.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/metrics/writer.hpp"

int main(int argc, char** argv) {
  using namespace ledgerfl;
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: make_sample_h5 OUT.h5 [ROUNDS]\n");
    return 2;
  }
  try {
    const int rounds = argc == 3 ? std::stoi(argv[2]) : 20;
    metrics::H5Writer w(argv[1]);
    w.set_meta("version", std::string(LEDGERFL_VERSION));
    w.set_meta("seed", std::int64_t{12345});
    w.set_meta("command_line", std::string("ledgerfl run sample.toml --seed 12345"));
    w.set_meta("scenario_toml",
               std::string("# sample\n[run]\nrounds = ") + std::to_string(rounds) + "\n");
    const std::vector<core::ColumnSpec> cols = {{"height", core::ColumnType::kInt64},
                                                {"time_s", core::ColumnType::kFloat64},
                                                {"hash", core::ColumnType::kHash32}};
    auto& blocks = w.table("/ledger/blocks", cols);
    for (int r = 0; r < rounds; ++r) {
      core::RoundSummary s;
      s.add("test_accuracy", 1.0 - 0.9 * std::exp(-r / 5.0));
      s.add("test_loss", 2.3 * std::exp(-r / 4.0) + 0.05 * std::sin(r));
      s.add("sim_time_s", 12.5 * (r + 1));
      s.add("participants", std::int64_t{10 + r % 3});
      if (r >= rounds / 2) s.add("attack_success", 0.1 * (r - rounds / 2));  // appears later
      s.wall_s = 0.01;
      core::Hash32 h{};
      h[0] = static_cast<std::uint8_t>(r);
      blocks.append(std::vector<core::Cell>{core::Cell{std::int64_t{r}}, core::Cell{12.5 * r},
                                            core::Cell{h}});
      w.on_round(s);
    }
    w.on_finish();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_sample_h5: %s\n", e.what());
    return 1;
  }
  return 0;
}
