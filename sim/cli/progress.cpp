// Progress display: "\r" live line on a terminal, one line per ~10% of the run in pipes.
#include "sim/cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
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
    case ProgressMode::kAuto:  // terminal: live line; pipe: a line per 10%; CI: nothing
      live_ = tty && !in_ci;
      lines_ = !tty && !in_ci;
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
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    const auto& [name, value] = r.metrics[i];
    if (name == "round") continue;
    auto it =
        std::find_if(stats_.begin(), stats_.end(), [&](const Stat& s) { return s.name == name; });
    if (it == stats_.end()) {
      stats_.push_back({name});
      it = stats_.end() - 1;
    }
    const double v = std::visit([](auto x) { return static_cast<double>(x); }, value);
    if (std::isnan(v)) continue;
    if (it->n == 0) it->first = it->min = it->max = v;
    it->last = v;
    it->min = std::min(it->min, v);
    it->max = std::max(it->max, v);
    it->sum += v;
    ++it->n;
  }
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
  if (total_ > 0) {
    // Whole seconds: an ETA with sub-second digits is noise.
    const double left = static_cast<double>(total_ - rounds_) / rate;
    eta = left < 1.0 ? "<1s" : core::to_string(core::SimTime::s(std::llround(left)));
  }
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

std::string ProgressSink::summary_table() const {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "  %-22s %12s %12s %12s %12s %12s\n", "metric", "first", "final",
                "min", "max", "mean");
  out += line;
  for (const auto& s : stats_) {
    if (s.n == 0) continue;
    std::snprintf(line, sizeof line, "  %-22s %12.6g %12.6g %12.6g %12.6g %12.6g\n", s.name.c_str(),
                  s.first, s.last, s.min, s.max, s.sum / static_cast<double>(s.n));
    out += line;
  }
  return out;
}

void ProgressSink::on_finish() {
  if (live_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

}  // namespace ledgerfl::cli
