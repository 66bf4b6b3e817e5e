// ChainSimulation: assembly from a scenario, the interval loop, and the ledger tables.
#include "sim/chain/simulation.hpp"

#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace ledgerfl::chain {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}
}  // namespace

std::vector<core::ColumnSpec> block_columns() {
  using core::ColumnType;
  return {{"height", ColumnType::kInt64},
          {"hash", ColumnType::kHash32},
          {"parent", ColumnType::kHash32},
          {"proposer", ColumnType::kInt64},
          {"timestamp_ns", ColumnType::kInt64},
          {"timestamp_s", ColumnType::kFloat64},
          {"tx_root", ColumnType::kHash32},
          {"state_digest", ColumnType::kHash32},
          {"n_tx", ColumnType::kInt64},
          {"gas_used", ColumnType::kInt64},
          {"bytes", ColumnType::kInt64},
          {"on_main_chain", ColumnType::kInt64},
          {"finalized_at_s", ColumnType::kFloat64},
          {"prop50_s", ColumnType::kFloat64},
          {"prop90_s", ColumnType::kFloat64},
          {"prop100_s", ColumnType::kFloat64},
          {"signature_r", ColumnType::kHash32},
          {"signature_s", ColumnType::kHash32}};
}

std::vector<core::ColumnSpec> validator_columns() {
  using core::ColumnType;
  return {{"validator", ColumnType::kInt64},
          {"public_key", ColumnType::kHash32},
          {"voting_power", ColumnType::kInt64}};
}

std::vector<core::ColumnSpec> certificate_columns() {
  using core::ColumnType;
  return {{"block", ColumnType::kInt64},        {"height", ColumnType::kInt64},
          {"round", ColumnType::kInt64},        {"validator", ColumnType::kInt64},
          {"signature_r", ColumnType::kHash32}, {"signature_s", ColumnType::kHash32}};
}

std::vector<core::ColumnSpec> tx_columns() {
  using core::ColumnType;
  return {{"block", ColumnType::kInt64},   {"block_height", ColumnType::kInt64},
          {"index", ColumnType::kInt64},   {"nonce", ColumnType::kInt64},
          {"sender", ColumnType::kInt64},  {"kind", ColumnType::kInt64},
          {"fee", ColumnType::kInt64},     {"gas", ColumnType::kInt64},
          {"size", ColumnType::kInt64},    {"payload_hash", ColumnType::kHash32},
          {"tx_hash", ColumnType::kHash32}};
}

void ChainSimOptions::validate() const {
  if (duration <= core::SimTime{}) throw std::invalid_argument("simulation.duration must be > 0");
  if (metrics_interval <= core::SimTime{})
    throw std::invalid_argument("simulation.metrics_interval must be > 0");
  limits.validate();
}

ChainSimulation::ChainSimulation(const ChainSimOptions& options, net::NetworkSpec network,
                                 std::unique_ptr<Workload> workload,
                                 const ConsensusMaker& consensus, std::uint64_t seed)
    : options_(options), seed_(seed), ledger_(options.limits), workload_(std::move(workload)) {
  options_.validate();
  net_ = std::make_unique<net::Network>(engine_, std::move(network.overlay),
                                        std::move(network.options), seed_);
  if (!workload_) workload_ = std::make_unique<NoWorkload>();
  ledger_.set_workload(workload_.get());
  ctx_ = std::make_unique<ChainContext>(
      ChainContext{engine_, *net_, ledger_, seed_, options_.duration});
  consensus_ = consensus(*ctx_);
  net_->set_receiver(consensus_.get());
  ledger_.tree.on_finalized([this](std::uint32_t b) {
    const Block& blk = ledger_.tree.at(b);
    if (b == 0) return;
    const double lat = (blk.finalized_at - blk.created).seconds();
    final_latency_sum_ += lat;
    ++final_count_;
    final_latencies_.push_back(lat);
  });
}

ChainSimulation::~ChainSimulation() = default;

std::uint64_t machine_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}

// See ChainMemoryEstimate in simulation.hpp for the formula.
namespace {
constexpr double kMiB = 1024.0 * 1024.0;
// Resident elements of a vector grown to n by doubling, at its peak: at the last doubling (to
// 2^k >= n) the old 2^(k-1) elements and their copies are both resident.
double doubled_peak(double n) {
  if (n < 2) return n;
  return std::max(n, 2.0 * std::exp2(std::floor(std::log2(n))));
}
double row_bytes(const std::vector<core::ColumnSpec>& cols) {
  double b = 0;
  for (const auto& c : cols) b += c.type == core::ColumnType::kHash32 ? 32.0 : 8.0;
  return b;
}
}  // namespace

double ChainMemoryEstimate::file_bytes() const {
  double f = txs * row_bytes(tx_columns()) + blocks * row_bytes(block_columns());
  if (bft)  // a certificate row per precommit of a commit quorum (2/3 of the validators + 1)
    f += blocks * std::floor(2.0 * static_cast<double>(validators) / 3.0 + 1.0) *
         row_bytes(certificate_columns());
  return f;
}

std::uint64_t ChainMemoryEstimate::total() const {
  const double n = static_cast<double>(nodes), v = static_cast<double>(validators);
  double bytes = doubled_peak(txs) * sizeof(Transaction) + txs * 6.0 +
                 doubled_peak(blocks) * sizeof(Block) + blocks * 20.0;
  if (gossip) bytes += blocks * (2.0 * (n + 24.0) + 96.0);
  if (bft) bytes += blocks * v * 12.0;
  bytes += static_cast<double>(links) * 64.0 + n * 96.0 + 4.0 * kMiB;
  bytes += 8.0 * kMiB + 0.1 * file_bytes();
  return bytes >= 1.8e19 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(bytes);
}

std::string ChainMemoryEstimate::formula() const {
  std::string f = fmt::format(
      "{:.3g} transactions ({:.3g} records of {} B at the vector's peak + 6 B each) + {:.3g} "
      "blocks ({:.3g} records of {} B at the peak + 20 B each)",
      txs, doubled_peak(txs), sizeof(Transaction), blocks, doubled_peak(blocks), sizeof(Block));
  if (gossip)
    f += fmt::format(
        " + {:.3g} blocks x (2 x ({} nodes + 24) + 96) B of per-node views and gossip "
        "bitmaps",
        blocks, nodes);
  if (bft)
    f += fmt::format(" + {:.3g} heights x {} validators x 12 B of decisions and certificates",
                     blocks, validators);
  return f + fmt::format(
                 " + {} links x 64 B + {} nodes x 96 B + 4 MiB runtime + writer 8 MiB + "
                 "10% of the {:.0f} MiB file",
                 links, nodes, file_bytes() / kMiB);
}

std::string ChainMemoryEstimate::summary() const {
  const double b = static_cast<double>(total());
  if (b >= 1024.0 * kMiB) return fmt::format("{:.1f} GiB", b / (1024.0 * kMiB));
  return fmt::format("{:.0f} MiB", b / kMiB);
}

ChainMemoryEstimate ChainSimulation::memory() const {
  ChainMemoryEstimate m;
  const double d = options_.duration.seconds();
  m.txs = workload_->mean_rate() * d;
  const double interval = consensus_->nominal_interval().seconds();
  m.blocks = (interval > 0 ? d / interval : d * 1e9) + 1.0;
  m.nodes = net_->size();
  m.validators = net_->validators();
  m.links = net_->links();
  m.gossip = consensus_->gossips_blocks();
  m.bft = !m.gossip;  // BFT: decision lists and certificates instead
  return m;
}

namespace {
// Routes application messages (the contract's transfers) away from the consensus engine.
class Mux final : public net::Receiver {
 public:
  Mux(net::Receiver& consensus, net::Receiver& app) : consensus_(consensus), app_(app) {}
  bool on_gossip(NodeId at, NodeId from, net::GossipId id, const net::Message& m) override {
    return m.kind >= ChainSimulation::kAppMessages ? app_.on_gossip(at, from, id, m)
                                                   : consensus_.on_gossip(at, from, id, m);
  }
  void on_message(NodeId at, const net::Message& m) override {
    if (m.kind >= ChainSimulation::kAppMessages)
      app_.on_message(at, m);
    else
      consensus_.on_message(at, m);
  }
  void on_node_state(NodeId node, bool up) override {
    consensus_.on_node_state(node, up);
    app_.on_node_state(node, up);
  }

 private:
  net::Receiver& consensus_;
  net::Receiver& app_;
};
}  // namespace

void ChainSimulation::attach_app(net::Receiver* app, std::function<bool()> done) {
  mux_ = std::make_unique<Mux>(*consensus_, *app);
  net_->set_receiver(mux_.get());
  done_ = std::move(done);
}

namespace {
constexpr double kMaxRowsPerRun = 1e6;
constexpr double kMaxTxPerRun = 1e7;

// Crashes and partitions that leave nothing to simulate, or that lie outside the run, are
// errors (read_network checked their own shapes; only here is the run's duration known).
void check_faults_within_run(const scenario::ParamView& net, const net::NetworkOptions& o,
                             core::SimTime duration) {
  const std::vector<scenario::ParamView> parts = net.table_array("partition");
  for (std::size_t i = 0; i < parts.size() && i < o.partitions.size(); ++i) {
    const net::Partition& p = o.partitions[i];
    if (p.start >= duration)
      parts[i].fail("start", fmt::format("= {} is not before simulation.duration = {}: the "
                                         "partition lies outside the run",
                                         core::to_string(p.start), core::to_string(duration)));
    std::vector<bool> in(o.nodes(), false);
    std::size_t side = 0;
    for (auto v : p.side) side += !in[v] ? (in[v] = true, 1) : 0;
    if (side == 0 || side >= o.nodes())
      parts[i].fail(parts[i].has("side") ? "side" : "fraction",
                    fmt::format("puts {} of the {} nodes on one side: a partition needs nodes on "
                                "both sides",
                                side, o.nodes()));
  }
  const std::vector<scenario::ParamView> crash_views = net.table_array("crash");
  for (std::size_t i = 0; i < crash_views.size() && i < o.crashes.size(); ++i)
    if (o.crashes[i].at >= duration)
      crash_views[i].fail("at",
                          fmt::format("= {} is not before simulation.duration = {}: the "
                                      "crash lies outside the run",
                                      core::to_string(o.crashes[i].at), core::to_string(duration)));
  // Every node down for good (a crash with no recovery before the end) leaves nothing to run.
  std::vector<bool> down(o.nodes(), false);
  std::size_t down_count = 0;
  core::SimTime last{};
  for (const auto& c : o.crashes) {
    const bool for_good = c.at < duration && c.recover >= duration;
    if (for_good && !down[c.node]) {
      down[c.node] = true;
      ++down_count;
      last = std::max(last, c.at);
    }
  }
  const std::vector<scenario::ParamView> crashes = net.table_array("crash");
  if (down_count == o.nodes() && !crashes.empty())
    crashes.back().fail("node", fmt::format("every one of the {} nodes crashes without recovering "
                                            "before the run ends (the last at {}): nothing can "
                                            "happen after that",
                                            o.nodes(), core::to_string(last)));
  // Every validator down from the start: no block can ever be produced.
  std::size_t validators_down_at_0 = 0;
  for (std::uint32_t v = 0; v < o.validators; ++v)
    for (const auto& c : o.crashes)
      if (c.node == v && c.at == core::SimTime{} && c.recover >= duration) {
        ++validators_down_at_0;
        break;
      }
  if (validators_down_at_0 == o.validators && !crashes.empty())
    crashes.back().fail("node", fmt::format("every one of the {} validators is crashed for the "
                                            "whole run: no block can ever be produced",
                                            o.validators));
}
}  // namespace

std::unique_ptr<ChainSimulation> ChainSimulation::build(const scenario::ParamView& root,
                                                        std::uint64_t seed,
                                                        const net::NetRegistries& net_regs,
                                                        const ChainRegistries& chain_regs) {
  return build(root, seed, net_regs, chain_regs, AppNodes{});
}

std::unique_ptr<ChainSimulation> ChainSimulation::build(const scenario::ParamView& root,
                                                        std::uint64_t seed,
                                                        const net::NetRegistries& net_regs,
                                                        const ChainRegistries& chain_regs,
                                                        const AppNodes& app) {
  using scenario::Bounds;
  ChainSimOptions o;
  const scenario::ParamView sim = root.table("simulation");
  const Bounds pos{0.0, std::nullopt, true, false};
  o.duration = sim.duration("duration", app.default_duration, pos);
  o.metrics_interval = sim.duration("metrics_interval", core::SimTime::s(60), pos);
  const scenario::ParamView chain = root.table("chain");
  o.limits.gas_limit = chain.integer("gas_limit", 30'000'000, Bounds::at_least(1));
  o.limits.max_bytes = chain.size("max_block_bytes", 1'000'000);
  o.limits.header_bytes = chain.size("header_bytes", 80);
  try {
    o.limits.validate();
  } catch (const std::invalid_argument& e) {
    chain.fail("max_block_bytes", e.what());
  }
  // Sane bounds, so that no setting turns a run into a hang: /rounds rows and transactions per
  // run (each transaction is an event and a ledger entry; 10^7 is 14x the largest shipped
  // scenario, bft_consortium's 720,000).
  const double rows = o.duration.seconds() / o.metrics_interval.seconds();
  if (rows > kMaxRowsPerRun)
    sim.fail("metrics_interval",
             fmt::format("= {} gives duration / metrics_interval = {:.3g} /rounds rows, more than "
                         "the bound of {:.0g} rows per run (simulation.duration = {})",
                         core::to_string(o.metrics_interval), rows, kMaxRowsPerRun,
                         core::to_string(o.duration)));
  const scenario::ParamView net_p = root.table("network");
  if (app.clients > 0 && net_p.has("clients") &&
      net_p.integer("clients", 0) != static_cast<std::int64_t>(app.clients))
    net_p.fail("clients", fmt::format("= {} differs from clients.count = {}: every learning "
                                      "client is a network node (omit network.clients)",
                                      net_p.integer("clients", 0), app.clients));
  net::NetworkSpec spec = net::read_network(net_p, seed, net_regs);
  if (app.clients > 0) {
    if (spec.options.client_attach == net::ClientAttach::kOverlay &&
        spec.options.clients != app.clients)
      net_p.fail("client_attach", fmt::format("= \"overlay\" makes clients nodes of the generated "
                                              "topology: set network.clients = {} (clients.count)",
                                              app.clients));
    spec.options.clients = app.clients;
  }
  check_faults_within_run(root.table("network"), spec.options, o.duration);
  const scenario::ParamView wl = root.table("workload");
  auto workload = chain_regs.workloads.get(wl, "type", "poisson").factory(wl, seed);
  if (const double txs = workload->mean_rate() * o.duration.seconds(); txs > kMaxTxPerRun)
    wl.fail("rate",
            fmt::format("= {:g} tx/s x simulation.duration = {} gives {:.3g} transactions, "
                        "more than the bound of {:.0g} transactions per run",
                        workload->mean_rate(), core::to_string(o.duration), txs, kMaxTxPerRun));
  // A block that can never hold the smallest transaction the workload draws: nothing would
  // ever be included, the mempool would only grow.
  if (const Workload::Smallest tx = workload->smallest_tx(); tx.gas > 0 || tx.bytes > 0) {
    if (o.limits.gas_limit < tx.gas)
      chain.fail("gas_limit",
                 fmt::format("= {} is below the gas of the smallest transaction the workload can "
                             "draw ({} = workload gas_base + gas_per_byte x {} bytes): no "
                             "transaction could ever be included",
                             o.limits.gas_limit, tx.gas, tx.bytes));
    if (o.limits.max_bytes - o.limits.header_bytes < tx.bytes)
      chain.fail("max_block_bytes",
                 fmt::format("= {} bytes leaves {} bytes after the {}-byte header, below the "
                             "smallest transaction the workload can draw ({} bytes): no "
                             "transaction could ever be included",
                             o.limits.max_bytes, o.limits.max_bytes - o.limits.header_bytes,
                             o.limits.header_bytes, tx.bytes));
  }
  const scenario::ParamView cons = chain.table("consensus");
  const auto& entry = chain_regs.consensus.get(cons, "type", "poa");
  auto built = std::make_unique<ChainSimulation>(
      o, std::move(spec), std::move(workload),
      [&](ChainContext& ctx) { return entry.factory(cons, ctx); }, seed);
  // Refuse what this machine cannot hold (validate and run alike: run validates dry first).
  const ChainMemoryEstimate mem = built->memory();
  if (const std::uint64_t have = machine_memory_bytes(); have > 0 && mem.total() > have)
    sim.fail(
        "duration",
        fmt::format("= {}: the run needs an estimated {} ({}), more than this machine's {:.1f} "
                    "GiB of physical memory; the keys that drive it: simulation.duration and "
                    "workload.rate (transactions), the consensus interval (blocks), "
                    "network.validators and network.clients (per-node views)",
                    core::to_string(o.duration), mem.summary(), mem.formula(),
                    static_cast<double>(have) / (1024.0 * 1024 * 1024)));
  return built;
}

void ChainSimulation::write_settled(bool all) {
  const BlockTree& t = ledger_.tree;
  const std::int64_t final_h = t.at(t.last_finalized()).height();
  if (row_of_.size() < t.size()) row_of_.resize(t.size(), -1);
  std::vector<std::uint32_t> keep;
  std::vector<core::Cell> row;
  for (std::uint32_t b : unwritten_) {
    const Block& blk = t.at(b);
    // Settled: final, or off the canonical chain at a final height. Its row will not change.
    const bool settled = blk.finalized() || (!blk.on_main && blk.height() <= final_h);
    if (!settled && !all) {
      keep.push_back(b);
      continue;
    }
    // A parent is always written before its children (audit convenience; rows stay ordered).
    const std::int64_t r = next_row_++;
    row_of_[b] = r;
    auto prop = [&](int pct) {
      if (blk.gossip == net::kNone) return kNaN;
      const core::SimTime p = net_->propagation(blk.gossip, pct);
      return p == core::SimTime::max() ? kNaN : p.seconds();
    };
    // The proposer signs the header it recorded (genesis has no proposer: zero signature).
    const Signature sig =
        b == 0 ? Signature{}
               : keys_->sign(blk.header.proposer, block_signing_message(blk.hash).bytes());
    row.assign(
        {core::Cell{blk.header.height}, core::Cell{blk.hash}, core::Cell{blk.header.parent},
         core::Cell{static_cast<std::int64_t>(blk.header.proposer)},
         core::Cell{blk.header.timestamp_ns},
         core::Cell{static_cast<double>(blk.header.timestamp_ns) * 1e-9},
         core::Cell{blk.header.tx_root}, core::Cell{blk.header.state_digest},
         core::Cell{static_cast<std::int64_t>(blk.txs.size())}, core::Cell{blk.header.gas_used},
         core::Cell{blk.header.bytes}, core::Cell{static_cast<std::int64_t>(blk.on_main)},
         core::Cell{blk.finalized() ? blk.finalized_at.seconds() : kNaN}, core::Cell{prop(50)},
         core::Cell{prop(90)}, core::Cell{prop(100)}, core::Cell{sig.r}, core::Cell{sig.s}});
    blocks_table_->append(row);
    // The commit certificate: each committing validator's precommit signature.
    if (const CommitCertificate* cert = consensus_->certificate(b)) {
      for (NodeId v : cert->voters) {
        const Signature vs =
            keys_->sign(v, precommit_signing_message(cert->height, cert->round, blk.hash).bytes());
        row.assign({core::Cell{r}, core::Cell{cert->height}, core::Cell{cert->round},
                    core::Cell{static_cast<std::int64_t>(v)}, core::Cell{vs.r}, core::Cell{vs.s}});
        certs_table_->append(row);
      }
    }
    for (std::size_t i = 0; i < blk.txs.size(); ++i) {
      const Transaction& tx = ledger_.txs[blk.txs[i]];
      row.assign(
          {core::Cell{r}, core::Cell{blk.header.height}, core::Cell{static_cast<std::int64_t>(i)},
           core::Cell{static_cast<std::int64_t>(tx.nonce)},
           core::Cell{static_cast<std::int64_t>(tx.sender)},
           core::Cell{static_cast<std::int64_t>(tx.kind)}, core::Cell{tx.fee}, core::Cell{tx.gas},
           core::Cell{tx.size}, core::Cell{tx.payload_hash}, core::Cell{tx.hash}});
      txs_table_->append(row);
    }
  }
  unwritten_.swap(keep);
}

void ChainSimulation::run(core::RunSink& sink) {
  const auto wall0 = std::chrono::steady_clock::now();
  const auto bc = block_columns();
  const auto tc = tx_columns();
  blocks_table_ = &sink.table("/ledger/blocks", bc);
  txs_table_ = &sink.table("/ledger/txs", tc);
  // The registered validator keys: every block proposer and committing validator is one of
  // them, and audit verifies every recorded signature against this table.
  keys_ = std::make_unique<ValidatorKeys>(seed_, net_->validators());
  {
    core::TableSink& vt = sink.table("/ledger/validators", validator_columns());
    for (std::uint32_t v = 0; v < keys_->size(); ++v)
      vt.append(std::vector<core::Cell>{core::Cell{static_cast<std::int64_t>(v)},
                                        core::Cell{keys_->public_key(v)},
                                        core::Cell{consensus_->voting_power(v)}});
  }
  certs_table_ = &sink.table("/ledger/certificates", certificate_columns());
  sink.set_meta("chain.consensus", std::string(consensus_->name()));
  sink.set_meta("chain.validators", static_cast<std::int64_t>(net_->validators()));
  sink.set_meta("chain.nodes", static_cast<std::int64_t>(net_->size()));
  sink.set_meta("chain.header_bytes", options_.limits.header_bytes);
  for (std::size_t k = 0; k < ledger_.kinds.size(); ++k)
    sink.set_meta("chain.tx_kind." + std::to_string(k),
                  ledger_.kinds.name(static_cast<std::uint16_t>(k)));

  // Every block after genesis is handed to the writer and counted in the interval that
  // produced it, whoever built it and when — including a block an engine builds synchronously
  // inside start() (BFT's first proposal at time 0). So the cursor starts at genesis, not at
  // the tree's size after start().
  std::uint32_t seen_blocks = 1;
  unwritten_.push_back(0);  // genesis
  net_->start();
  consensus_->start();
  net::NetStats last_net{};
  std::uint64_t last_stale = 0, last_events = 0, last_reorgs = 0, last_txs = 0;
  double last_lat_sum = 0;
  std::int64_t last_lat_count = 0;
  for (std::int64_t k = 1;; ++k) {
    const core::SimTime end = std::min(options_.duration, options_.metrics_interval * k);
    const auto w0 = std::chrono::steady_clock::now();
    engine_.run_until(end);
    workload_->advance_to(end, ledger_);
    const std::uint32_t nblocks = ledger_.tree.size();
    for (std::uint32_t b = seen_blocks; b < nblocks; ++b) unwritten_.push_back(b);
    const net::NetStats& ns = net_->stats();
    core::RoundSummary r;
    r.add("round", k);
    r.add("sim_time_s", end.seconds());
    r.add("blocks", static_cast<std::int64_t>(nblocks - seen_blocks));
    r.add("stale_blocks", static_cast<std::int64_t>(ledger_.stale_blocks() - last_stale));
    const std::int64_t dc = final_count_ - last_lat_count;
    r.add("finality_latency_s", dc > 0 ? (final_latency_sum_ - last_lat_sum) / dc : kNaN);
    r.add("finalized_blocks", dc);
    r.add("consensus_messages",
          static_cast<std::int64_t>(ns.consensus_messages - last_net.consensus_messages));
    r.add("network_bytes", ns.bytes - last_net.bytes);
    r.add("messages_lost",
          static_cast<std::int64_t>(
              (ns.lost + ns.dropped_partition + ns.dropped_crash) -
              (last_net.lost + last_net.dropped_partition + last_net.dropped_crash)));
    r.add("txs_generated", static_cast<std::int64_t>(workload_->generated() - last_txs));
    r.add("mempool_size", static_cast<std::int64_t>(ledger_.pool.size()));
    r.add("head_height", ledger_.tree.at(ledger_.tree.head()).height());
    r.add("finalized_height", ledger_.tree.at(ledger_.tree.last_finalized()).height());
    r.add("reorgs", static_cast<std::int64_t>(ledger_.tree.reorgs() - last_reorgs));
    r.add("events", static_cast<std::int64_t>(engine_.processed() - last_events));
    consensus_->add_metrics(r);
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    seen_blocks = nblocks;
    last_net = ns;
    last_stale = ledger_.stale_blocks();
    last_events = engine_.processed();
    last_reorgs = ledger_.tree.reorgs();
    last_txs = workload_->generated();
    last_lat_sum = final_latency_sum_;
    last_lat_count = final_count_;
    if (!done_) sink.on_round(r);
    write_settled(false);
    sink.flush();
    if (end >= options_.duration || (done_ && done_())) break;
  }
  write_settled(true);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  finish_summary(wall);
  const ChainSummary& s = summary_;
  static const std::vector<core::ColumnSpec> kSummaryCols = {
      {"blocks", core::ColumnType::kInt64},
      {"main_blocks", core::ColumnType::kInt64},
      {"stale_blocks", core::ColumnType::kInt64},
      {"stale_rate", core::ColumnType::kFloat64},
      {"mean_block_interval_s", core::ColumnType::kFloat64},
      {"prop50_s", core::ColumnType::kFloat64},
      {"prop90_s", core::ColumnType::kFloat64},
      {"prop100_s", core::ColumnType::kFloat64},
      {"finality_latency_mean_s", core::ColumnType::kFloat64},
      {"finality_latency_median_s", core::ColumnType::kFloat64},
      {"txs_on_main", core::ColumnType::kInt64},
      {"tps", core::ColumnType::kFloat64},
      {"reorgs", core::ColumnType::kInt64},
      {"safety_violations", core::ColumnType::kInt64},
      {"consensus_messages", core::ColumnType::kInt64},
      {"network_bytes", core::ColumnType::kInt64},
      {"events", core::ColumnType::kInt64}};
  const std::vector<core::Cell> row = {s.blocks,
                                       s.main_blocks,
                                       s.stale_blocks,
                                       s.stale_rate,
                                       s.mean_block_interval_s,
                                       s.prop50_s,
                                       s.prop90_s,
                                       s.prop100_s,
                                       s.finality_latency_mean_s,
                                       s.finality_latency_median_s,
                                       s.txs_on_main,
                                       s.tps,
                                       s.reorgs,
                                       s.safety_violations,
                                       s.consensus_messages,
                                       s.network_bytes,
                                       s.events};
  sink.table("/chain_summary", kSummaryCols).append(row);
  sink.set_meta("chain.safety_violations", s.safety_violations);
  sink.flush();
}

void ChainSimulation::finish_summary(double wall_s) {
  ChainSummary& s = summary_;
  const BlockTree& t = ledger_.tree;
  s.consensus = std::string(consensus_->name());
  s.nodes = net_->size();
  s.validators = net_->validators();
  s.sim_time_s = engine_.now().seconds();
  s.blocks = static_cast<std::int64_t>(t.size()) - 1;
  std::vector<double> p50, p90, p100;
  for (std::uint32_t b = 1; b < t.size(); ++b) {
    const Block& blk = t.at(b);
    if (blk.on_main) {
      ++s.main_blocks;
      s.txs_on_main += static_cast<std::int64_t>(blk.txs.size());
    }
    if (blk.gossip != net::kNone) {
      auto add = [&](std::vector<double>& v, int pct) {
        const core::SimTime p = net_->propagation(blk.gossip, pct);
        if (p != core::SimTime::max()) v.push_back(p.seconds());
      };
      add(p50, 50);
      add(p90, 90);
      add(p100, 100);
    }
  }
  s.stale_blocks = s.blocks - s.main_blocks;
  s.stale_rate = s.blocks > 0 ? static_cast<double>(s.stale_blocks) / s.blocks : kNaN;
  const Block& head = t.at(t.head());
  s.mean_block_interval_s =
      head.height() > 0 ? static_cast<double>(head.header.timestamp_ns) * 1e-9 / head.height()
                        : kNaN;
  s.prop50_s = median(p50);
  s.prop90_s = median(p90);
  s.prop100_s = median(p100);
  s.finality_latency_mean_s = final_count_ > 0 ? final_latency_sum_ / final_count_ : kNaN;
  s.finality_latency_median_s = median(final_latencies_);
  s.txs_generated = static_cast<std::int64_t>(workload_->generated());
  s.tps = s.sim_time_s > 0 ? s.txs_on_main / s.sim_time_s : 0;
  s.reorgs = static_cast<std::int64_t>(t.reorgs());
  s.safety_violations = static_cast<std::int64_t>(consensus_->safety_violations());
  s.consensus_messages = static_cast<std::int64_t>(net_->stats().consensus_messages);
  s.network_bytes = net_->stats().bytes;
  s.events = static_cast<std::int64_t>(engine_.processed());
  s.wall_s = wall_s;
  s.events_per_s = wall_s > 0 ? s.events / wall_s : 0;
}

}  // namespace ledgerfl::chain
