// Krum scores shared by Krum, Multi-Krum and Bulyan (Blanchard et al. 2017, Sec. 4).
#pragma once

#include <cstddef>
#include <vector>

namespace ledgerfl::fl::aggs {

// score[i] = sum of the n - f - 2 smallest d[i][j], j != i (d: n x n squared distances,
// row-major), summed in ascending order; the neighbour count is clamped to [1, n - 1].
std::vector<double> krum_scores(const std::vector<double>& d, std::size_t n, std::size_t f);
// Indices of the m lowest scores (ties: lower index first), ascending.
std::vector<std::size_t> lowest(const std::vector<double>& score, std::size_t m);

}  // namespace ledgerfl::fl::aggs
