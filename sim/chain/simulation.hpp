// Chain-only simulation: network + ledger + consensus + background workload, run to the end
// with one /rounds row per metrics interval and the ledger tables.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sim/chain/consensus.hpp"
#include "sim/chain/keys.hpp"
#include "sim/chain/ledger.hpp"
#include "sim/chain/registry.hpp"
#include "sim/chain/workload.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/record.hpp"
#include "sim/net/network.hpp"
#include "sim/net/registry.hpp"

namespace ledgerfl::chain {

// Figures a run yields (scenario header comments; also /chain_summary and /meta). Propagation
// figures are medians over gossiped blocks of the time to reach 50/90/100 % of all nodes.
struct ChainSummary {
  std::string consensus;
  std::int64_t nodes = 0, validators = 0;
  double sim_time_s = 0;
  std::int64_t blocks = 0;  // produced, genesis excluded
  std::int64_t main_blocks = 0, stale_blocks = 0;
  double stale_rate = 0;             // stale / produced
  double mean_block_interval_s = 0;  // over the main chain
  double prop50_s = 0, prop90_s = 0, prop100_s = 0;
  double finality_latency_mean_s = 0, finality_latency_median_s = 0;
  std::int64_t txs_generated = 0, txs_on_main = 0;
  double tps = 0;  // transactions on the main chain per simulated second
  std::int64_t reorgs = 0, safety_violations = 0;
  std::int64_t consensus_messages = 0, network_bytes = 0;
  std::int64_t events = 0;
  double wall_s = 0, events_per_s = 0;
};

// The memory a chain run needs, estimated before it runs from the scenario's duration D, workload
// rate r, the engine's nominal block interval I (Consensus::nominal_interval: PoA interval, PoS
// slot, PoW block_interval, BFT timeout_commit + 3 mean link latencies), n nodes, V validators
// and L directed links. With T = r x D transactions and B = D / I + 1 blocks (heights):
//   peak(T) x sizeof(Transaction) + T x 6 B   the ledger's transaction records (kept for the
//                                     whole run), each one's index in its block and mempool flag
// + peak(B) x sizeof(Block) + B x 20 B    the block tree, each block's row index, child link and
//                                     finality latency
// + B x (2 x (n + 24) + 96) B         engines that gossip blocks (PoW, PoA, PoS): each block's
//                                     per-node view (NodeViews: one byte per node) and its
//                                     gossip bitmap (one byte per node, kept for the propagation
//                                     figures) with the gossip record
// + B x V x 12 B                      BFT: every validator's decision list (4 B per height) and
//                                     the block's commit certificate (its voters)
// + L x 64 B + n x 96 B               the network: links, per-node capacities, neighbour lists
// + 4 MiB                             runtime: event queue, messages in flight, OpenSSL
// + 8 MiB + F / 10                    the HDF5 writer: row buffers, chunk caches, and the
//                                     library's metadata cache, which grows with the file
//                                     (F = the ledger tables' row bytes; measured)
// peak(x) = max(x, 2 x 2^floor(log2 x)): a vector grown by doubling holds both copies at its
// last reallocation. Not counted: the mempool's ordered set (only the waiting transactions,
// about r x I) and BFT's per-round vote tallies (the heights in progress). `validate` prints the
// estimate; `run` and `validate` refuse a scenario whose estimate exceeds the machine's
// physical memory. tests/chain/memory_estimate.cpp checks it against runs' VmHWM (README
// "Hardening": within 0.8-1.1x on three scenarios).
struct ChainMemoryEstimate {
  double txs = 0, blocks = 0;  // T and B
  std::uint64_t nodes = 0, validators = 0, links = 0;
  bool gossip = true;         // blocks gossiped and tracked in per-node views
  bool bft = false;           // per-validator decision lists and certificates
  double file_bytes() const;  // rows of /ledger/txs, /ledger/blocks, /ledger/certificates
  std::uint64_t total() const;
  std::string formula() const;  // the terms above with this scenario's numbers
  std::string summary() const;  // "1.2 GiB"
};
std::uint64_t machine_memory_bytes();  // physical memory (0 if unknown)

struct ChainSimOptions {
  core::SimTime duration = core::SimTime::s(3600);
  core::SimTime metrics_interval = core::SimTime::s(60);
  BlockLimits limits;
  void validate() const;  // throws std::invalid_argument
};

class ChainSimulation {
 public:
  using ConsensusMaker = std::function<std::unique_ptr<Consensus>(ChainContext&)>;

  // Reads [simulation] (duration, metrics_interval — not seed or name), [network], [chain],
  // [workload]: every key it will use, so validation = build + Document::check_unused().
  static std::unique_ptr<ChainSimulation> build(const scenario::ParamView& root, std::uint64_t seed,
                                                const net::NetRegistries& net_regs,
                                                const ChainRegistries& chain_regs);
  // For a chain that carries an application (the learning contract): `clients` client nodes
  // join the network (network.clients, if written, must agree) and simulation.duration, the
  // run's cap, defaults to `default_duration`.
  struct AppNodes {
    std::uint32_t clients = 0;
    core::SimTime default_duration = core::SimTime::s(3600);
  };
  static std::unique_ptr<ChainSimulation> build(const scenario::ParamView& root, std::uint64_t seed,
                                                const net::NetRegistries& net_regs,
                                                const ChainRegistries& chain_regs,
                                                const AppNodes& app);

  // Assembles a simulation from plain options (tests, benchmarks).
  ChainSimulation(const ChainSimOptions& options, net::NetworkSpec network,
                  std::unique_ptr<Workload> workload, const ConsensusMaker& consensus,
                  std::uint64_t seed);
  ~ChainSimulation();

  void run(core::RunSink& sink);
  const ChainSummary& summary() const { return summary_; }
  // The memory estimate (see ChainMemoryEstimate), from the options, network and engine.
  ChainMemoryEstimate memory() const;

  // Under the learning contract (sim/contract): network messages of kind >= kAppMessages go to
  // `app` (the rest to the consensus engine; node state changes to both); the interval loop
  // writes no /rounds rows of its own (the coordinator writes one per learning round) and
  // returns once `done()` holds after an interval. Call before run().
  static constexpr std::uint16_t kAppMessages = 100;
  void attach_app(net::Receiver* app, std::function<bool()> done);

  core::Engine& engine() { return engine_; }
  net::Network& network() { return *net_; }
  Ledger& ledger() { return ledger_; }
  Consensus& consensus() { return *consensus_; }

 private:
  void write_settled(bool all);
  void finish_summary(double wall_s);

  ChainSimOptions options_;
  std::uint64_t seed_;
  core::Engine engine_;
  std::unique_ptr<net::Network> net_;
  Ledger ledger_;
  std::unique_ptr<Workload> workload_;
  std::unique_ptr<ChainContext> ctx_;
  std::unique_ptr<Consensus> consensus_;
  ChainSummary summary_;

  core::TableSink* blocks_table_ = nullptr;
  core::TableSink* txs_table_ = nullptr;
  core::TableSink* certs_table_ = nullptr;
  std::unique_ptr<ValidatorKeys> keys_;
  std::unique_ptr<net::Receiver> mux_;
  std::function<bool()> done_;  // made in run(): only recorded headers are signed
  std::vector<std::uint32_t> unwritten_;
  std::vector<std::int64_t> row_of_;  // block -> row in /ledger/blocks
  std::int64_t next_row_ = 0;
  double final_latency_sum_ = 0;
  std::int64_t final_count_ = 0;
  std::vector<double> final_latencies_;
};

// Column layouts of the ledger tables (shared with the audit).
std::vector<core::ColumnSpec> block_columns();
std::vector<core::ColumnSpec> tx_columns();
std::vector<core::ColumnSpec> validator_columns();    // /ledger/validators
std::vector<core::ColumnSpec> certificate_columns();  // /ledger/certificates

}  // namespace ledgerfl::chain
