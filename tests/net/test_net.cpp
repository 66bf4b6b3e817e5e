// Tests of sim/net: topologies, link timing and queueing, gossip, unicast, faults, scenario reads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "sim/core/engine.hpp"
#include "sim/net/network.hpp"
#include "sim/net/registry.hpp"
#include "sim/scenario/params.hpp"

using namespace ledgerfl;
using namespace ledgerfl::net;
using core::SimTime;

namespace {

// Records every delivery with its time.
struct Recorder : Receiver {
  core::Engine* engine = nullptr;
  std::map<NodeId, int> gossip_count;
  std::map<NodeId, SimTime> gossip_time;
  std::vector<std::pair<SimTime, net::Message>> unicast;
  std::vector<std::pair<NodeId, bool>> states;
  bool on_gossip(NodeId at, NodeId, GossipId, const Message&) override {
    ++gossip_count[at];
    gossip_time[at] = engine->now();
    return true;
  }
  void on_message(NodeId, const Message& m) override { unicast.emplace_back(engine->now(), m); }
  void on_node_state(NodeId v, bool up) override { states.emplace_back(v, up); }
};

Graph line(std::uint32_t n) {
  Graph g{n, {}};
  for (NodeId v = 0; v + 1 < n; ++v) g.edges.emplace_back(v, v + 1);
  return g;
}

NetworkOptions fixed_options(std::uint32_t n, double latency_ms, double bps) {
  NetworkOptions o;
  o.validators = n;
  o.regions = single_region(latency_ms, bps);
  o.latency.kind = LatencyKind::kFixed;
  return o;
}

Message msg(std::int64_t bytes, std::uint64_t tag = 0) {
  Message m;
  m.bytes = bytes;
  m.a = tag;
  return m;
}

}  // namespace

TEST_CASE("topology generators have their defining properties") {
  SUBCASE("complete") {
    Graph g = complete_graph(10);
    CHECK(g.edges.size() == 45);
    CHECK(g.connected());
  }
  SUBCASE("random regular: every degree equals d, deterministic per seed") {
    Graph g = random_regular(200, 8, 7);
    auto adj = g.adjacency();
    for (const auto& a : adj) CHECK(a.size() == 8);
    CHECK(g.connected());
    CHECK(random_regular(200, 8, 7).edges == g.edges);
    CHECK(random_regular(200, 8, 8).edges != g.edges);
  }
  SUBCASE("Erdos-Renyi edge count near p n (n-1) / 2") {
    Graph g = erdos_renyi(400, 0.05, 3);
    const double expect = 0.05 * 400 * 399 / 2;  // 3990, sd ~ 61.6
    CHECK(std::abs(static_cast<double>(g.edges.size()) - expect) < 5 * 61.6);
  }
  SUBCASE("Barabasi-Albert edge count and hubs") {
    Graph g = barabasi_albert(1000, 3, 5);
    CHECK(g.edges.size() == 6 + (1000 - 4) * 3);
    auto adj = g.adjacency();
    std::size_t maxdeg = 0;
    for (const auto& a : adj) maxdeg = std::max(maxdeg, a.size());
    CHECK(maxdeg > 30);  // scale-free: hubs far above the mean degree 6
    CHECK(g.connected());
  }
  SUBCASE("Watts-Strogatz keeps n k / 2 edges") {
    Graph g = watts_strogatz(500, 6, 0.1, 9);
    // Boost's rewiring may create a duplicate that normalize() removes: allow a few.
    CHECK(g.edges.size() <= 1500);
    CHECK(g.edges.size() >= 1480);
  }
}

TEST_CASE("propagation on a line = sum of link delays + transmission times") {
  core::Engine e;
  // 10 ms latency, 8 Mbit/s: a 1000-byte message takes 1 ms to transmit on each hop.
  NetworkOptions o = fixed_options(4, 10.0, 8e6);
  Network net(e, line(4), o, 1);
  Recorder rec;
  rec.engine = &e;
  net.set_receiver(&rec);
  net.start();
  GossipId g = net.broadcast(0, msg(1000));
  e.run();
  CHECK(rec.gossip_time.at(1) == SimTime::ms(11));
  CHECK(rec.gossip_time.at(2) == SimTime::ms(22));
  CHECK(rec.gossip_time.at(3) == SimTime::ms(33));
  CHECK(net.propagation(g, 100) == SimTime::ms(33));
  CHECK(net.propagation(g, 50) == SimTime::ms(11));  // 2 of 4 nodes

  // Unicast along the same path, and the relay delay added per gossip hop.
  core::Engine e2;
  o.relay_delay = SimTime::ms(2);
  Network net2(e2, line(4), o, 1);
  Recorder rec2;
  rec2.engine = &e2;
  net2.set_receiver(&rec2);
  net2.broadcast(0, msg(1000));
  net2.send(0, 3, msg(1000, 42));
  e2.run();
  CHECK(rec2.gossip_time.at(3) == SimTime::ms(33 + 2 * 2));
  REQUIRE(rec2.unicast.size() == 1);
  CHECK(rec2.unicast[0].second.a == 42);
  // The unicast queues 1 ms behind the gossip on link 0->1 (FIFO), then pays 1 ms + 10 ms
  // per hop; the gossip relays wait 2 ms at each node, so they never delay it further.
  CHECK(rec2.unicast[0].first == SimTime::ms(1 + 3 * 11));
}

TEST_CASE("per-link queue: messages leave one after another, in send order") {
  core::Engine e;
  Network net(e, line(2), fixed_options(2, 5.0, 8e6), 1);
  Recorder rec;
  rec.engine = &e;
  net.set_receiver(&rec);
  net.send(0, 1, msg(1000, 1));  // tx 1 ms
  net.send(0, 1, msg(500, 2));   // tx 0.5 ms, waits for the first
  net.send(0, 1, msg(2000, 3));  // tx 2 ms, waits for both
  e.run();
  REQUIRE(rec.unicast.size() == 3);
  CHECK(rec.unicast[0].second.a == 1);
  CHECK(rec.unicast[1].second.a == 2);
  CHECK(rec.unicast[2].second.a == 3);
  CHECK(rec.unicast[0].first == SimTime::us(6000));
  CHECK(rec.unicast[1].first == SimTime::us(6500));
  CHECK(rec.unicast[2].first == SimTime::us(8500));
  CHECK(net.stats().bytes == 3500);
}

TEST_CASE("gossip reaches every node of a connected graph exactly once per message") {
  for (auto [name, g] :
       std::vector<std::pair<std::string, Graph>>{{"regular", random_regular(300, 6, 11)},
                                                  {"ba", barabasi_albert(300, 2, 12)},
                                                  {"ws", watts_strogatz(300, 4, 0.2, 13)},
                                                  {"er", erdos_renyi(300, 0.05, 14)}}) {
    CAPTURE(name);
    REQUIRE(g.connected());
    core::Engine e;
    NetworkOptions o = fixed_options(300, 20.0, 1e8);
    o.latency.kind = LatencyKind::kLognormal;
    o.latency.sigma = 0.8;
    Network net(e, g, o, 5);
    Recorder rec;
    rec.engine = &e;
    net.set_receiver(&rec);
    GossipId a = net.broadcast(0, msg(500));
    GossipId b = net.broadcast(17, msg(500));
    e.run();
    CHECK(net.reached(a) == 300);
    CHECK(net.reached(b) == 300);
    for (NodeId v = 0; v < 300; ++v) {
      const int expect = (v == 0 || v == 17) ? 1 : 2;  // origins are not called for their own
      CHECK(rec.gossip_count[v] == expect);
    }
    CHECK(net.stats().duplicates > 0);  // copies were sent and suppressed
    CHECK(net.stats().transmissions == 2 * (2 * g.edges.size() - 299));
  }
}

TEST_CASE("partitions drop or queue, crashes drop and notify") {
  auto run = [](PartitionMode mode) {
    core::Engine e;
    NetworkOptions o = fixed_options(2, 5.0, 8e6);
    o.partition_mode = mode;
    o.partitions.push_back({SimTime::ms(0), SimTime::ms(100), {0}});
    Network net(e, line(2), o, 1);
    Recorder rec;
    rec.engine = &e;
    net.set_receiver(&rec);
    net.send(0, 1, msg(1000, 7));
    e.schedule_at(SimTime::ms(200), [&] { net.send(0, 1, msg(1000, 8)); });
    e.run();
    return rec.unicast;
  };
  auto dropped = run(PartitionMode::kDrop);
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0].second.a == 8);
  auto queued = run(PartitionMode::kQueue);
  REQUIRE(queued.size() == 2);
  CHECK(queued[0].first == SimTime::ms(106));  // sent when the partition heals
  CHECK(queued[1].first == SimTime::ms(206));

  core::Engine e;
  NetworkOptions o = fixed_options(3, 5.0, 8e6);
  o.crashes.push_back({2, SimTime::ms(1), SimTime::ms(50)});
  Network net(e, line(3), o, 1);
  Recorder rec;
  rec.engine = &e;
  net.set_receiver(&rec);
  net.start();
  e.schedule_at(SimTime::ms(2), [&] { net.broadcast(0, msg(100)); });
  e.schedule_at(SimTime::ms(60), [&] { net.broadcast(0, msg(100)); });
  e.run();
  CHECK(rec.gossip_count[2] == 1);  // only the second broadcast reached node 2
  CHECK(net.stats().dropped_crash == 1);
  REQUIRE(rec.states.size() == 2);
  CHECK(rec.states[0] == std::pair<NodeId, bool>{2, false});
  CHECK(rec.states[1] == std::pair<NodeId, bool>{2, true});
}

TEST_CASE("unicast follows the shortest path by latency") {
  core::Engine e;
  Graph g = line(5);
  g.edges.emplace_back(0, 4);  // a shortcut
  Network net(e, g, fixed_options(5, 10.0, 1e9), 1);
  CHECK(net.next_hop(0, 4) == 4);
  CHECK(net.next_hop(0, 3) == 4);
  CHECK(net.next_hop(1, 2) == 2);
}

TEST_CASE("latency distributions keep the link mean") {
  for (LatencyKind k : {LatencyKind::kNormal, LatencyKind::kLognormal, LatencyKind::kPareto}) {
    LatencyOptions o;
    o.kind = k;
    o.shape = 3.0;
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      core::Rng r(1, "t", 0, static_cast<std::uint64_t>(i));
      sum += o.sample(100.0, r).seconds() * 1e3;
    }
    CAPTURE(to_string(k));
    CHECK(sum / n == doctest::Approx(100.0).epsilon(0.02));
  }
}

TEST_CASE("[network] is read from a scenario with positioned errors") {
  NetRegistries regs;
  register_builtin_net(regs);
  auto doc = scenario::Document::parse(R"(
[network]
validators = 20
clients = 10
client_degree = 2
[network.topology]
type = "random_regular"
degree = 4
[network.latency]
type = "pareto"
shape = 3.0
[[network.partition]]
start = "1s"
end = "2s"
fraction = 0.5
)",
                                       "t.toml");
  NetworkSpec spec = read_network(doc->root().table("network"), 1, regs);
  CHECK(spec.options.nodes() == 30);
  CHECK(spec.overlay.n == 20);
  CHECK(spec.options.partitions.at(0).side.size() == 10);
  CHECK(spec.options.latency.kind == LatencyKind::kPareto);
  doc->check_unused();
  core::Engine e;
  Network net(e, spec.overlay, spec.options, 1);
  for (NodeId c = 20; c < 30; ++c) CHECK(net.neighbours(c).size() == 2);

  auto bad =
      scenario::Document::parse("[network.topology]\ntype = \"random_regullar\"\n", "b.toml");
  CHECK_THROWS_WITH_AS(read_network(bad->root().table("network"), 1, regs),
                       doctest::Contains("random_regular"), scenario::InputError);
}

namespace {

Graph star(std::uint32_t leaves) {
  Graph g{leaves + 1, {}};
  for (NodeId v = 1; v <= leaves; ++v) g.edges.emplace_back(0, v);
  return g;
}

// Digest of every delivery time of a fixed mixed workload (gossip from two origins, unicasts)
// on SimBlock's regions with Pareto latencies and per-link queues.
std::uint64_t per_link_digest(const NetworkOptions& base) {
  core::Engine e;
  NetworkOptions o = base;
  o.validators = 200;
  o.latency.kind = LatencyKind::kPareto;
  o.latency.shape = 3.0;
  o.relay_delay = SimTime::ms(3);
  Network net(e, random_regular(200, 6, 21), o, 9);
  Recorder rec;
  rec.engine = &e;
  net.set_receiver(&rec);
  net.broadcast(0, msg(250000));
  net.broadcast(77, msg(1200));
  for (NodeId v = 1; v < 40; ++v) net.send(v, 199 - v, msg(5000 + v, v));
  e.run();
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::uint64_t x) { h = (h ^ x) * 1099511628211ull; };
  for (const auto& [v, t] : rec.gossip_time) mix(v), mix(static_cast<std::uint64_t>(t.count_ns()));
  for (const auto& [t, m] : rec.unicast) mix(m.a), mix(static_cast<std::uint64_t>(t.count_ns()));
  return h;
}

}  // namespace

TEST_CASE("per-node uplink: k copies from a hub finish at k s / c; per-link at s / c each") {
  const std::uint32_t k = 5;
  const double c = 8e6;           // bit/s
  const std::int64_t s = 100000;  // bytes: s / c = 100 ms
  const SimTime lat = SimTime::ms(20);
  for (BandwidthModel model : {BandwidthModel::kPerNode, BandwidthModel::kPerLink}) {
    CAPTURE(to_string(model));
    core::Engine e;
    NetworkOptions o = fixed_options(k + 1, 20.0, c);
    o.bandwidth_model = model;
    Network net(e, star(k), o, 1);
    Recorder rec;
    rec.engine = &e;
    net.set_receiver(&rec);
    for (NodeId v = 1; v <= k; ++v) net.send(0, v, msg(s, v));
    e.run();
    REQUIRE(rec.unicast.size() == k);
    for (std::size_t i = 0; i < k; ++i) {
      CHECK(rec.unicast[i].second.a == i + 1);  // FIFO over the hub's links
      const SimTime expect = model == BandwidthModel::kPerNode
                                 ? lat + SimTime::ms(100 * static_cast<std::int64_t>(i + 1))
                                 : lat + SimTime::ms(100);
      CHECK(rec.unicast[i].first == expect);
    }
  }
}

TEST_CASE("per-node downlink: k copies into a hub finish at k s / c; per-link at s / c") {
  const std::uint32_t k = 4;
  const std::int64_t s = 100000;  // 100 ms at 8 Mbit/s
  for (BandwidthModel model : {BandwidthModel::kPerNode, BandwidthModel::kPerLink}) {
    CAPTURE(to_string(model));
    core::Engine e;
    NetworkOptions o = fixed_options(k + 1, 20.0, 8e6);
    o.bandwidth_model = model;
    Network net(e, star(k), o, 1);
    Recorder rec;
    rec.engine = &e;
    net.set_receiver(&rec);
    for (NodeId v = 1; v <= k; ++v) net.send(v, 0, msg(s, v));  // each leaf has its own uplink
    e.run();
    REQUIRE(rec.unicast.size() == k);
    std::vector<SimTime> got;
    for (const auto& [t, m] : rec.unicast) got.push_back(t);
    std::sort(got.begin(), got.end());
    for (std::size_t i = 0; i < k; ++i) {
      const std::int64_t ms = model == BandwidthModel::kPerNode
                                  ? 20 + 100 * static_cast<std::int64_t>(i + 1)
                                  : 20 + 100;
      CHECK(got[i] == SimTime::ms(ms));
    }
  }
  // Node capacities come from the classes, and a link runs at min(upload u, download v).
  core::Engine e;
  NetworkOptions o = fixed_options(3, 0.0, 8e6);
  o.bandwidth_model = BandwidthModel::kPerNode;
  o.bandwidth.names = {"fast", "slow"};
  o.bandwidth.share = {1.0, 0.0};  // everyone fast ...
  o.bandwidth.upload_bps = {80e6, 1e6};
  o.bandwidth.download_bps = {80e6, 8e6};
  Network fast(e, star(2), o, 1);
  CHECK(fast.upload_bps(0) == 80e6);
  CHECK(fast.link_bandwidth_bps(1, 0) == 80e6);
  o.bandwidth.share = {0.0, 1.0};  // ... or everyone slow: up 1, down 8 Mbit/s
  Network slow(e, star(2), o, 1);
  CHECK(slow.download_bps(0) == 8e6);
  CHECK(slow.link_bandwidth_bps(1, 0) == 1e6);
}

TEST_CASE("bandwidth classes are drawn by share, one keyed stream per node") {
  core::Engine e;
  NetworkOptions o = fixed_options(2000, 10.0, 1e6);
  o.bandwidth.names = {"home", "datacentre"};
  o.bandwidth.share = {0.3, 0.7};
  o.bandwidth.upload_bps = {1e6, 100e6};
  o.bandwidth.download_bps = {10e6, 100e6};
  Network net(e, random_regular(2000, 4, 3), o, 5);
  int home = 0;
  for (NodeId v = 0; v < 2000; ++v) {
    const bool h = net.upload_bps(v) == 1e6;
    CHECK(net.download_bps(v) == (h ? 10e6 : 100e6));
    home += h ? 1 : 0;
  }
  CHECK(std::abs(home - 600) < 4 * std::sqrt(2000 * 0.3 * 0.7));  // binomial, 4 sd
}

// per_link_digest(NetworkOptions{}) computed by the network code of commit 6803c48.
constexpr std::uint64_t kPerLinkDigest = 10930553712243803346ull;

TEST_CASE("per_link reproduces the original model bit for bit; per_node is the default") {
  NetworkOptions o;  // SimBlock regions, per-node queues, flooding
  REQUIRE(o.bandwidth_model == BandwidthModel::kPerNode);
  REQUIRE(o.gossip == GossipMode::kFlood);
  CHECK(per_link_digest(o) != kPerLinkDigest);  // the models do differ on this workload
  // Digest recorded with the code before per-node bandwidth existed (commit 6803c48).
  o.bandwidth_model = BandwidthModel::kPerLink;
  CHECK(per_link_digest(o) == kPerLinkDigest);
}

TEST_CASE("announce gossip: every node downloads a message once; per-node runs are deterministic") {
  auto run = [](std::uint64_t seed, BandwidthModel model) {
    core::Engine e;
    NetworkOptions o;
    o.validators = 500;
    o.bandwidth_model = model;
    o.gossip = GossipMode::kAnnounce;
    o.latency.kind = LatencyKind::kLognormal;
    o.relay_delay = SimTime::ms(50);
    o.bandwidth.names = {"slow", "fast"};
    o.bandwidth.share = {0.4, 0.6};
    o.bandwidth.upload_bps = {1e6, 100e6};
    o.bandwidth.download_bps = {10e6, 100e6};
    Network net(e, random_regular(500, 8, 4), o, seed);
    Recorder rec;
    rec.engine = &e;
    net.set_receiver(&rec);
    GossipId g = net.broadcast(3, msg(500000));
    e.run();
    CHECK(net.reached(g) == 500);
    CHECK(net.stats().transmissions == 499);  // one request per node, never a duplicate
    CHECK(net.stats().duplicates == 0);
    std::vector<std::int64_t> t;
    for (const auto& [v, when] : rec.gossip_time) t.push_back(when.count_ns());
    t.push_back(net.propagation(g, 90).count_ns());
    return t;
  };
  const auto a = run(1, BandwidthModel::kPerNode);
  CHECK(a == run(1, BandwidthModel::kPerNode));
  CHECK(a != run(2, BandwidthModel::kPerNode));
  // Serialising a node's uploads can only delay the 90 % point relative to independent links.
  const auto pl = run(1, BandwidthModel::kPerLink);
  CHECK(a.back() > pl.back());
}

TEST_CASE("[network] bandwidth keys are read with positioned errors") {
  NetRegistries regs;
  register_builtin_net(regs);
  auto doc = scenario::Document::parse(R"(
[network]
validators = 10
bandwidth_model = "per_node"
gossip = "announce"
[network.bandwidth]
type = "classes"
names = ["home", "dc"]
share = [0.25, 0.75]
upload = [1e6, 1e8]
download = [1e7, 1e8]
)",
                                       "t.toml");
  NetworkSpec spec = read_network(doc->root().table("network"), 1, regs);
  doc->check_unused();
  CHECK(spec.options.bandwidth_model == BandwidthModel::kPerNode);
  CHECK(spec.options.gossip == GossipMode::kAnnounce);
  CHECK(spec.options.bandwidth.size() == 2);
  CHECK(spec.options.bandwidth.download_bps[0] == 1e7);

  auto bad_share = scenario::Document::parse(
      "[network.bandwidth]\ntype = \"classes\"\nnames = [\"a\", \"b\"]\nshare = [0.5, 0.4]\n"
      "upload = [1e6, 1e6]\ndownload = [1e6, 1e6]\n",
      "b.toml");
  CHECK_THROWS_WITH_AS(read_network(bad_share->root().table("network"), 1, regs),
                       doctest::Contains("shares must sum to 1"), scenario::InputError);
  auto bad_model =
      scenario::Document::parse("[network]\nbandwidth_model = \"per_nod\"\n", "c.toml");
  CHECK_THROWS_WITH_AS(read_network(bad_model->root().table("network"), 1, regs),
                       doctest::Contains("per_node"), scenario::InputError);
}
