// AVX-512 register-tiled kernels for dense layers (see gemm.hpp), Eigen fallback elsewhere.
#include "models/nn/detail/gemm.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

#include "models/nn/model.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ledgerfl::nn::detail {

#if defined(__AVX512F__)
namespace {

constexpr int kRows = 8;  // register tile: kRows x (kVecs * 16) floats, 24 accumulators
constexpr int kVecs = 3;

struct Masks {
  __mmask16 m[kVecs];
};

Masks masks_for(int cols) {  // cols in (0, 48]
  Masks s{};
  for (int v = 0; v < kVecs; ++v) {
    const int c = cols - 16 * v;
    s.m[v] = c >= 16 ? __mmask16(0xFFFF) : c <= 0 ? __mmask16(0) : __mmask16((1u << c) - 1u);
  }
  return s;
}

template <int R, int V>
void forward_tile(const float* x, int ldx, int k, const float* w, int ldw, const float* b, float* z,
                  int ldz, const Masks& mk, bool relu) {
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int p = 0; p < k; ++p) {
    const float* wp = w + static_cast<std::ptrdiff_t>(p) * ldw;
    __m512 wv[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) wv[v] = _mm512_maskz_loadu_ps(mk.m[v], wp + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 xb = _mm512_set1_ps(x[static_cast<std::ptrdiff_t>(r) * ldx + p]);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(xb, wv[v], acc[r][v]);
    }
  }
  __m512 bv[V];
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v) bv[v] = _mm512_maskz_loadu_ps(mk.m[v], b + 16 * v);
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) {
      __m512 t = _mm512_add_ps(acc[r][v], bv[v]);
      if (relu) t = _mm512_max_ps(t, zero);
      _mm512_mask_storeu_ps(z + static_cast<std::ptrdiff_t>(r) * ldz + 16 * v, mk.m[v], t);
    }
}

// Sums over the listed samples only: `list` holds the rows i of x whose R columns in this tile
// are not all zero (input pixels are exactly 0 in ~28% of 8-pixel blocks of Fashion-MNIST, so the
// first layer's update skips that share of its work; zeros contribute nothing to the sum).
template <int R, int V>
void update_tile(float* c, const float* c_in, int ldc, const float* x, int ldx, const float* d,
                 int ldd, const int* list, int count, float alpha, const Masks& mk) {
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int q = 0; q < count; ++q) {
    const int i = list[q];
    const float* di = d + static_cast<std::ptrdiff_t>(i) * ldd;
    const float* xi = x + static_cast<std::ptrdiff_t>(i) * ldx;
    __m512 dv[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) dv[v] = _mm512_maskz_loadu_ps(mk.m[v], di + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 xb = _mm512_set1_ps(xi[r]);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(xb, dv[v], acc[r][v]);
    }
  }
  const __m512 a = _mm512_set1_ps(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) {
      const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(r) * ldc + 16 * v;
      float* cp = c + at;
      const __m512 t =
          c_in != nullptr ? _mm512_fmadd_ps(a, acc[r][v], _mm512_maskz_loadu_ps(mk.m[v], c_in + at))
                          : _mm512_mul_ps(a, acc[r][v]);
      _mm512_mask_storeu_ps(cp, mk.m[v], t);
    }
}

// Dispatch on the tile's row count (1..8) and vector count (1..3).
template <template <int, int> class F, class... Args>
void dispatch(int rows, int vecs, Args&&... args) {
  auto by_vecs = [&](auto r) {
    constexpr int R = decltype(r)::value;
    switch (vecs) {
      case 1:
        F<R, 1>::run(args...);
        break;
      case 2:
        F<R, 2>::run(args...);
        break;
      default:
        F<R, 3>::run(args...);
        break;
    }
  };
  switch (rows) {
    case 1:
      by_vecs(std::integral_constant<int, 1>{});
      break;
    case 2:
      by_vecs(std::integral_constant<int, 2>{});
      break;
    case 3:
      by_vecs(std::integral_constant<int, 3>{});
      break;
    case 4:
      by_vecs(std::integral_constant<int, 4>{});
      break;
    case 5:
      by_vecs(std::integral_constant<int, 5>{});
      break;
    case 6:
      by_vecs(std::integral_constant<int, 6>{});
      break;
    case 7:
      by_vecs(std::integral_constant<int, 7>{});
      break;
    default:
      by_vecs(std::integral_constant<int, 8>{});
      break;
  }
}

template <int R, int V>
struct ForwardTile {
  template <class... A>
  static void run(A&&... a) {
    forward_tile<R, V>(a...);
  }
};
template <int R, int V>
struct UpdateTile {
  template <class... A>
  static void run(A&&... a) {
    update_tile<R, V>(a...);
  }
};

}  // namespace

void dense_forward(const float* x, int n, int k, const float* w, int m, const float* b, float* z,
                   bool relu) {
  for (int j = 0; j < m; j += 16 * kVecs) {
    const int cols = std::min(16 * kVecs, m - j);
    const Masks mk = masks_for(cols);
    const int vecs = (cols + 15) / 16;
    // Balanced row blocks (10 rows -> 5 + 5, not 8 + 2): a thin tile is load-bound.
    const int blocks = (n + kRows - 1) / kRows;
    for (int bi = 0, i = 0; bi < blocks; ++bi) {
      const int rows = (n - i) / (blocks - bi) + ((n - i) % (blocks - bi) != 0 ? 1 : 0);
      dispatch<ForwardTile>(rows, vecs, x + static_cast<std::ptrdiff_t>(i) * k, k, k, w + j, m,
                            b + j, z + static_cast<std::ptrdiff_t>(i) * m + j, m, mk, relu);
      i += rows;
    }
  }
}

void dense_weight_update(float* c, const float* c_in, int k, int m, const float* x, const float* d,
                         int n, float alpha) {
  constexpr int kMaxList = 256;  // samples per pass (stack list); larger batches accumulate
  int list[kMaxList];
  for (int i0 = 0; i0 < n; i0 += kMaxList) {
    const int chunk = std::min(kMaxList, n - i0);
    const float* xc = x + static_cast<std::ptrdiff_t>(i0) * k;
    const float* dc = d + static_cast<std::ptrdiff_t>(i0) * m;
    const float* cin = i0 == 0 ? c_in : c;  // later chunks accumulate onto the first
    for (int p = 0; p < k; p += kRows) {
      const int rows = std::min(kRows, k - p);
      const __mmask8 lanes = static_cast<__mmask8>((1u << rows) - 1u);
      int count = 0;
      for (int i = 0; i < chunk; ++i) {  // branch-free list of rows with a nonzero (or NaN) entry
        const __m256 v = _mm256_maskz_loadu_ps(lanes, xc + static_cast<std::ptrdiff_t>(i) * k + p);
        list[count] = i;
        count += _mm256_mask_cmp_ps_mask(lanes, v, _mm256_setzero_ps(), _CMP_NEQ_UQ) != 0;
      }
      const std::ptrdiff_t row0 = static_cast<std::ptrdiff_t>(p) * m;
      for (int j = 0; j < m; j += 16 * kVecs) {
        const int cols = std::min(16 * kVecs, m - j);
        const Masks mk = masks_for(cols);
        const int vecs = (cols + 15) / 16;
        dispatch<UpdateTile>(rows, vecs, c + row0 + j, cin != nullptr ? cin + row0 + j : nullptr, m,
                             xc + p, k, dc + j, m, list, count, alpha, mk);
      }
    }
  }
}

#else  // portable fallback: Eigen

void dense_forward(const float* x, int n, int k, const float* w, int m, const float* b, float* z,
                   bool relu) {
  Eigen::Map<Matrix> zm(z, n, m);
  zm.noalias() = Eigen::Map<const Matrix>(x, n, k) * Eigen::Map<const Matrix>(w, k, m);
  Eigen::Map<const Eigen::RowVectorXf> bv(b, m);
  for (int i = 0; i < n; ++i) {
    if (relu)
      zm.row(i) = (zm.row(i) + bv).cwiseMax(0.0f);
    else
      zm.row(i) += bv;
  }
}

void dense_weight_update(float* c, const float* c_in, int k, int m, const float* x, const float* d,
                         int n, float alpha) {
  Eigen::Map<Matrix> cm(c, k, m);
  const Eigen::Map<const Matrix> xm(x, n, k), dm(d, n, m);
  if (c_in != nullptr) {
    if (c_in != c) cm = Eigen::Map<const Matrix>(c_in, k, m);
    cm.noalias() += alpha * (xm.transpose() * dm);
  } else {
    cm.noalias() = alpha * (xm.transpose() * dm);
  }
}

#endif

}  // namespace ledgerfl::nn::detail
