// Coordinate-wise kernel of the robust rules (median, trimmed mean, Bulyan's second stage).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "sim/core/parallel.hpp"

namespace ledgerfl::fl::aggs {

// For each block of kCoordBlock coordinates (fixed boundaries, parallel over blocks), gathers the
// rows' values into a contiguous buffer, column by column (buf[c * n + k] = rows[k][lo + c]),
// and calls out[lo + c] = reduce(std::span<float>(buf + c * n, n)) for each coordinate. reduce
// may reorder its span (std::nth_element). The values' order in a span is the rows' order, so
// the result depends only on the rows, never on threads.
inline constexpr std::size_t kCoordBlock = 128;
template <class Reduce>
void coordinate_wise(std::span<const float* const> rows, std::span<float> out, Reduce&& reduce) {
  const std::size_t n = rows.size();
  core::parallel_for_chunks(out.size(), kCoordBlock, [&](std::size_t lo, std::size_t hi) {
    thread_local std::vector<float> buf;
    const std::size_t w = hi - lo;
    buf.resize(w * n);
    for (std::size_t k = 0; k < n; ++k) {
      const float* src = rows[k] + lo;
      for (std::size_t c = 0; c < w; ++c) buf[c * n + k] = src[c];
    }
    for (std::size_t c = 0; c < w; ++c)
      out[lo + c] = reduce(std::span<float>(buf.data() + c * n, n));
  });
}

// Sum of the values of v[from, to) after nth_element put them there, in double, in index order.
inline double sum_range(std::span<const float> v, std::size_t from, std::size_t to) {
  double s = 0;
  for (std::size_t i = from; i < to; ++i) s += v[i];
  return s;
}

// Median of v (the mean of the two middle values for an even count); reorders v.
inline float median_in_place(std::span<float> v) {
  const std::size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + h, v.end());
  if (v.size() % 2 == 1) return v[h];
  const float lo = *std::max_element(v.begin(), v.begin() + h);
  return static_cast<float>(0.5 * (double(lo) + double(v[h])));
}

// Coordinate-wise median of the rows (Yin et al. 2018); also the robust centre the pairwise
// rules subtract before their Gram matrix (see pairwise.hpp).
inline void coordinate_median(std::span<const float* const> rows, std::span<float> out) {
  coordinate_wise(rows, out, [](std::span<float> v) { return median_in_place(v); });
}

}  // namespace ledgerfl::fl::aggs
