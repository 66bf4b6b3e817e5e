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
    // Transpose sixteen rows at a time: each coordinate's sixteen values fill one cache line of
    // buf (a row-at-a-time scatter writes one float per line and runs twice as slow).
    std::size_t k = 0;
    for (; k + 16 <= n; k += 16) {
      const float* src[16];
      for (std::size_t q = 0; q < 16; ++q) src[q] = rows[k + q] + lo;
      for (std::size_t c = 0; c < w; ++c) {
        float* dst = buf.data() + c * n + k;
        for (std::size_t q = 0; q < 16; ++q) dst[q] = src[q][c];
      }
    }
    for (; k < n; ++k) {
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

// Puts the k-th smallest value of v at v[k], smaller-or-equal ones before it, larger-or-equal
// after it (like std::nth_element, and like it deterministic for a given input order). A
// quickselect with a branch-free Lomuto partition (ninther pivot): on random floats it runs
// several times faster than std::nth_element, whose partition mispredicts about every second
// comparison. After 2 log2(n) + 8 partitions (an adversarial input) it hands the rest of the
// range to std::nth_element (introselect, linear in the worst case).
inline void select_kth(std::span<float> v, std::size_t k) {
  std::size_t lo = 0, hi = v.size(), budget = 8;
  for (std::size_t m = v.size(); m > 1; m >>= 1) budget += 2;
  float* a = v.data();
  while (hi - lo > 32 && budget-- > 0) {
    // Pivot: Tukey's ninther of nine evenly spaced values. (A sampled quantile at k's rank,
    // Floyd & Rivest style, measured 1.6x slower here: a pivot just off k leaves the far side.)
    auto med3 = [](float x, float y, float z) {
      return std::max(std::min(x, y), std::min(std::max(x, y), z));
    };
    const std::size_t e = (hi - lo) / 9;
    const float p = med3(med3(a[lo], a[lo + e], a[lo + 2 * e]),
                         med3(a[lo + 3 * e], a[lo + 4 * e], a[lo + 5 * e]),
                         med3(a[lo + 6 * e], a[lo + 7 * e], a[hi - 1]));
    std::size_t i = lo;
    for (std::size_t j = lo; j < hi; ++j) {  // [lo, i) < p <= [i, j]
      const float e = a[j];
      const bool less = e < p;
      a[j] = a[i];
      a[i] = e;
      i += less;
    }
    if (i == lo) {  // p is the range's minimum: split off the values equal to it
      for (std::size_t j = lo; j < hi; ++j) {
        const float e = a[j];
        const bool eq = !(p < e);
        a[j] = a[i];
        a[i] = e;
        i += eq;
      }
      if (k < i) return;  // a[lo, i) all equal p, and a[k] is one of them
    }
    (k < i ? hi : lo) = i;
  }
  std::nth_element(a + lo, a + k, a + hi);
}

// Median of v (the mean of the two middle values for an even count); reorders v.
inline float median_in_place(std::span<float> v) {
  const std::size_t h = v.size() / 2;
  select_kth(v, h);
  if (v.size() % 2 == 1) return v[h];
  const float lo = *std::max_element(v.begin(), v.begin() + h);
  return static_cast<float>(0.5 * (double(lo) + double(v[h])));
}

// Coordinate-wise median of the rows (Yin et al. 2018); also the robust centre the pairwise
// rules subtract before their Gram matrix (see pairwise.hpp).
inline void coordinate_median(std::span<const float* const> rows, std::span<float> out) {
  coordinate_wise(rows, out, [](std::span<float> v) { return median_in_place(v); });
}

// The centre the pairwise rules subtract before their Gram matrix (pairwise.hpp): the
// coordinate-wise median of at most 63 rows evenly spaced in the given (canonical) order. It
// only conditions the float products (distances do not depend on it), so a subsample suffices;
// a median resists the outliers that would drag a mean far from the honest cluster.
inline std::vector<float> gram_center(std::span<const float* const> rows, std::size_t dim) {
  constexpr std::size_t kMax = 63;
  std::vector<const float*> pick;
  const std::size_t n = rows.size();
  if (n <= kMax)
    pick.assign(rows.begin(), rows.end());
  else
    for (std::size_t t = 0; t < kMax; ++t) pick.push_back(rows[t * n / kMax]);
  std::vector<float> c(dim);
  coordinate_median(pick, c);
  return c;
}

}  // namespace ledgerfl::fl::aggs
