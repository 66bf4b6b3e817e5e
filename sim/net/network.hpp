// The simulated network: per-link FIFO transmission, gossip flooding, shortest-path unicast,
// node crashes and partitions, all driven by the core::Engine.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sim/core/engine.hpp"
#include "sim/core/rng.hpp"
#include "sim/core/time.hpp"
#include "sim/net/links.hpp"
#include "sim/net/topology.hpp"

namespace ledgerfl::net {

// A message is a small value; protocols put ids (heights, rounds, block indices) in a, b, c and
// keep large payloads in shared immutable stores, so nothing big is copied per hop. `bytes` is
// the simulated size on the wire (what transmission time and network_bytes count).
struct Message {
  std::uint16_t kind = 0;
  bool consensus = true;  // counted in consensus_messages
  NodeId origin = 0;
  std::int64_t bytes = 0;
  std::uint64_t a = 0, b = 0, c = 0;
};

using GossipId = std::uint32_t;
inline constexpr std::uint32_t kNone = 0xffffffffu;

// What protocols implement to receive traffic. Calls come from inside engine events.
class Receiver {
 public:
  virtual ~Receiver() = default;
  // First receipt of gossip message `id` at node `at`, from neighbour `from` (== at for the
  // originator, which is not called). Return true to relay it to the neighbours now; return
  // false to hold it (Network::relay later, e.g. once an orphan's parent arrives) or drop it.
  virtual bool on_gossip(NodeId at, NodeId from, GossipId id, const Message& m) = 0;
  // A unicast message reached its destination `at`.
  virtual void on_message(NodeId at, const Message& m) = 0;
  // A node crashed (up = false) or recovered (up = true).
  virtual void on_node_state(NodeId /*node*/, bool /*up*/) {}
};

enum class ClientAttach { kValidators, kOverlay };
enum class PartitionMode { kDrop, kQueue };
// Who owns bandwidth. kPerLink: every directed link transmits one message after another at
// min(upload u, download v), independently of the node's other links (SimBlock's link rule,
// and this simulator's original model). kPerNode: a node's uplink sends one transfer at a time
// (FIFO over all its links) and its downlink receives one at a time, so k concurrent copies
// of a block take k times as long (see sim/net/README.md for the model and its sources).
enum class BandwidthModel { kPerLink, kPerNode };
// How gossip is relayed. kFlood: the full message goes to every neighbour except the sender
// (duplicates are suppressed at the receiver). kAnnounce: Bitcoin's inv/getdata — a node
// announces to its neighbours; a neighbour that has neither the message nor a pending request
// requests it from this (first) announcer, which sends it after the inv + getdata round trip
// (2 x the link's mean latency). Each node then downloads each message about once.
enum class GossipMode { kFlood, kAnnounce };
std::string_view to_string(ClientAttach a);
std::string_view to_string(PartitionMode m);
std::string_view to_string(BandwidthModel m);
std::string_view to_string(GossipMode m);

struct Crash {
  NodeId node = 0;
  core::SimTime at;
  core::SimTime recover = core::SimTime::max();  // max = never
};
// During [start, end) links between `side` and the rest are cut.
struct Partition {
  core::SimTime start, end;
  std::vector<NodeId> side;
};

struct NetworkOptions {
  std::uint32_t validators = 16;  // node ids [0, validators)
  std::uint32_t clients = 0;      // node ids [validators, validators + clients)
  ClientAttach client_attach = ClientAttach::kValidators;
  std::uint32_t client_degree = 1;  // validators each client connects to (kValidators)
  core::SimTime relay_delay;        // per-hop processing delay before a gossip relay
  PartitionMode partition_mode = PartitionMode::kDrop;
  BandwidthModel bandwidth_model = BandwidthModel::kPerNode;
  GossipMode gossip = GossipMode::kFlood;
  RegionModel regions = simblock_2019();
  BandwidthClasses bandwidth;  // empty: per-region upload/download
  // Client nodes' capacities when own_client_bandwidth (empty: per-region); else `bandwidth`.
  BandwidthClasses client_bandwidth;
  bool own_client_bandwidth = false;
  LatencyOptions latency;
  std::vector<Crash> crashes;
  std::vector<Partition> partitions;

  std::uint32_t nodes() const { return validators + clients; }
  // Nodes the topology generator must produce: validators, or everyone in overlay mode.
  std::uint32_t overlay_nodes() const {
    return client_attach == ClientAttach::kOverlay ? nodes() : validators;
  }
  void validate() const;  // throws std::invalid_argument naming the key and rule
};

// Cumulative counters (the chain layer reports per-interval differences).
struct NetStats {
  std::uint64_t transmissions = 0;       // link transmissions started
  std::uint64_t consensus_messages = 0;  // transmissions of consensus messages
  std::int64_t bytes = 0;                // bytes put on links
  std::uint64_t delivered = 0;           // gossip first receipts + unicast deliveries
  std::uint64_t duplicates = 0;          // gossip copies suppressed at receivers
  std::uint64_t lost = 0;                // random loss
  std::uint64_t dropped_partition = 0;   // cut by a partition (drop mode)
  std::uint64_t dropped_crash = 0;       // sender or receiver down
};

class Network {
 public:
  // `overlay` must have options.overlay_nodes() nodes and be connected.
  Network(core::Engine& engine, Graph overlay, NetworkOptions options, std::uint64_t seed);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  void set_receiver(Receiver* r) { receiver_ = r; }
  // Schedules crash, recovery and partition events. Call once before running the engine.
  void start();

  std::uint32_t size() const { return n_; }
  std::uint32_t validators() const { return options_.validators; }
  const NetworkOptions& options() const { return options_; }
  bool is_up(NodeId v) const { return up_[v] != 0; }
  std::uint32_t region(NodeId v) const { return region_[v]; }
  const std::vector<NodeId>& neighbours(NodeId v) const { return nbr_[v]; }
  std::size_t links() const { return links_.size(); }
  // Mean latency (ms) and bandwidth (bit/s) of the directed link u -> v (must be adjacent).
  double link_latency_ms(NodeId u, NodeId v) const;
  double link_bandwidth_bps(NodeId u, NodeId v) const;
  // A node's own upload and download capacity (bit/s): its class's, or its region's.
  double upload_bps(NodeId v) const { return up_bps_[v]; }
  double download_bps(NodeId v) const { return down_bps_[v]; }

  // Gossip flood from `origin` with duplicate suppression: every node relays a message once,
  // to every neighbour except the one it came from, after relay_delay.
  GossipId broadcast(NodeId origin, const Message& m);
  // Relays a held gossip message from `at` to all its neighbours (see Receiver::on_gossip).
  void relay(NodeId at, GossipId g);
  bool seen(GossipId g, NodeId v) const;
  std::uint32_t reached(GossipId g) const;
  const Message& gossip_message(GossipId g) const;
  // Time from broadcast until 50 %, 90 %, 100 % of all nodes had the message; SimTime::max()
  // if that share was never reached.
  core::SimTime propagation(GossipId g, int percent) const;
  // Frees the per-node bitmap of a finished gossip (propagation figures stay).
  void release(GossipId g);

  // Unicast along the shortest path by mean link latency (Dijkstra, Boost.Graph); every hop is
  // a link transmission. Nothing is sent if `from` is down; from == to delivers at once.
  void send(NodeId from, NodeId to, const Message& m);
  // Next hop from `at` towards `dest` (at != dest).
  NodeId next_hop(NodeId at, NodeId dest);

  const NetStats& stats() const { return stats_; }

 private:
  struct Link {
    NodeId from, to;
    double mean_ms;
    double bps;
    core::SimTime busy_until;
    core::Rng rng;  // the link's own stream: Rng(seed, "net.latency", link id)
  };
  // A message on one link (or a relay waiting for its processing delay), carried inside its
  // engine event. Gossip needs nothing more (the message lives in gossips_); a unicast message's
  // body and destination wait in the pending_ slab, one entry for all its hops.
  struct Hop {
    GossipId gossip = kNone;
    std::uint32_t slot = kNone;  // pending_ entry of a unicast message
    NodeId from = 0, to = 0;
  };
  struct Pending {
    Message msg;
    NodeId dest = 0;
  };
  struct Gossip {
    Message msg;
    core::SimTime start;
    std::uint32_t reached = 0;
    core::SimTime t50 = core::SimTime::max(), t90 = core::SimTime::max(),
                  t100 = core::SimTime::max();
    std::vector<std::uint8_t> seen;  // 0, kReceived, or kRequested (announce mode)
  };
  static constexpr std::uint8_t kReceived = 1, kRequested = 2;

  std::uint32_t alloc(const Pending& p);
  std::uint32_t link_id(NodeId u, NodeId v) const;
  void transmit(std::uint32_t link, Hop h);
  void arrive(Hop h);
  void drop(Hop h) {
    if (h.slot != kNone) free_.push_back(h.slot);
    unclaim(h);
  }
  // Announce mode: a lost or dropped transfer frees the receiver's request, so a later
  // announcer can serve it.
  void unclaim(Hop h) {
    if (h.gossip != kNone) {
      auto& s = gossips_[h.gossip].seen;
      if (!s.empty() && s[h.to] == kRequested) s[h.to] = 0;
    }
  }
  // Whether node v can act on a message now; a message reaching a down node is counted as
  // dropped.
  bool up_or_count(NodeId v) {
    if (up_[v]) return true;
    ++stats_.dropped_crash;
    return false;
  }
  void relay_now(NodeId at, GossipId g, NodeId exclude);
  void mark_seen(GossipId g, NodeId v);
  // End of the latest active partition that cuts u-v at `now`, or SimTime{} (0) if none.
  core::SimTime cut_until(NodeId u, NodeId v, core::SimTime now) const;

  core::Engine& engine_;
  NetworkOptions options_;
  std::uint64_t seed_;
  std::uint32_t n_;
  Receiver* receiver_ = nullptr;
  std::vector<std::uint32_t> region_;
  std::vector<std::uint8_t> up_;
  std::vector<double> up_bps_, down_bps_;  // per-node capacities (bit/s)
  // Per-node model: when each node's uplink and downlink finish their last reserved transfer.
  std::vector<core::SimTime> up_busy_, down_busy_;
  std::vector<std::vector<NodeId>> nbr_;         // sorted neighbours
  std::vector<std::vector<std::uint32_t>> out_;  // out_[u][i] = link id to nbr_[u][i]
  std::vector<Link> links_;
  std::vector<Pending> pending_;
  std::vector<std::uint32_t> free_;
  std::vector<Gossip> gossips_;
  // routes_[dest][at] = id of the link from `at` towards `dest`; empty until first needed.
  std::vector<std::vector<std::uint32_t>> routes_;
  std::uint32_t route_link(NodeId at, NodeId dest);
  std::vector<std::vector<std::uint8_t>> partition_side_;
  NetStats stats_;
};

}  // namespace ledgerfl::net
