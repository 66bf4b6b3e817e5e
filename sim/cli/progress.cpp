// Progress display: "\r" live line on a terminal, one line per ~10% of the run in pipes.
#include "sim/cli/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include "sim/core/time.hpp"

namespace ledgerfl::cli {

ProgressSink::ProgressSink(std::int64_t total_rounds, ProgressMode mode, std::FILE* out)
    : total_(total_rounds), out_(out), start_(std::chrono::steady_clock::now()) {
  const bool tty = isatty(fileno(out)) != 0;
  const char* ci = std::getenv("CI");
  const bool in_ci = ci && *ci && std::string(ci) != "false" && std::string(ci) != "0";
  switch (mode) {
    case ProgressMode::kAlways:
      live_ = tty;
      lines_ = !tty;
      break;
    case ProgressMode::kAuto:
      live_ = tty && !in_ci;
      break;
    case ProgressMode::kNever:
      break;
  }
  every_ = total_ > 0 ? std::max<std::int64_t>(1, total_ / 10) : 10;
}

double ProgressSink::wall_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressSink::on_round(const core::RoundSummary& r) {
  ++rounds_;
  sim_s_ = r.get_double("sim_time_s");
  const double acc = r.get_double("test_accuracy");
  if (!std::isnan(acc)) {
    last_acc_ = acc;
    best_acc_ = std::max(best_acc_, acc);
  }
  if (!live_ && !(lines_ && (rounds_ % every_ == 0 || rounds_ == total_))) return;
  const double wall = wall_s();
  const double rate = rounds_ / std::max(wall, 1e-9);
  std::string eta = "?";
  if (total_ > 0) eta = core::to_string(core::SimTime::from_seconds((total_ - rounds_) / rate));
  const std::string sim =
      core::to_string(core::SimTime::from_seconds(std::isnan(sim_s_) ? 0 : sim_s_));
  // (Built with append: GCC 12's -Wrestrict misfires on `"/" + std::string`.)
  std::string total;
  if (total_ > 0) total.append("/").append(std::to_string(total_));
  char accs[32] = "  -  ";
  if (last_acc_ >= 0) std::snprintf(accs, sizeof accs, "%.4f", last_acc_);
  if (live_) {
    std::fprintf(out_, "\r\033[Kround %lld%s | acc %s | sim %s | %.2f rounds/s | ETA %s",
                 static_cast<long long>(rounds_), total.c_str(), accs, sim.c_str(), rate,
                 eta.c_str());
  } else {
    std::fprintf(out_, "round %lld%s  acc %s  sim %s  %.2f rounds/s  ETA %s\n",
                 static_cast<long long>(rounds_), total.c_str(), accs, sim.c_str(), rate,
                 eta.c_str());
  }
  std::fflush(out_);
}

void ProgressSink::on_finish() {
  if (live_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

}  // namespace ledgerfl::cli
