// Coordinate-wise kernel of the robust rules (median, trimmed mean, Bulyan's second stage).
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "sim/core/parallel.hpp"

namespace ledgerfl::fl::aggs {

#if defined(__AVX512F__)
// dst[j * stride + q] = src[q][c + j] for q, j in [0, 16): the 16 x 16 tile of floats in registers
// (unpack pairs of rows, shuffle into 4-row groups per 128-bit lane, then gather the lanes).
inline void transpose_16x16(const float* const* src, std::size_t c, float* dst,
                            std::size_t stride) {
  __m512 u[4][4];  // u[g][m], 128-bit lane L: column 4L + m of rows 4g .. 4g + 3
  for (int g = 0; g < 4; ++g) {
    const __m512 r0 = _mm512_loadu_ps(src[4 * g] + c), r1 = _mm512_loadu_ps(src[4 * g + 1] + c);
    const __m512 r2 = _mm512_loadu_ps(src[4 * g + 2] + c), r3 = _mm512_loadu_ps(src[4 * g + 3] + c);
    const __m512 lo01 = _mm512_unpacklo_ps(r0, r1), hi01 = _mm512_unpackhi_ps(r0, r1);
    const __m512 lo23 = _mm512_unpacklo_ps(r2, r3), hi23 = _mm512_unpackhi_ps(r2, r3);
    u[g][0] = _mm512_shuffle_ps(lo01, lo23, 0x44);
    u[g][1] = _mm512_shuffle_ps(lo01, lo23, 0xEE);
    u[g][2] = _mm512_shuffle_ps(hi01, hi23, 0x44);
    u[g][3] = _mm512_shuffle_ps(hi01, hi23, 0xEE);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512 x0 = _mm512_shuffle_f32x4(u[0][m], u[1][m], 0x88);
    const __m512 x1 = _mm512_shuffle_f32x4(u[0][m], u[1][m], 0xDD);
    const __m512 y0 = _mm512_shuffle_f32x4(u[2][m], u[3][m], 0x88);
    const __m512 y1 = _mm512_shuffle_f32x4(u[2][m], u[3][m], 0xDD);
    _mm512_storeu_ps(dst + (m + 0) * stride, _mm512_shuffle_f32x4(x0, y0, 0x88));
    _mm512_storeu_ps(dst + (m + 8) * stride, _mm512_shuffle_f32x4(x0, y0, 0xDD));
    _mm512_storeu_ps(dst + (m + 4) * stride, _mm512_shuffle_f32x4(x1, y1, 0x88));
    _mm512_storeu_ps(dst + (m + 12) * stride, _mm512_shuffle_f32x4(x1, y1, 0xDD));
  }
}
#endif

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
    // buf (a row-at-a-time scatter writes one float per line and runs twice as slow); with
    // AVX-512, 16 x 16 tiles go through registers (transpose_16x16).
    std::size_t k = 0;
    for (; k + 16 <= n; k += 16) {
      const float* src[16];
      for (std::size_t q = 0; q < 16; ++q) src[q] = rows[k + q] + lo;
      std::size_t c = 0;
#if defined(__AVX512F__)
      for (; c + 16 <= w; c += 16) transpose_16x16(src, c, buf.data() + c * n + k, n);
#endif
      for (; c < w; ++c) {
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

// ---- Out-of-place selection (median, trimmed mean) --------------------------------------------
// The k-th smallest value of a column is an order statistic: every correct algorithm returns
// the same float, so the rules built on kth_smallest give the same bits whatever the path
// (AVX-512 or scalar) and whatever select_kth did before.

// Scratch of kth_smallest: three buffers of n + 16 floats (the vector stores write up to 16
// past their count). One per thread.
struct SelectScratch {
  std::vector<float> buf[3];
  void reserve(std::size_t n) {
    for (auto& b : buf)
      if (b.size() < n + 16) b.resize(n + 16);
  }
};

// Copies src[0, m) into lt (the values < p, or <= p if or_equal) and ge (the others), each in
// src order; returns the count in lt. lt and ge need m + 16 floats. With AVX-512, sixteen values
// per step: a mask compare and two register compresses stored whole (a compress straight to
// memory is microcoded on AMD Zen 4 and runs an order of magnitude slower).
inline std::size_t split_at(const float* src, std::size_t m, float p, bool or_equal, float* lt,
                            float* ge) {
  std::size_t nl = 0, ng = 0, i = 0;
#if defined(__AVX512F__)
  const __m512 pv = _mm512_set1_ps(p);
  for (; i + 16 <= m; i += 16) {
    const __m512 x = _mm512_loadu_ps(src + i);
    // LT_OQ / LE_OQ: a NaN compares false and goes to ge, as in the scalar tail.
    const __mmask16 lm =
        or_equal ? _mm512_cmp_ps_mask(x, pv, _CMP_LE_OQ) : _mm512_cmp_ps_mask(x, pv, _CMP_LT_OQ);
    _mm512_storeu_ps(lt + nl, _mm512_maskz_compress_ps(lm, x));
    _mm512_storeu_ps(ge + ng, _mm512_maskz_compress_ps(static_cast<__mmask16>(~lm), x));
    const auto c = static_cast<std::size_t>(__builtin_popcount(lm));
    nl += c;
    ng += 16 - c;
  }
#endif
  for (; i < m; ++i) {
    const float x = src[i];
    const bool l = or_equal ? x <= p : x < p;
    lt[nl] = x;
    ge[ng] = x;
    nl += l;
    ng += !l;
  }
  return nl;
}

// Tukey's ninther of nine evenly spaced values of src[0, m), m >= 9.
inline float ninther(const float* src, std::size_t m) {
  auto med3 = [](float x, float y, float z) {
    return std::max(std::min(x, y), std::min(std::max(x, y), z));
  };
  const std::size_t e = m / 9;
  return med3(med3(src[0], src[e], src[2 * e]), med3(src[3 * e], src[4 * e], src[5 * e]),
              med3(src[6 * e], src[7 * e], src[m - 1]));
}

// The k-th smallest (0-based) of v, which is left unchanged. Quickselect out of place: each
// step splits the live range around Tukey's ninther into two of the scratch buffers (the third
// holds the live range, or the input on the first step) and keeps the side holding rank k; a
// pivot that is the range's minimum splits off the values equal to it, so ties end the search.
// Below 48 values, or after 2 log2(n) + 8 steps (an adversarial input), std::nth_element on a
// copy finishes (introselect, linear in the worst case). On 1,000 random floats one select
// touches about 2.5 n values, 16 per instruction, against n log n / 4 branchy swaps of a
// scalar in-place partition.
inline float kth_smallest(std::span<const float> v, std::size_t k, SelectScratch& s) {
  const std::size_t n = v.size();
  s.reserve(n);
  const float* src = v.data();
  std::size_t m = n, budget = 8;
  for (std::size_t t = n; t > 1; t >>= 1) budget += 2;
  int cur = -1;  // which buffer holds src (-1: the input)
  while (m > 48 && budget-- > 0) {
    const float p = ninther(src, m);
    const int a = cur == 0 ? 1 : 0, b = (cur == 2 || cur == -1) ? 1 : 2;  // the two free ones
    float* lt = s.buf[a].data();
    float* ge = s.buf[b].data();
    std::size_t nl = split_at(src, m, p, false, lt, ge);
    if (nl == 0) {  // p is the minimum: [values == p | values > p]
      nl = split_at(src, m, p, true, lt, ge);
      if (k < nl) return p;
      src = ge, m -= nl, k -= nl, cur = b;
    } else if (k < nl) {
      src = lt, m = nl, cur = a;
    } else {
      src = ge, m -= nl, k -= nl, cur = b;
    }
  }
  float* w = s.buf[cur == 0 ? 1 : 0].data();
  std::copy(src, src + m, w);
  std::nth_element(w, w + k, w + m);
  return w[k];
}

// The k1-th and k2-th smallest of v (k1 <= k2), v unchanged. One split around the ninther
// usually falls between the two ranks (a trimmed mean's b and n - 1 - b): each rank is then
// selected in its own half, which saves a pass over the whole column. t is a second scratch.
inline std::pair<float, float> kth_pair(std::span<const float> v, std::size_t k1, std::size_t k2,
                                        SelectScratch& s, SelectScratch& t) {
  const std::size_t n = v.size();
  if (n > 48) {
    s.reserve(n);
    float* lt = s.buf[0].data();
    float* ge = s.buf[1].data();
    const std::size_t nl = split_at(v.data(), n, ninther(v.data(), n), false, lt, ge);
    if (k1 < nl && nl <= k2)
      return {kth_smallest({lt, nl}, k1, t), kth_smallest({ge, n - nl}, k2 - nl, t)};
  }
  return {kth_smallest(v, k1, s), kth_smallest(v, k2, s)};
}

// Median of v (the mean of the two middle values for an even count, in double); v unchanged.
inline float median_of(std::span<const float> v, SelectScratch& s) {
  const std::size_t n = v.size(), h = n / 2;
  const float hi = kth_smallest(v, h, s);
  if (n % 2 == 1) return hi;
  // The (h-1)-th smallest: hi itself if fewer than h values lie below hi, else their maximum.
  std::size_t below = 0, i = 0;
  float lo = -std::numeric_limits<float>::infinity();
#if defined(__AVX512F__)
  const __m512 hv = _mm512_set1_ps(hi);
  __m512 mx = _mm512_set1_ps(lo);
  for (; i + 16 <= n; i += 16) {
    const __m512 x = _mm512_loadu_ps(v.data() + i);
    const __mmask16 m = _mm512_cmp_ps_mask(x, hv, _CMP_LT_OQ);
    below += static_cast<std::size_t>(__builtin_popcount(m));
    mx = _mm512_mask_max_ps(mx, m, mx, x);
  }
  lo = _mm512_reduce_max_ps(mx);
#endif
  for (; i < n; ++i) {
    const float x = v[i];
    below += x < hi;
    lo = x < hi ? std::max(lo, x) : lo;
  }
  if (below < h) lo = hi;
  return static_cast<float>(0.5 * (double(lo) + double(hi)));
}

// Mean of the values of ranks [b, n - b) of v (v unchanged): a = the b-th smallest, c = the
// (n-1-b)-th; the values strictly between enter with their sum in a fixed order (element i into
// double lane i mod 8, lanes added pairwise at the end: the same bits from the vector and the
// scalar path), the ties at a and c by their count in the window.
inline float trimmed_mean_of(std::span<const float> v, std::size_t b, SelectScratch& s) {
  const std::size_t n = v.size(), w = n - 2 * b;
  if (w == 1) return kth_smallest(v, b, s);
  thread_local SelectScratch t;
  const auto [a, c] = kth_pair(v, b, n - 1 - b, s, t);
  if (!(a < c)) return a;  // the window holds one value (or a NaN poisoned the column)
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t between = 0, below_or_a = 0, i = 0;
  const float* x = v.data();
#if defined(__AVX512F__)
  __m512d acc = _mm512_setzero_pd();
  const __m512 av = _mm512_set1_ps(a), cv = _mm512_set1_ps(c);
  for (; i + 16 <= n; i += 16) {
    const __m512 y = _mm512_loadu_ps(x + i);
    const __mmask16 in =
        _mm512_cmp_ps_mask(y, av, _CMP_GT_OQ) & _mm512_cmp_ps_mask(y, cv, _CMP_LT_OQ);
    below_or_a +=
        static_cast<std::size_t>(__builtin_popcount(_mm512_cmp_ps_mask(y, av, _CMP_LE_OQ)));
    between += static_cast<std::size_t>(__builtin_popcount(in));
    const __m512 z = _mm512_maskz_mov_ps(in, y);
    // Lanes 0-7 take elements i..i+7, then i+8..i+15: element j into lane j mod 8, in order.
    acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(z)));
    acc = _mm512_add_pd(
        acc, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1))));
  }
  _mm512_storeu_pd(lane, acc);
#endif
  for (; i < n; ++i) {
    const float y = x[i];
    below_or_a += y <= a;
    if (a < y && y < c) lane[i % 8] += y, ++between;
  }
  const double sum =
      ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  // Ranks of a: [.., below_or_a); those >= b are in the window. The rest of the window is c.
  const std::size_t na = below_or_a - b, nc = w - between - na;
  return static_cast<float>((sum + double(na) * a + double(nc) * c) / static_cast<double>(w));
}

// Coordinate-wise median of the rows (Yin et al. 2018); also the robust centre the pairwise
// rules subtract before their Gram matrix (see pairwise.hpp).
inline void coordinate_median(std::span<const float* const> rows, std::span<float> out) {
  coordinate_wise(rows, out, [](std::span<float> v) {
    thread_local SelectScratch s;
    return median_of(v, s);
  });
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
