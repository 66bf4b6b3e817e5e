// Tests of sim/net: topologies, link timing and queueing, gossip, unicast, faults, scenario reads.
#include <doctest/doctest.h>

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
