// End-to-end tests of the `ledgerfl` executable: exit codes and messages for every class of bad
// input, determinism across --threads, golden check, and a run killed mid-way.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

namespace {
// A small chain scenario (4 PoA validators, 10 minutes) with `extra` appended.
std::string chain_scenario(const std::string& name, const std::string& extra) {
  const fs::path p = tmp_dir() / name;
  std::ofstream(p) << "[simulation]\nseed = 1\nduration = \"10m\"\nmetrics_interval = \"1m\"\n"
                      "[network]\nvalidators = 4\n"
                   << extra
                   << "\n[chain.consensus]\ntype = \"poa\"\ninterval = \"2s\"\n"
                      "[workload]\ntype = \"poisson\"\nrate = 5.0\n";
  return p.string();
}

std::string bytes_file(const std::string& name, const std::string& bytes) {
  const fs::path p = tmp_dir() / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

bool one_error_line(const std::string& out) {
  return out.rfind("error: ", 0) == 0 && out.find('\n') == out.size() - 1;
}
}  // namespace

// Issue 12, "Bad input: exit 2, a position, no hang": each input the probe found (and the
// classes around it) exits 2 with one "error: " line naming the key, from `run` and `validate`
// alike, and fast (a hang would time the test out).
TEST_CASE("issue 12: impossible, unbounded or malformed input exits 2 naming the key") {
  const std::string src = LEDGERFL_SOURCE_DIR;
  const std::string quick = src + "/scenarios/quickstart.toml";
  const std::string bft = src + "/scenarios/chain/bft_consortium.toml";
  const std::string poa = src + "/scenarios/chain/poa_consortium.toml";
  struct Case {
    std::string what, scenario, args, expect;
  };
  const std::vector<Case> cases = {
      {"train_subset below min_size x clients", quick, "--set data.train_subset=999",
       "data.partition.min_size: = 10 x clients.count = 100 needs 1000 samples, more than the "
       "999 training samples"},
      {"model too large for memory", quick, "--set 'model.hidden=[65536,65536,65536]'",
       "model.hidden: the run needs an estimated"},
      {"input dimension too large for memory", kTiny,
       "--set data.dim=100000 --set clients.count=1000000 --set rounds.per_round=100000",
       "more than this machine's"},
      {"metrics_interval hang", bft, "--set simulation.metrics_interval=1ns",
       "simulation.metrics_interval: = 1ns gives duration / metrics_interval = 3.6e+12 /rounds "
       "rows, more than the bound of 1e+06 rows per run"},
      {"workload rate hang", bft, "--set workload.rate=1e18",
       "workload.rate: = 1e+18 tx/s x simulation.duration = 1h 0m 0s gives 3.6e+21 "
       "transactions, more than the bound of 1e+07"},
      {"poa interval hang", poa, "--set chain.consensus.interval=1ns",
       "chain.consensus.interval: = 1ns gives simulation.duration / interval = 3.6e+12"},
      {"pos slot hang", src + "/scenarios/chain/ethereum_pos.toml",
       "--set chain.consensus.slot=1us", "chain.consensus.slot: = 1us gives"},
      {"pow block interval hang", src + "/scenarios/chain/bitcoin_like.toml",
       "--set chain.consensus.block_interval=1ns", "chain.consensus.block_interval: = 1ns gives"},
      {"nobody online", kTiny, "--set 'devices.availability={type=\"bernoulli\", p_online=0}'",
       "devices.availability.p_online: = 0: no client is ever online"},
      {"nobody online (markov)", kTiny,
       "--set 'devices.availability={type=\"markov\", p_online=0}'",
       "devices.availability.p_online: = 0"},
      {"everybody crashes", kTiny, "--set devices.crash_probability=1",
       "devices.crash_probability: = 1: every selected client crashes"},
      {"deadline below any client's round", kTiny, "--set rounds.deadline=1ms",
       "rounds.deadline: = 1ms is shorter than the fastest possible client round"},
      {"deadline below a uniform law's bound", kTiny,
       "--set 'devices.upload={type=\"uniform\", low=\"1kbps\", high=\"1.5kbps\"}'",
       "rounds.deadline: = 10s is shorter than the fastest possible client round"},
      {"BFT heights at one instant (no latency, no timeout_commit)", bft,
       "--set 'network.regions={type=\"single\", latency=\"0s\"}' "
       "--set chain.consensus.timeout_commit=0s",
       "chain.consensus.timeout_commit: = 0s with a smallest link latency of 0 ms: BFT heights "
       "would follow each other at one simulated instant"},
      {"BFT heights without bound (tiny latency, no timeout_commit)", bft,
       "--set 'network.regions={type=\"single\", latency=\"1us\"}' "
       "--set chain.consensus.timeout_commit=0s",
       "chain.consensus.timeout_commit: = 0s with a smallest link latency of 0.001 ms allows a "
       "height every 3e-06 s"},
      {"gas limit below the smallest transaction", poa, "--set chain.gas_limit=22599",
       "chain.gas_limit: = 22599 is below the gas of the smallest transaction the workload can "
       "draw (22600 = workload gas_base + gas_per_byte x 100 bytes)"},
      {"gas limit below a fixed-size transaction", poa,
       "--set chain.gas_limit=21000 --set 'workload.size_dist=\"fixed\"' --set workload.size=1",
       "chain.gas_limit: = 21000 is below the gas of the smallest transaction the workload can "
       "draw (21016 = workload gas_base + gas_per_byte x 1 bytes)"},
      {"block bytes below the smallest transaction", poa,
       "--set chain.max_block_bytes=150 --set chain.header_bytes=80",
       "chain.max_block_bytes: = 150 bytes leaves 70 bytes after the 80-byte header, below the "
       "smallest transaction the workload can draw (100 bytes)"},
      {"chain run too large for memory", src + "/scenarios/chain/bitcoin_like.toml",
       "--set network.clients=100000 --set simulation.duration=10d "
       "--set chain.consensus.block_interval=1s",
       "simulation.duration: = 240h 0m 0s: the run needs an estimated"},
      {"every validator byzantine", bft,
       "--set 'chain.consensus.byzantine=[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]'",
       "chain.consensus.byzantine: lists every one of the"},
      {"every node crashed",
       chain_scenario("all_crash.toml",
                      "[[network.crash]]\nnode = 0\nat = \"1m\"\n"
                      "[[network.crash]]\nnode = 1\nat = \"1m\"\n"
                      "[[network.crash]]\nnode = 2\nat = \"2m\"\n"
                      "[[network.crash]]\nnode = 3\nat = \"3m\"\n"),
       "", "network.crash[3].node: every one of the 4 nodes crashes without recovering"},
      {"every validator down from the start",
       chain_scenario("all_down.toml",
                      "[[network.crash]]\nnode = 0\nat = \"0s\"\nrecover = \"20m\"\n"
                      "[[network.crash]]\nnode = 1\nat = \"0s\"\n"
                      "[[network.crash]]\nnode = 2\nat = \"0s\"\n"
                      "[[network.crash]]\nnode = 3\nat = \"0s\"\n"),
       "", "crashes without recovering"},
      {"partition with an empty side",
       chain_scenario("empty_side.toml",
                      "[[network.partition]]\nstart = \"1m\"\nend = \"2m\"\nfraction = 0.1\n"),
       "", "network.partition[0].fraction: puts 0 of the 4 nodes on one side"},
      {"partition with everything on one side",
       chain_scenario("full_side.toml",
                      "[[network.partition]]\nstart = \"1m\"\nend = \"2m\"\nside = [0,1,2,3]\n"),
       "", "network.partition[0].side: puts 4 of the 4 nodes on one side"},
      {"partition outside the run",
       chain_scenario("late_partition.toml",
                      "[[network.partition]]\nstart = \"1h\"\nend = \"2h\"\nside = [0]\n"),
       "", "network.partition[0].start: = 1h 0m 0s is not before simulation.duration"},
      {"crash outside the run",
       chain_scenario("late_crash.toml", "[[network.crash]]\nnode = 0\nat = \"1h\"\n"), "",
       "network.crash[0].at: = 1h 0m 0s is not before simulation.duration"},
      {"more rounds than rows per run", kTiny, "--set simulation.rounds=2000000",
       "simulation.rounds: 2000000 is out of range"},
      {"local steps without bound", kTiny, "--set training.steps=1e9",
       "training.steps: 1000000000 is out of range"},
      {"invalid UTF-8 byte in the file",
       bytes_file("utf8_ff.toml", "[simulation]\nname = \"a\xff\"\n"), "",
       "utf8_ff.toml:2:10: invalid UTF-8: byte 0xFF"},
      {"UTF-16 surrogate in the file",
       bytes_file("utf8_surrogate.toml", "# \xed\xa0\x80\n[simulation]\n"), "",
       "utf8_surrogate.toml:1:3: invalid UTF-8: byte 0xA0"},
      {"overlong encoding in the file", bytes_file("utf8_overlong.toml", "x = \"\xc0\xaf\"\n"), "",
       "utf8_overlong.toml:1:6: invalid UTF-8: byte 0xC0"},
      {"file ends inside a character", bytes_file("utf8_cut.toml", "# \xe2\x82"), "",
       "utf8_cut.toml:1:3: invalid UTF-8: the text ends inside a multi-byte character"},
      {"invalid UTF-8 in a --set value", kTiny, "--set \"$(printf 'simulation.name=\\303\\050')\"",
       "--set simulation.name: column 17: invalid UTF-8: byte 0x28"},
  };
  int tried = 0;
  for (const auto& c : cases) {
    for (const char* cmd : {"validate", "run"}) {
      const std::string extra =
          std::string(cmd) == "run" ? " -q --force -o " + (tmp_dir() / "issue12.h5").string() : "";
      Result r = run(std::string(cmd) + " " + c.scenario + " " + c.args + extra);
      ++tried;
      CHECK_MESSAGE(r.code == 2, c.what << " (" << cmd << "): " << r.out);
      CHECK_MESSAGE(r.out.find(c.expect) != std::string::npos,
                    c.what << " (" << cmd << "): " << r.out);
      CHECK_MESSAGE(one_error_line(r.out), c.what << " (" << cmd << "): " << r.out);
    }
  }
  // -o onto an unwritable path: a run-only check.
  for (const std::string& out : {std::string("/proc/x.h5"), kTiny + "/x.h5"}) {
    Result r = run("run " + kTiny + " -q -o " + out);
    ++tried;
    CHECK_MESSAGE(r.code == 2, out << ": " << r.out);
    CHECK_MESSAGE(r.out.find("-o " + out + ": cannot") != std::string::npos, r.out);
    CHECK_MESSAGE(one_error_line(r.out), r.out);
  }
  MESSAGE("issue 12 CLI inputs tried: " << tried);
  // The bounds are not too tight: the shipped scenarios and sane neighbours pass.
  for (const std::string& ok :
       {quick + " --set data.train_subset=1000", poa + " --set chain.consensus.interval=1ms",
        bft + " --set workload.rate=2000", kTiny + " --set devices.crash_probability=0.99",
        poa + " --set chain.gas_limit=22600", poa + " --set chain.max_block_bytes=180",
        bft + " --set 'network.regions={type=\"single\", latency=\"0s\"}'",
        bft + " --set chain.consensus.timeout_commit=0s",
        kTiny + " --set 'devices.availability={type=\"bernoulli\", p_online=0.01}'",
        kTiny + " --set 'simulation.name=\"ünïcode ✓\"'",
        chain_scenario("one_survivor.toml",
                       "[[network.crash]]\nnode = 0\nat = \"1m\"\n"
                       "[[network.crash]]\nnode = 1\nat = \"1m\"\n"
                       "[[network.crash]]\nnode = 2\nat = \"2m\"\n"
                       "[[network.partition]]\nstart = \"1m\"\nend = \"2m\"\n"
                       "side = [0]\n")}) {
    Result r = run("validate " + ok);
    CHECK_MESSAGE(r.code == 0, ok << ": " << r.out);
  }
}

// Debian's libhdf5 1.10.8 segfaults on some flipped metadata bytes (found by flipping bytes of a
// 4-validator BFT run, tests/fuzz/hdf5_crashes): in H5HG_read reading a string attribute
// (audit) and in H5G__dense_iterate freeing a garbage pointer (check, H5Literate). audit and
// check read in a forked child and report its crash as a damaged file: exit 2, one message.
TEST_CASE("issue 12: files that crash libhdf5 give exit 2 and a message, not a signal") {
  const std::string data = std::string(LEDGERFL_SOURCE_DIR) + "/tests/cli/data/";
  const std::string attr = data + "damaged_h5hg_read.h5";
  const std::string dense = data + "damaged_h5_dense_iterate.h5";
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan the child does not die by a signal: ASan catches the fault inside libhdf5 (a
  // memcpy-param-overlap, a SIGBUS), prints its report and exits 1. Kept so: hiding sanitizer
  // reports behind "damaged file" would also hide our own bugs.
  MESSAGE("ASan build: the libhdf5 crash reproducers are reported by ASan, not checked here");
#else
  for (const std::string& args : {"audit " + attr, "check " + dense + " --golden " + dense}) {
    Result r = run(args);
    CHECK_MESSAGE(r.code == 2, args << ": " << r.out);
    CHECK_MESSAGE(r.out.find("error: ") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("damaged file") != std::string::npos, args << ": " << r.out);
  }
  Result named = run("check " + dense + " --golden " + dense);
  CHECK_MESSAGE(named.out.find("error: check " + dense + " --golden " + dense + ": damaged file") !=
                    std::string::npos,
                named.out);
#endif
  // The fork changes nothing for intact files: audit's and check's own codes and output.
  const std::string out = (tmp_dir() / "intact_chain.h5").string();
  REQUIRE(run("run " + std::string(LEDGERFL_SOURCE_DIR) +
              "/tests/chain/data/memory_bft.toml -q --force --set simulation.duration=2m -o " + out)
              .code == 0);
  Result a = run("audit " + out);
  CHECK_MESSAGE(a.code == 0, a.out);
  CHECK(a.out.find("audit: OK") != std::string::npos);
  Result c = run("check " + out + " --golden " + out);
  CHECK_MESSAGE(c.code == 0, c.out);
  CHECK(c.out.find("OK") != std::string::npos);
  Result bad = run("audit " + out + " --expect 00");
  CHECK_MESSAGE(bad.code == 1, bad.out);
}

TEST_CASE("validate does not load or generate the data and prints the memory estimate") {
  const std::string million = std::string(LEDGERFL_SOURCE_DIR) + "/scenarios/million_clients.toml";
  const auto t0 = std::chrono::steady_clock::now();
  Result r = run("validate " + million + " --set data.dim=100000");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(r.out.find("; estimated memory ") != std::string::npos, r.out);
  CHECK_MESSAGE(secs < 3.0, "validate took " << secs << " s (24 s when it generated the data)");
  // Leftover keys are still reported by the dry build.
  r = run("validate " + million + " --set data.dimm=3");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("data.dimm: unknown key") != std::string::npos, r.out);
  // Fashion-MNIST: validate reads only the IDX headers; a wrong directory is still an error.
  r = run("validate " + std::string(LEDGERFL_SOURCE_DIR) +
          "/scenarios/quickstart.toml --set data.dir=/nonexistent");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("data.dir: /nonexistent/") != std::string::npos, r.out);
}
