// Pairwise kernel of the robust rules: the Gram matrix G = U U^T of the round's updates, from
// which squared distances (d_ij = G_ii + G_jj - 2 G_ij) and cosines follow.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace ledgerfl::fl::aggs {

// G (n x n, row-major, symmetric) of the rows minus `center` (empty = no shift). Distances do not
// change under a shift; subtracting a central point (e.g. the mean) keeps the float products
// away from the cancellation G_ii + G_jj - 2 G_ij suffers when the rows are far from the origin
// but close to each other.
//
// Blocked: the coordinates are cut into fixed blocks of kGramBlock; each block is packed into a
// contiguous n x block float matrix, and every lower tile (kGramTile x kGramTile) of G gets the
// float GEMM product of its two row panels (Eigen, single-threaded inside a task) added in
// double. Tasks are tiles, so every entry's sum runs over the blocks in coordinate order with a
// GEMM whose shape depends only on n and dim: the same bits for any thread count.
inline constexpr std::size_t kGramBlock = 2048;
inline constexpr std::size_t kGramTile = 128;
std::vector<double> gram(std::span<const float* const> rows, std::size_t dim,
                         std::span<const float> center = {});

// Squared distances from a Gram matrix, clamped at 0 (rounding); d_ii = 0.
std::vector<double> squared_distances(const std::vector<double>& g, std::size_t n);
// Cosine similarities from a Gram matrix; a zero row has cosine 1 with another zero row, else 0.
std::vector<double> cosines(const std::vector<double>& g, std::size_t n);

}  // namespace ledgerfl::fl::aggs
