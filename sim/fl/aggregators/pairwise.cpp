// Blocked Gram matrix of the round's updates (see pairwise.hpp).
#include "sim/fl/aggregators/pairwise.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "sim/core/parallel.hpp"

namespace ledgerfl::fl::aggs {

std::vector<double> gram(std::span<const float* const> rows, std::size_t dim,
                         std::span<const float> center) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const std::size_t n = rows.size();
  std::vector<double> g(n * n, 0.0);
  if (n == 0) return g;
  const std::size_t tiles = (n + kGramTile - 1) / kGramTile;
  struct Tile {
    std::size_t i0, j0, bi, bj;
  };
  std::vector<Tile> lower;
  for (std::size_t ti = 0; ti < tiles; ++ti)
    for (std::size_t tj = 0; tj <= ti; ++tj) {
      const std::size_t i0 = ti * kGramTile, j0 = tj * kGramTile;
      lower.push_back({i0, j0, std::min(kGramTile, n - i0), std::min(kGramTile, n - j0)});
    }
  std::vector<float> pack(n * std::min(kGramBlock, dim));
  std::vector<RowMat> prod(lower.size());
  for (std::size_t lo = 0; lo < dim; lo += kGramBlock) {
    const std::size_t w = std::min(kGramBlock, dim - lo);
    core::parallel_for_chunks(n, 16, [&](std::size_t a, std::size_t b) {
      for (std::size_t k = a; k < b; ++k) {
        float* dst = pack.data() + k * w;
        const float* src = rows[k] + lo;
        if (center.empty())
          std::copy(src, src + w, dst);
        else
          for (std::size_t i = 0; i < w; ++i) dst[i] = src[i] - center[lo + i];
      }
    });
    const Eigen::Map<const RowMat> u(pack.data(), static_cast<Eigen::Index>(n),
                                     static_cast<Eigen::Index>(w));
    core::parallel_for(lower.size(), [&](std::size_t t) {
      const Tile& tl = lower[t];
      RowMat& p = prod[t];
      p.resize(static_cast<Eigen::Index>(tl.bi), static_cast<Eigen::Index>(tl.bj));
      p.noalias() =
          u.middleRows(static_cast<Eigen::Index>(tl.i0), static_cast<Eigen::Index>(tl.bi)) *
          u.middleRows(static_cast<Eigen::Index>(tl.j0), static_cast<Eigen::Index>(tl.bj))
              .transpose();
      for (std::size_t i = 0; i < tl.bi; ++i)
        for (std::size_t j = 0; j < tl.bj; ++j)
          g[(tl.i0 + i) * n + tl.j0 + j] +=
              static_cast<double>(p(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
    });
  }
  // Mirror the lower triangle (the diagonal tiles' upper halves are overwritten by their own
  // lower halves, so G is exactly symmetric).
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < i; ++j) g[j * n + i] = g[i * n + j];
  return g;
}

std::vector<double> squared_distances(const std::vector<double>& g, std::size_t n) {
  std::vector<double> d(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (i != j) d[i * n + j] = std::max(0.0, g[i * n + i] + g[j * n + j] - 2.0 * g[i * n + j]);
  return d;
}

std::vector<double> cosines(const std::vector<double>& g, std::size_t n) {
  std::vector<double> c(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const double a = g[i * n + i], b = g[j * n + j];
      if (a <= 0 || b <= 0)
        c[i * n + j] = (a <= 0 && b <= 0) ? 1.0 : 0.0;
      else
        c[i * n + j] = std::clamp(g[i * n + j] / std::sqrt(a * b), -1.0, 1.0);
    }
  return c;
}

}  // namespace ledgerfl::fl::aggs
