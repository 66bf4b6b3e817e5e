// The `ledgerfl` executable: run, validate, list, check (and audit once the chain lands).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <cstring>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <tbb/global_control.h>
#include <CLI/CLI.hpp>

#include "sim/cli/components.hpp"
#include "sim/cli/progress.hpp"
#include "sim/cli/sweep.hpp"
#include "sim/metrics/check.hpp"
#include "sim/metrics/error.hpp"
#include "sim/metrics/reader.hpp"
#include "sim/metrics/writer.hpp"
#include "sim/scenario/params.hpp"

namespace fs = std::filesystem;
using namespace ledgerfl;

namespace {

// Which floating-point code this build runs. Results are bit-identical across thread counts, but
// only between builds with the same flavour: the AVX-512 kernels, Eigen's AVX2/SSE paths, the
// compiler and its optimisation level (inlining decides where a*b+c becomes an FMA) all round
// differently. Recorded in /meta/numerics; the golden-curve test compares exactly only when the
// golden's flavour matches.
std::string numerics() {
  const char* isa =
#if defined(__AVX512F__)
      "avx512f";
#elif defined(__AVX2__) && defined(__FMA__)
      "avx2-fma";
#elif defined(__AVX__)
      "avx";
#else
      "sse2";
#endif
  return fmt::format("{}, gcc {}, {}", isa, __VERSION__, LEDGERFL_BUILD_FLAGS);
}

constexpr int kExitOk = 0, kExitRunFailed = 1, kExitBadInput = 2;

std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += argv[i];
  }
  return s;
}

struct RunArgs {
  std::string scenario;
  std::string output;
  std::vector<std::string> sets;
  std::optional<std::string> seed;  // parsed by parse_seed: CLI11 clamps out-of-range integers
  int threads = 0;
  bool quiet = false;
  bool force = false;
  std::string progress = "auto";
};

// --seed: a decimal integer in [0, 2^63 - 1] (the range of [simulation] seed), nothing else.
std::int64_t parse_seed(const std::string& text) {
  std::int64_t v = -1;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v < 0)
    throw cli::UsageError(fmt::format("--seed {}: expected an integer from 0 to {}", text,
                                      std::numeric_limits<std::int64_t>::max()));
  return v;
}

// Loads the scenario, applies overrides, builds every component (so every key is read), and
// checks that no key is left over. Throws scenario::InputError for bad input.
struct Prepared {
  std::unique_ptr<scenario::Document> doc;
  cli::Simulation sim;
  std::uint64_t seed = 0;
  std::string name;
};

// dry: validation only (scenario::ParamView::dry) — every key read and checked, the memory
// estimated and refused above the machine's, nothing large loaded or allocated.
Prepared prepare(const cli::Components& comps, const std::string& path,
                 const std::vector<std::string>& sets, std::optional<std::int64_t> seed_override,
                 bool dry) {
  Prepared p;
  p.doc = scenario::Document::load(path);
  p.doc->set_dry(dry);
  for (const auto& s : sets) p.doc->apply_override(s);
  scenario::ParamView root = p.doc->root();
  const scenario::ParamView sim = root.table("simulation");
  p.name = sim.string("name", fs::path(path).stem().string());
  // The name becomes runs/<name>.h5: it must be one plain file name, not a path.
  if (p.name.empty() || p.name == "." || p.name == ".." ||
      p.name.find_first_of("/\\") != std::string::npos)
    sim.fail("name", "\"" + p.name +
                         "\" is not a plain file name (it names runs/<name>.h5: no '/', not empty, "
                         "not '.' or '..')");
  const std::int64_t file_seed = sim.integer("seed", 1, scenario::Bounds::non_negative());
  p.seed = static_cast<std::uint64_t>(seed_override ? *seed_override : file_seed);
  p.sim = cli::build_simulation(comps, root, p.seed);
  p.doc->check_unused();
  return p;
}

// A run never writes over its input, a directory, or (without --force) an existing file.
void check_output_path(const std::string& out, const std::string& scenario, bool force) {
  std::error_code ec;
  const fs::file_status st = fs::status(out, ec);
  if (!fs::exists(st)) return;
  if (fs::is_directory(st))
    throw cli::UsageError(fmt::format("-o {}: is a directory; name the .h5 file to write", out));
  if (fs::equivalent(out, scenario, ec))
    throw cli::UsageError(
        fmt::format("-o {}: is the scenario file itself; the run would overwrite its input", out));
  if (!force)
    throw cli::UsageError(fmt::format("-o {}: the file exists; pass --force to overwrite it", out));
}

// The output's directory is created and probed before the run (a sibling file created and
// removed, or the file itself opened for writing when --force replaces it), so an unwritable -o
// is bad input (exit 2) with the system's reason, not a failed run. The probe never creates the
// output path itself: a file at that path always is the run's own.
void probe_output_path(const std::string& out) {
  std::error_code ec;
  if (auto dir = fs::path(out).parent_path(); !dir.empty()) {
    fs::create_directories(dir, ec);
    if (ec)
      throw cli::UsageError(
          fmt::format("-o {}: cannot create directory {}: {}", out, dir.string(), ec.message()));
  }
  const bool existed = fs::exists(out, ec);
  const std::string probe = existed ? out : fmt::format("{}.probe-{}", out, ::getpid());
  const int fd = ::open(probe.c_str(), existed ? O_WRONLY : (O_WRONLY | O_CREAT | O_EXCL), 0644);
  if (fd < 0)
    throw cli::UsageError(
        fmt::format("-o {}: cannot write the file: {}", out, std::strerror(errno)));
  ::close(fd);
  if (!existed) ::unlink(probe.c_str());
}

int cmd_run(const cli::Components& comps, const RunArgs& a, const std::string& cmdline) {
  const std::optional<std::int64_t> seed =
      a.seed ? std::optional<std::int64_t>(parse_seed(*a.seed)) : std::nullopt;
  std::optional<tbb::global_control> threads;
  if (a.threads > 0)
    threads.emplace(tbb::global_control::max_allowed_parallelism,
                    static_cast<std::size_t>(a.threads));
  // Every check of `validate` first (cheap, and it refuses what would not fit in memory), and
  // the output path, before anything is loaded.
  const std::string name = prepare(comps, a.scenario, a.sets, seed, /*dry=*/true).name;
  std::string out = a.output;
  if (out.empty()) out = (fs::path("runs") / (name + ".h5")).string();
  check_output_path(out, a.scenario, a.force);
  probe_output_path(out);
  Prepared p = prepare(comps, a.scenario, a.sets, seed, /*dry=*/false);

  metrics::H5Writer writer(out);
  writer.set_meta("ledgerfl_version", std::string(LEDGERFL_VERSION));
  writer.set_meta("git_describe", std::string(LEDGERFL_GIT_DESCRIBE));
  writer.set_meta("numerics", numerics());
  writer.set_meta("seed", static_cast<std::int64_t>(p.seed));
  writer.set_meta("command_line", cmdline);
  writer.set_meta("scenario_name", p.name);
  writer.set_meta("scenario_file", a.scenario);
  writer.set_meta("scenario_toml", p.doc->original_text());
  writer.set_meta("resolved_toml", p.doc->resolved_toml());
  writer.set_meta("threads", static_cast<std::int64_t>(tbb::global_control::active_value(
                                 tbb::global_control::max_allowed_parallelism)));
  writer.flush();

  const cli::ProgressMode mode = a.quiet                  ? cli::ProgressMode::kNever
                                 : a.progress == "always" ? cli::ProgressMode::kAlways
                                 : a.progress == "never"  ? cli::ProgressMode::kNever
                                                          : cli::ProgressMode::kAuto;
  cli::ProgressSink progress(p.sim.total_rounds, mode);
  core::SinkFanout fan;
  fan.add(writer);
  fan.add(progress);
  p.sim.run(fan);
  fan.on_finish();

  if (!a.quiet) {
    const double wall = progress.wall_s();
    std::printf("%s: %lld rounds, simulated %s, wall %.2f s (%.2f rounds/s)\n", p.name.c_str(),
                static_cast<long long>(progress.rounds_seen()),
                core::to_string(core::SimTime::from_seconds(progress.sim_time_s())).c_str(), wall,
                progress.rounds_seen() / std::max(wall, 1e-9));
    if (progress.last_accuracy() >= 0)
      std::printf("  final test accuracy %.4f (best %.4f)\n", progress.last_accuracy(),
                  progress.best_accuracy());
    for (const auto& line : p.sim.summary_lines) {
      std::string text = line();
      for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos; at += 3)
        text.replace(at, 1, "\n  ");
      if (!text.empty()) std::printf("  %s\n", text.c_str());
    }
    std::printf("%s", progress.summary_table().c_str());
    std::printf("  results: %s\n", out.c_str());
    std::printf("  digest: %s (ledgerfl audit %s --expect DIGEST)\n", writer.digest_hex().c_str(),
                out.c_str());
  }
  return kExitOk;
}

int cmd_validate(const cli::Components& comps, const std::string& path,
                 const std::vector<std::string>& sets) {
  Prepared p = prepare(comps, path, sets, std::nullopt, /*dry=*/true);
  std::printf("%s: ok — %s%s\n", path.c_str(), p.sim.description.c_str(),
              p.sim.memory.empty() ? "" : ("; estimated memory " + p.sim.memory).c_str());
  return kExitOk;
}

void print_list(const scenario::Catalog& catalog, const std::string& kind, bool markdown) {
  bool any = false;
  for (const auto* reg : catalog.all()) {
    const std::string& k = reg->kind();
    if (!kind.empty() && kind != k && kind != k + "s" && kind != k + "es") continue;
    any = true;
    if (markdown) {
      std::printf("### %s — `%s`\n\n", k.c_str(), reg->table_hint().c_str());
      for (const auto& e : reg->docs()) {
        std::printf("- **`%s`** — %s\n", e.name.c_str(), e.description.c_str());
        for (const auto& d : e.params)
          std::printf("  - `%s` (%s%s%s)%s%s\n", d.name.c_str(), d.type.c_str(),
                      d.unit.empty() ? "" : ", ", d.unit.c_str(),
                      d.default_value.empty() ? " **required**"
                                              : (" default `" + d.default_value + "`").c_str(),
                      d.meaning.empty() ? "" : (": " + d.meaning).c_str());
      }
      std::printf("\n");
    } else {
      std::printf("%s  (%s)\n", k.c_str(), reg->table_hint().c_str());
      for (const auto& e : reg->docs()) {
        std::printf("  %-16s %s\n", e.name.c_str(), e.description.c_str());
        for (const auto& d : e.params)
          std::printf("      %-18s %-10s %-12s %s%s%s\n", d.name.c_str(), d.type.c_str(),
                      d.default_value.empty() ? "(required)" : d.default_value.c_str(),
                      d.meaning.c_str(), d.unit.empty() ? "" : " [",
                      d.unit.empty() ? "" : (d.unit + "]").c_str());
      }
      std::printf("\n");
    }
  }
  if (!any) {
    std::vector<std::string> kinds;
    for (const auto* reg : catalog.all()) kinds.push_back(reg->kind());
    std::string msg = "unknown component kind \"" + kind + "\"; known:";
    for (const auto& k : kinds) msg += " " + k;
    if (auto n = scenario::nearest(kind, kinds)) msg += " (did you mean \"" + *n + "\"?)";
    throw scenario::InputError(msg);
  }
}

// `audit` and `check` read files that may be damaged, and Debian's libhdf5 1.10.8 crashes
// (SIGSEGV in H5Literate / H5G__dense_iterate freeing a garbage pointer) on some flipped
// metadata bytes before any check of ours can run (reproducer: tests/cli/data/
// damaged_h5_literate.h5). So they run in a forked child: the parent only waits, and a child
// killed by a signal is reported as a damaged file, exit 2, never as a crash of ledgerfl.
// The fork happens before any thread exists (TBB and HDF5 are not started yet).
int in_child(const std::string& what, const std::string& file, const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return body();  // cannot fork: run unprotected rather than not at all
  if (pid == 0) {
    int rc = kExitRunFailed;
    try {
      rc = body();
    } catch (...) {
      rc = kExitRunFailed;  // body() turns every exception into a code; belt and braces
    }
    std::fflush(nullptr);
    std::exit(rc);  // atexit handlers run (HDF5's library close, LSan in sanitizer builds)
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "error: %s %s: lost the reader process (%s)\n", what.c_str(),
                   file.c_str(), std::strerror(errno));
      return kExitBadInput;
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  std::fprintf(stderr,
               "error: %s %s: damaged file: the HDF5 library crashed reading its metadata "
               "(signal %d, %s); the file cannot be trusted or read\n",
               what.c_str(), file.c_str(), sig, sig ? strsignal(sig) : "unknown");
  return kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  cli::Components comps;
  CLI::App app{
      "ledgerfl — discrete-event simulator of federated learning coordinated by a "
      "blockchain"};
  app.set_version_flag("--version", std::string("ledgerfl ") + LEDGERFL_VERSION + " (" +
                                        LEDGERFL_GIT_DESCRIBE + ")");
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  ledgerfl run scenarios/quickstart.toml -o runs/quickstart.h5\n"
      "  ledgerfl run scenarios/fmnist_dirichlet.toml --set data.partition.alpha=0.1 --threads 2\n"
      "  ledgerfl validate scenarios/chain/bft_consortium.toml\n"
      "  ledgerfl list aggregators\n"
      "  ledgerfl check runs/quickstart.h5 --golden scenarios/golden/quickstart.h5\n"
      "  ledgerfl sweep scenarios/fmnist_dirichlet.toml --grid data.partition.alpha=0.1,0.5,1 -j "
      "2\n"
      "  ledgerfl audit runs/poa_consortium.h5\n"
      "Exit codes: 0 ok, 1 run failed, 2 bad input.");

  RunArgs ra;
  auto* run = app.add_subcommand("run", "run a scenario and write its metrics to HDF5");
  run->add_option("scenario", ra.scenario, "scenario file (.toml)")->required();
  run->add_option("-o,--output", ra.output, "output HDF5 file (default runs/<name>.h5)");
  run->add_option("--set", ra.sets, "override a scenario key: --set rounds.per_round=20")
      ->take_all();
  run->add_option("--seed", ra.seed, "override [simulation] seed (0 to 2^63 - 1)");
  run->add_flag("--force", ra.force, "overwrite the output file if it exists");
  run->add_option("--threads", ra.threads,
                  "worker threads (default: all cores); results do not "
                  "depend on it")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("-q,--quiet", ra.quiet, "print nothing but errors");
  run->add_option("--progress", ra.progress,
                  "progress display: auto (terminal only), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  std::string vpath;
  std::vector<std::string> vsets;
  auto* validate = app.add_subcommand("validate", "check a scenario without running it");
  validate->add_option("scenario", vpath, "scenario file (.toml)")->required();
  validate->add_option("--set", vsets, "override a scenario key")->take_all();

  std::string kind;
  bool markdown = false;
  auto* list = app.add_subcommand("list", "list components and their parameters");
  list->add_option("kind", kind, "one kind (e.g. aggregator, model, consensus)");
  list->add_flag("--markdown", markdown, "print Markdown (the README's scenario reference)");

  std::string crun, cgolden;
  std::vector<std::string> cmetrics;
  double rtol = 1e-6, atol = 1e-9;
  auto* check = app.add_subcommand("check",
                                   "compare a run with a golden run (CI regression); "
                                   "exit 1 on drift");
  check->add_option("run", crun, "run file (.h5)")->required();
  check->add_option("--golden", cgolden, "golden run file (.h5)")->required();
  check->add_option("--metric", cmetrics, "metric to compare (repeatable; default all)");
  check->add_option("--rtol", rtol, "relative tolerance");
  check->add_option("--atol", atol, "absolute tolerance");

  cli::SweepArgs sa;
  auto* sweep = app.add_subcommand(
      "sweep",
      "run a scenario over the Cartesian product of --grid values (each point a separate "
      "process; writes DIR/<point>.h5 and DIR/index.csv)");
  sweep->add_option("scenario", sa.scenario, "scenario file (.toml)")->required();
  sweep->add_option("--grid", sa.grid, "key.path=v1,v2,... (repeatable)")->required()->take_all();
  sweep->add_option("--set", sa.sets, "fixed override for every point")->take_all();
  sweep->add_option("-o,--output", sa.out_dir, "output directory (default runs/sweep)");
  sweep->add_option("-j,--jobs", sa.jobs, "runs at once (default 1)")->check(CLI::PositiveNumber);
  sweep->add_option("--threads", sa.threads, "--threads of each run (default 1)")
      ->check(CLI::PositiveNumber);

  cli::add_extra_commands(app, comps);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitBadInput;
  }

  // Every exception becomes one message and an exit code here (also inside in_child).
  auto dispatch = [&]() -> int {
    try {
      if (*run) return cmd_run(comps, ra, command_line(argc, argv));
      if (*validate) return cmd_validate(comps, vpath, vsets);
      if (*list) {
        print_list(comps.catalog, kind, markdown);
        return kExitOk;
      }
      if (*sweep) {
        // Validate every point first, so a bad value stops the sweep before anything runs.
        for (const auto& point : cli::expand_grid(sa.grid)) {
          std::vector<std::string> sets = sa.sets;
          sets.insert(sets.end(), point.sets.begin(), point.sets.end());
          prepare(comps, sa.scenario, sets, std::nullopt, /*dry=*/true);
        }
        return cli::run_sweep(fs::read_symlink("/proc/self/exe").string(), sa);
      }
      if (*check) {
        metrics::CheckResult r;
        try {
          r = metrics::check_against_golden(crun, cgolden, cmetrics, rtol, atol);
        } catch (const metrics::H5Error& e) {
          throw cli::UsageError(e.what());
        } catch (const std::invalid_argument& e) {
          throw cli::UsageError(e.what());
        }
        std::printf("%s", r.report.c_str());
        return r.ok ? kExitOk : kExitRunFailed;
      }
      return cli::run_extra_commands(app, comps);
    } catch (const scenario::InputError& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return kExitBadInput;
    } catch (const cli::UsageError& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return kExitBadInput;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: run failed: %s\n", e.what());
      return kExitRunFailed;
    }
  };
  CLI::App* audit = app.get_subcommand("audit");
  if (*check) return in_child("check", crun + " --golden " + cgolden, dispatch);
  if (*audit) return in_child("audit", audit->get_option("run")->as<std::string>(), dispatch);
  return dispatch();
}
