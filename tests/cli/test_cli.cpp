// End-to-end tests of the `ledgerfl` executable: exit codes and messages for every class of bad
// input, determinism across --threads, golden check, and a run killed mid-way.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/metrics/reader.hpp"

namespace fs = std::filesystem;

namespace {
struct Result {
  int code = -1;
  std::string out;  // stdout + stderr
};

Result run(const std::string& args) {
  const std::string cmd = std::string(LEDGERFL_EXE) + " " + args + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

fs::path tmp_dir() {
  fs::path d = fs::path(LEDGERFL_BINARY_DIR) / "tests_tmp" / "cli";
  fs::create_directories(d);
  return d;
}

// Writes a scenario: the tiny scenario with `edit` applied (a replacement of one line).
std::string scenario_with(const std::string& name, const std::string& from, const std::string& to) {
  std::ifstream in(std::string(LEDGERFL_SOURCE_DIR) + "/tests/cli/data/tiny.toml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (!from.empty()) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  }
  const fs::path p = tmp_dir() / name;
  std::ofstream(p) << text;
  return p.string();
}

const std::string kTiny = std::string(LEDGERFL_SOURCE_DIR) + "/tests/cli/data/tiny.toml";
}  // namespace

TEST_CASE("a valid run exits 0 and writes the HDF5 layout") {
  const std::string out = (tmp_dir() / "ok.h5").string();
  Result r = run("run " + kTiny + " --force -o " + out + " --progress never");
  CHECK(r.code == 0);
  ledgerfl::metrics::H5Reader h5(out);
  CHECK(h5.rounds() == 5);
  for (const char* m : {"round", "sim_time_s", "test_accuracy", "test_loss", "train_loss",
                        "participants", "included", "dropped_stragglers", "dropped_offline",
                        "round_duration_s", "mean_staleness", "update_norm_mean"})
    CHECK_MESSAGE(h5.round_column(m).size() == 5, m);
  CHECK(h5.meta_int("seed") == 3);
  CHECK(h5.meta_string("scenario_toml")->find("rounds = 5") != std::string::npos);
  CHECK(h5.meta_string("resolved_toml")->find("over_selection") != std::string::npos);
  CHECK(h5.meta_string("command_line")->find("--progress never") != std::string::npos);
  CHECK(h5.meta_string("ledgerfl_version").has_value());
  CHECK(h5.meta_string("git_describe").has_value());
  CHECK(h5.timing_wall_s().size() == 5);
}

TEST_CASE("every class of bad input exits 2 with a positioned message") {
  struct Case {
    std::string name;
    std::string from, to, expect;
  };
  const Case cases[] = {
      {"unknown_key.toml", "per_round = 5", "per_rnd = 5",
       "tests_tmp/cli/unknown_key.toml:23:1: rounds.per_rnd: unknown key (did you mean "
       "\"per_round\"?)"},
      {"wrong_type.toml", "lr = 0.05", "lr = \"fast\"",
       "wrong_type.toml:18:6: training.lr: expected a number, got string \"fast\""},
      {"range.toml", "lr = 0.05", "lr = -0.1",
       "range.toml:18:6: training.lr: -0.1 is out of range: must be > 0"},
      {"unit.toml", "deadline = \"10s\"", "deadline = \"10 parsecs\"",
       "unit.toml:24:12: rounds.deadline: \"10 parsecs\" is not a duration"},
      {"component.toml", "type = \"softmax\"", "type = \"sofmax\"",
       "component.toml:15:8: model.type: unknown model \"sofmax\"; known: softmax, mlp, cnn (did "
       "you mean \"softmax\"?)"},
      {"malformed.toml", "[training]", "[training", "malformed.toml:17:10: malformed TOML"},
      {"choice.toml", "per_round = 5", "per_round = 5\nmode = \"synch\"",
       "(did you mean \"sync\"?)"},
      {"rule.toml", "per_round = 5", "per_round = 50",
       "rounds.per_round: = 50 exceeds clients.count = 20"},
  };
  for (const auto& c : cases) {
    const std::string path = scenario_with(c.name, c.from, c.to);
    Result r = run("run " + path + " --force -o " + (tmp_dir() / "bad.h5").string());
    CHECK_MESSAGE(r.code == 2, c.name << ": " << r.out);
    CHECK_MESSAGE(r.out.find(c.expect) != std::string::npos, c.name << ": " << r.out);
    CHECK_MESSAGE(r.out.find("error: ") == 0, c.name << ": one clear message: " << r.out);
    // validate gives the same verdict without running
    CHECK(run("validate " + path).code == 2);
  }
}

TEST_CASE("overrides are typed and checked; CLI misuse exits 2") {
  CHECK(run("validate " + kTiny + " --set training.lr=0.1").code == 0);
  Result r = run("validate " + kTiny + " --set training.lr=abc");
  CHECK(r.code == 2);
  CHECK(r.out.find("training.lr") != std::string::npos);
  r = run("validate " + kTiny + " --set training.lrr=0.1");
  CHECK(r.code == 2);
  CHECK(r.out.find("did you mean \"lr\"") != std::string::npos);
  CHECK(run("validate /nonexistent/x.toml").code == 2);
  CHECK(run("run").code == 2);
  CHECK(run("frobnicate").code == 2);
  CHECK(run("list aggregatorz").code == 2);
  r = run("list aggregator");
  CHECK(r.code == 0);
  CHECK(r.out.find("fedavg") != std::string::npos);
  CHECK(run("--version").code == 0);
  CHECK(run("check /nonexistent.h5 --golden /nonexistent2.h5").code == 2);
}

TEST_CASE("results are bit-identical for --threads 1 and --threads 2 (quickstart)") {
  const std::string a = (tmp_dir() / "t1.h5").string(), b = (tmp_dir() / "t2.h5").string();
  const std::string qs = std::string(LEDGERFL_SOURCE_DIR) + "/scenarios/quickstart.toml";
  REQUIRE(run("run " + qs + " -q --force --threads 1 -o " + a).code == 0);
  REQUIRE(run("run " + qs + " -q --force --threads 2 -o " + b).code == 0);
  Result r = run("check " + a + " --golden " + b + " --rtol 0 --atol 0");
  CHECK_MESSAGE(r.code == 0, r.out);
  // and a different seed does change the results (the check has teeth)
  const std::string c = (tmp_dir() / "t3.h5").string();
  REQUIRE(run("run " + qs + " -q --force --seed 99 -o " + c).code == 0);
  CHECK(run("check " + a + " --golden " + c + " --rtol 0 --atol 0").code == 1);
}

TEST_CASE("a killed run leaves a readable file with every finished round") {
  const std::string path = scenario_with("long.toml", "rounds = 5", "rounds = 1000");
  const std::string out = (tmp_dir() / "killed.h5").string();
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    execl(LEDGERFL_EXE, LEDGERFL_EXE, "run", path.c_str(), "--force", "-o", out.c_str(),
          "--progress", "always", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  // Progress lines in a pipe come every total/10 rounds: wait for a few of them, then SIGKILL.
  std::string seen;
  char buf[256];
  int lines = 0;
  while (lines < 2) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) lines += buf[i] == '\n';
    seen.append(buf, static_cast<std::size_t>(n));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  REQUIRE_MESSAGE(lines >= 2, seen);
  CHECK(WIFSIGNALED(status));
  ledgerfl::metrics::H5Reader h5(out);
  CHECK(h5.rounds() >= 200);  // two progress lines = 2 x 10% of 1000 rounds
  const auto rounds = h5.round_column_int("round");
  REQUIRE(rounds.size() == h5.rounds());
  for (std::size_t i = 0; i < rounds.size(); ++i)
    REQUIRE(rounds[i] == static_cast<std::int64_t>(i + 1));
}

TEST_CASE("sweep runs the Cartesian product and validates every point first") {
  const fs::path dir = tmp_dir() / "sweep";
  fs::remove_all(dir);
  Result r =
      run("sweep " + kTiny + " --grid training.lr=0.01,0.1 --grid rounds.per_round=2,5 -j 2 -o " +
          dir.string());
  CHECK_MESSAGE(r.code == 0, r.out);
  std::ifstream csv(dir / "index.csv");
  std::string line;
  int rows = 0;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    ++rows;
    CHECK(line.find(",0,") != std::string::npos);  // exit code 0
  }
  CHECK(rows == 4);
  // Each point equals a plain run with the same overrides (points are independent runs).
  const std::string single = (tmp_dir() / "single.h5").string();
  REQUIRE(run("run " + kTiny + " -q --set training.lr=0.1 --set rounds.per_round=5 --force -o " +
              single)
              .code == 0);
  CHECK(run("check " + single + " --golden " + (dir / "lr=0.1__per_round=5.h5").string() +
            " --rtol 0 --atol 0")
            .code == 0);
  // A bad value anywhere in the grid: exit 2 and nothing runs.
  const fs::path bad = tmp_dir() / "sweep_bad";
  fs::remove_all(bad);
  r = run("sweep " + kTiny + " --grid training.lr=0.1,-1 -o " + bad.string());
  CHECK(r.code == 2);
  CHECK(r.out.find("training.lr") != std::string::npos);
  CHECK_FALSE(fs::exists(bad / "index.csv"));
}

TEST_CASE("partition min_size and model.init: impossible or unknown values exit 2 before running") {
  const std::string quick = std::string(LEDGERFL_SOURCE_DIR) + "/scenarios/quickstart.toml";
  // 601 x 100 clients > 60,000 Fashion-MNIST training samples; 600 x 100 fits exactly.
  Result r = run("validate " + quick + " --set data.partition.min_size=601");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("data.partition.min_size: = 601 x clients.count = 100 needs 60100 "
                           "samples, more than the 60000 training samples") != std::string::npos,
                r.out);
  CHECK(run("validate " + quick + " --set data.partition.min_size=600").code == 0);
  r = run("validate " + quick + " --set 'data.partition={type=\"quantity_skew\", min_size=601}'");
  CHECK(r.code == 2);
  CHECK_MESSAGE(
      r.out.find("data.partition.min_size: = 601 x clients.count = 100") != std::string::npos,
      r.out);
  r = run("validate " + kTiny + " --set model.init=torch_defualt");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("model.init: unknown value \"torch_defualt\"; expected one of: "
                           "he_normal, torch_default, xavier_uniform, lecun_normal (did you mean "
                           "\"torch_default\"?)") != std::string::npos,
                r.out);
  for (const char* s : {"he_normal", "torch_default", "xavier_uniform", "lecun_normal"})
    CHECK_MESSAGE(run("validate " + kTiny + " --set model.init=" + s).code == 0, s);
}

TEST_CASE("a run never writes over its input, a directory or an existing file without --force") {
  const std::string scen = scenario_with("precious.toml", "", "");
  const std::string before = [&] {
    std::ifstream in(scen);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }();
  Result r = run("run " + scen + " -q -o " + scen);
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("is the scenario file itself") != std::string::npos, r.out);
  r = run("run " + scen + " -q --force -o " + scen);  // not even with --force
  CHECK(r.code == 2);
  {
    std::ifstream in(scen);
    CHECK(std::string((std::istreambuf_iterator<char>(in)), {}) == before);
  }
  r = run("run " + scen + " -q -o " + tmp_dir().string());
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("is a directory") != std::string::npos, r.out);

  const std::string out = (tmp_dir() / "exists.h5").string();
  fs::remove(out);
  REQUIRE(run("run " + scen + " -q -o " + out).code == 0);
  r = run("run " + scen + " -q -o " + out);
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("the file exists; pass --force to overwrite it") != std::string::npos,
                r.out);
  CHECK(ledgerfl::metrics::H5Reader(out).rounds() == 5);  // the earlier results are intact
  CHECK(run("run " + scen + " -q --force -o " + out).code == 0);
}

TEST_CASE("names that escape runs/, out-of-range seeds and repeated grid keys exit 2") {
  for (const char* name : {"../../somewhere", "", "a/b", ".."}) {
    Result r = run("validate " + kTiny + " --set 'simulation.name=\"" + name + "\"'");
    CHECK_MESSAGE(r.code == 2, name << ": " << r.out);
    CHECK_MESSAGE(r.out.find("simulation.name") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("is not a plain file name") != std::string::npos, r.out);
  }
  CHECK(run("validate " + kTiny + " --set 'simulation.name=\"fine_name\"'").code == 0);
  const std::string out = (tmp_dir() / "seed.h5").string();
  for (const char* seed : {"-1", "99999999999999999999"}) {
    Result r = run("run " + kTiny + " -q --force --seed " + seed + " -o " + out);
    CHECK_MESSAGE(r.code == 2, std::string(seed) << ": " << r.out);
    CHECK_MESSAGE(
        r.out.find("expected an integer from 0 to 9223372036854775807") != std::string::npos,
        r.out);
  }
  CHECK(run("run " + kTiny + " -q --force --seed 9223372036854775807 -o " + out).code == 0);
  const fs::path dir = tmp_dir() / "sweep_dup";
  fs::remove_all(dir);
  Result r = run("sweep " + kTiny + " --grid simulation.seed=1,2 --grid simulation.seed=3,4 -o " +
                 dir.string());
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("--grid simulation.seed: the key is given twice") != std::string::npos,
                r.out);
  CHECK_FALSE(fs::exists(dir / "index.csv"));
}
