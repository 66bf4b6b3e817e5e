// Overlay topologies: an undirected simple graph over node ids, and its generators.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ledgerfl::net {

using NodeId = std::uint32_t;

// Undirected simple graph: edges stored once with u < v, no self loops, no duplicates.
struct Graph {
  std::uint32_t n = 0;
  std::vector<std::pair<NodeId, NodeId>> edges;

  // Adjacency lists (neighbours ascending), built on demand.
  std::vector<std::vector<NodeId>> adjacency() const;
  bool connected() const;  // Boost.Graph connected_components
  std::size_t degree_sum() const { return 2 * edges.size(); }
};

// Sorts, removes duplicates and self loops (every generator ends with this).
void normalize(Graph& g);

// Generators. All draws come from core::Rng(seed, "net.topology", ...) so a graph depends only
// on (seed, parameters). Generators that can produce a disconnected graph keep it as is; the
// network builder rejects disconnected overlays with a clear error.
Graph complete_graph(std::uint32_t n);
// Random d-regular graph, pairing model with restarts (Bollobas 1980); n*d must be even, d < n.
Graph random_regular(std::uint32_t n, std::uint32_t d, std::uint64_t seed);
// G(n, p) via Boost.Graph's sorted_erdos_renyi_iterator (Batagelj & Brandes 2005 skipping).
Graph erdos_renyi(std::uint32_t n, double p, std::uint64_t seed);
// Preferential attachment, m edges per new node (Barabasi & Albert 1999); seed clique of m+1.
Graph barabasi_albert(std::uint32_t n, std::uint32_t m, std::uint64_t seed);
// Small world: ring lattice with k neighbours, rewired with probability beta, via Boost.Graph's
// small_world_iterator (Watts & Strogatz 1998).
Graph watts_strogatz(std::uint32_t n, std::uint32_t k, double beta, std::uint64_t seed);
// "u v" per line ('#' comments); throws std::runtime_error naming the line on bad input or ids
// >= n.
Graph edge_list_file(const std::string& path, std::uint32_t n);

}  // namespace ledgerfl::net
