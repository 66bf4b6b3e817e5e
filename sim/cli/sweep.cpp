// Parameter sweeps: each grid point runs as its own process (`ledgerfl run ... --set ...`), so
// points are independent and each is bit-reproducible on its own; -j N runs N at once.
#include "sim/cli/sweep.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "sim/metrics/reader.hpp"
#include "sim/scenario/params.hpp"

extern char** environ;

namespace ledgerfl::cli {

namespace fs = std::filesystem;

std::vector<SweepPoint> expand_grid(const std::vector<std::string>& grid) {
  std::vector<SweepPoint> points{{}};
  std::vector<std::string> keys;
  for (const auto& g : grid) {
    const auto eq = g.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == g.size())
      throw scenario::InputError("--grid " + g +
                                 ": expected key.path=v1,v2,... (e.g. "
                                 "--grid data.partition.alpha=0.1,0.5,1.0)");
    const std::string key = g.substr(0, eq);
    for (const auto& earlier : keys)
      if (earlier == key)
        throw scenario::InputError("--grid " + key +
                                   ": the key is given twice; put all its "
                                   "values in one --grid (e.g. --grid " +
                                   key + "=1,2,3,4)");
    keys.push_back(key);
    std::vector<std::string> values;
    // Split on commas outside brackets, so list values work: model.hidden=[64],[64,64]
    int depth = 0;
    std::string cur;
    for (char ch : g.substr(eq + 1)) {
      if (ch == '[' || ch == '{') ++depth;
      if (ch == ']' || ch == '}') --depth;
      if (ch == ',' && depth == 0) {
        values.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
    values.push_back(cur);
    std::vector<SweepPoint> next;
    for (const auto& p : points)
      for (const auto& v : values) {
        if (v.empty()) throw scenario::InputError("--grid " + g + ": empty value");
        SweepPoint q = p;
        q.sets.push_back(key + "=" + v);
        std::string tag = key.substr(key.rfind('.') + 1) + "=" + v;
        for (char& c : tag)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '=' && c != '.' && c != '-')
            c = '_';
        q.name += (q.name.empty() ? "" : "__") + tag;
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  return points;
}

namespace {
pid_t spawn_run(const std::string& exe, const SweepArgs& a, const SweepPoint& p,
                const std::string& out, const std::string& log) {
  // --force: a point re-run into the same directory replaces its earlier file.
  std::vector<std::string> argv_s{
      exe, "run", a.scenario, "-q", "--force", "-o", out, "--threads", std::to_string(a.threads)};
  for (const auto& s : a.sets) argv_s.insert(argv_s.end(), {"--set", s});
  for (const auto& s : p.sets) argv_s.insert(argv_s.end(), {"--set", s});
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}
}  // namespace

int run_sweep(const std::string& exe, const SweepArgs& a) {
  const std::vector<SweepPoint> points = expand_grid(a.grid);
  fs::create_directories(a.out_dir);
  std::vector<int> codes(points.size(), -1);
  std::map<pid_t, std::size_t> running;
  std::size_t next = 0, done = 0;
  auto file_of = [&](std::size_t i) {
    return (fs::path(a.out_dir) / (points[i].name + ".h5")).string();
  };
  while (done < points.size()) {
    while (next < points.size() && static_cast<int>(running.size()) < std::max(1, a.jobs)) {
      const std::string log = (fs::path(a.out_dir) / (points[next].name + ".log")).string();
      const pid_t pid = spawn_run(exe, a, points[next], file_of(next), log);
      if (pid < 0) {
        codes[next] = 127;
        ++done;
      } else {
        running[pid] = next;
      }
      ++next;
    }
    if (running.empty()) continue;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid <= 0) break;
    auto it = running.find(pid);
    if (it == running.end()) continue;
    codes[it->second] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::fprintf(
        stderr, "[%zu/%zu] %s: %s\n", ++done, points.size(), points[it->second].name.c_str(),
        codes[it->second] == 0 ? "ok" : ("exit " + std::to_string(codes[it->second])).c_str());
    running.erase(it);
  }
  std::ofstream csv(fs::path(a.out_dir) / "index.csv");
  csv << "point,overrides,file,exit_code,final_test_accuracy,sim_time_s\n";
  bool ok = true;
  for (std::size_t i = 0; i < points.size(); ++i) {
    std::string sets;
    for (const auto& s : points[i].sets) sets += (sets.empty() ? "" : " ") + s;
    double acc = NAN, sim = NAN;
    if (codes[i] == 0) {
      try {
        metrics::H5Reader r(file_of(i));
        auto col = r.round_column("sim_time_s");
        if (!col.empty()) sim = col.back();
        for (const auto& m : r.round_metrics())
          if (m == "test_accuracy") {
            const auto v = r.round_column(m);
            for (auto it = v.rbegin(); it != v.rend(); ++it)
              if (!std::isnan(*it)) {
                acc = *it;
                break;
              }
          }
      } catch (const std::exception&) {
      }
    }
    ok = ok && codes[i] == 0;
    csv << i << ",\"" << sets << "\"," << file_of(i) << "," << codes[i] << "," << acc << "," << sim
        << "\n";
  }
  std::fprintf(stderr, "sweep: %zu runs, index in %s\n", points.size(),
               (fs::path(a.out_dir) / "index.csv").c_str());
  return ok ? 0 : 1;
}

}  // namespace ledgerfl::cli
