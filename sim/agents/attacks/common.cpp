// Shared pieces of the built-in attacks (see common.hpp).
#include "sim/agents/attacks/common.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string_view>

#include <Eigen/Core>

namespace ledgerfl::agents::attacks {

double inverse_normal_cdf(double p) {
  if (!(p > 0.0)) return -std::numeric_limits<double>::infinity();
  if (!(p < 1.0)) return std::numeric_limits<double>::infinity();
  // Acklam's coefficients (P. J. Acklam, "An algorithm for computing the inverse normal
  // cumulative distribution function", 2003).
  static constexpr std::array<double, 6> a{-3.969683028665376e+01, 2.209460984245205e+02,
                                           -2.759285104469687e+02, 1.383577518672690e+02,
                                           -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr std::array<double, 5> b{-5.447609879822406e+01, 1.615858368580409e+02,
                                           -1.556989798598866e+02, 6.680131188771972e+01,
                                           -1.328068155288572e+01};
  static constexpr std::array<double, 6> c{-7.784894002430293e-03, -3.223964580411365e-01,
                                           -2.400758277161838e+00, -2.549732539343734e+00,
                                           4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr std::array<double, 4> d{7.784695709041462e-03, 3.224671290700398e-01,
                                           2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  auto tail = [&](double q) {
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  };
  double x;
  if (p < p_low) {
    x = tail(std::sqrt(-2.0 * std::log(p)));
  } else if (p <= 1.0 - p_low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    x = -tail(std::sqrt(-2.0 * std::log1p(-p)));
  }
  // One Halley step on f(x) = Phi(x) - p (Acklam's refinement).
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2.0 * M_PI) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

std::vector<double> coordinate_mean(Updates u) {
  if (u.empty()) return {};
  const std::size_t d = u[0].size();
  std::vector<double> m(d, 0.0);
  for (const auto& g : u) {
    if (g.size() != d) throw std::invalid_argument("attack: updates of different lengths");
    for (std::size_t j = 0; j < d; ++j) m[j] += g[j];
  }
  const double inv = 1.0 / static_cast<double>(u.size());
  for (double& x : m) x *= inv;
  return m;
}

std::vector<double> coordinate_std(Updates u, std::span<const double> mean) {
  if (u.empty()) return {};
  std::vector<double> s(mean.size(), 0.0);
  for (const auto& g : u)
    for (std::size_t j = 0; j < s.size(); ++j) {
      const double e = g[j] - mean[j];
      s[j] += e * e;
    }
  const double inv = 1.0 / static_cast<double>(u.size());
  for (double& x : s) x = std::sqrt(x * inv);
  return s;
}

std::vector<double> pairwise_sq_distances_direct(Updates u) {
  const std::size_t k = u.size();
  std::vector<double> out(k * k, 0.0);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = i + 1; j < k; ++j) {
      double s = 0.0;
      for (std::size_t t = 0; t < u[i].size(); ++t) {
        const double e = static_cast<double>(u[i][t]) - u[j][t];
        s += e * e;
      }
      out[i * k + j] = out[j * k + i] = s;
    }
  return out;
}

std::vector<double> centred_gram(Updates u) {
  const std::size_t k = u.size();
  if (k == 0) return {};
  const std::size_t d = u[0].size();
  const std::vector<double> mean = coordinate_mean(u);
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> c(k, d);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < d; ++j)
      c(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
          static_cast<float>(u[i][j] - mean[j]);
  const Eigen::MatrixXf g = c * c.transpose();
  std::vector<double> out(k * k);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j)
      out[i * k + j] = g(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
  return out;
}

std::vector<double> pairwise_sq_distances_gram(Updates u) {
  const std::size_t k = u.size();
  // Centring first keeps G_ii + G_jj - 2 G_ij from cancelling when the updates share a large
  // common component.
  const std::vector<double> g = centred_gram(u);
  std::vector<double> out(k * k, 0.0);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j)
      if (i != j) out[i * k + j] = std::max(0.0, g[i * k + i] + g[j * k + j] - 2.0 * g[i * k + j]);
  return out;
}

std::vector<double> pairwise_sq_distances(Updates u) {
  return u.size() <= kGramThreshold ? pairwise_sq_distances_direct(u)
                                    : pairwise_sq_distances_gram(u);
}

std::size_t krum_select(std::span<const double> dist2, std::size_t m, std::size_t f) {
  if (m == 0) throw std::invalid_argument("krum_select: no updates");
  if (m == 1) return 0;
  const std::size_t nb = std::clamp<std::ptrdiff_t>(
      static_cast<std::ptrdiff_t>(m) - static_cast<std::ptrdiff_t>(f) - 2, 1,
      static_cast<std::ptrdiff_t>(m) - 1);
  std::vector<double> row;
  std::size_t best = 0;
  double best_score = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < m; ++i) {
    row.clear();
    for (std::size_t j = 0; j < m; ++j)
      if (j != i) row.push_back(dist2[i * m + j]);
    std::partial_sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(nb), row.end());
    double s = 0.0;
    for (std::size_t t = 0; t < nb; ++t) s += row[t];
    if (s < best_score) best_score = s, best = i;
  }
  return best;
}

namespace {
// The oracle in closed form: ||mean + gamma p - g_i||^2 = a_i + 2 gamma b_i + gamma^2 c.
struct AgrTerms {
  std::vector<double> a, b;
  double c = 0.0;
  double threshold = 0.0;
};

AgrTerms agr_terms(Updates known, std::span<const double> mean, std::span<const double> p,
                   AgrOracle oracle) {
  AgrTerms t;
  const std::size_t k = known.size();
  t.a.assign(k, 0.0);
  t.b.assign(k, 0.0);
  for (double x : p) t.c += x * x;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < mean.size(); ++j) {
      const double e = mean[j] - known[i][j];
      t.a[i] += e * e;
      t.b[i] += e * p[j];
    }
  const std::vector<double> d2 = pairwise_sq_distances(known);
  for (std::size_t i = 0; i < k; ++i) {
    double row_sum = 0.0, row_max = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      row_sum += d2[i * k + j];
      row_max = std::max(row_max, d2[i * k + j]);
    }
    t.threshold = std::max(t.threshold, oracle == AgrOracle::kMinMax ? row_max : row_sum);
  }
  return t;
}

bool holds(const AgrTerms& t, AgrOracle oracle, double gamma) {
  double agg = 0.0;
  for (std::size_t i = 0; i < t.a.size(); ++i) {
    const double di = t.a[i] + 2.0 * gamma * t.b[i] + gamma * gamma * t.c;
    agg = oracle == AgrOracle::kMinMax ? std::max(agg, di) : agg + di;
  }
  return agg <= t.threshold;
}
}  // namespace

double agr_tailored_gamma(Updates known, std::span<const double> mean, std::span<const double> p,
                          AgrOracle oracle, double gamma_init, double tau) {
  if (known.empty()) return 0.0;
  const AgrTerms t = agr_terms(known, mean, p, oracle);
  if (!(t.c > 0.0)) return 0.0;  // no direction to move in
  double lo = 0.0, hi = gamma_init;
  for (int i = 0; i < 200 && holds(t, oracle, hi); ++i) lo = hi, hi *= 2.0;
  if (holds(t, oracle, hi)) return hi;  // unbounded in practice (cannot happen for k >= 1)
  while (hi - lo > tau) {
    const double mid = 0.5 * (lo + hi);
    (holds(t, oracle, mid) ? lo : hi) = mid;
  }
  return lo;
}

bool agr_oracle_holds(Updates known, std::span<const double> mean, std::span<const double> p,
                      AgrOracle oracle, double gamma) {
  const std::size_t k = known.size();
  const std::vector<double> d2 = pairwise_sq_distances_direct(known);
  double threshold = 0.0, agg = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    double row_sum = 0.0, row_max = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      row_sum += d2[i * k + j];
      row_max = std::max(row_max, d2[i * k + j]);
    }
    threshold = std::max(threshold, oracle == AgrOracle::kMinMax ? row_max : row_sum);
    double di = 0.0;
    for (std::size_t j = 0; j < mean.size(); ++j) {
      const double e = mean[j] + gamma * p[j] - known[i][j];
      di += e * e;
    }
    agg = oracle == AgrOracle::kMinMax ? std::max(agg, di) : agg + di;
  }
  return agg <= threshold;
}

Trigger read_trigger(const scenario::ParamView& p, int input_dim) {
  static constexpr std::string_view kinds[] = {"square", "pattern"};
  static constexpr std::string_view corners[] = {"bottom_right", "bottom_left", "top_right",
                                                 "top_left"};
  const std::string kind = p.choice("trigger", kinds, "square");
  const auto size = p.integer("size", 4, scenario::Bounds::at_least(1));
  const std::string corner = p.choice("position", corners, "bottom_right");
  Trigger t;
  t.value = static_cast<float>(p.number("value", 1.0));
  if (input_dim <= 0) p.fail("size", "the model's input dimension is unknown");
  const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(double(input_dim))));
  const bool image = side * side == input_dim;
  const std::int64_t limit = image ? side : input_dim;
  if (size > limit)
    p.fail("size", "= " + std::to_string(size) + " exceeds the " +
                       (image ? "image side (" + std::to_string(side) + ")"
                              : "input dimension (" + std::to_string(input_dim) + ")"));
  const bool pattern = kind == "pattern";
  if (image) {
    const bool bottom = corner.starts_with("bottom"), right = corner.ends_with("right");
    const std::int64_t r0 = bottom ? side - size : 0, c0 = right ? side - size : 0;
    for (std::int64_t r = 0; r < size; ++r)
      for (std::int64_t c = 0; c < size; ++c)
        if (!pattern || (r + c) % 2 == 0)
          t.pixels.push_back(static_cast<std::uint32_t>((r0 + r) * side + c0 + c));
  } else {
    // A flat feature vector has no corners: the box is its last `size` features.
    for (std::int64_t i = 0; i < size; ++i)
      if (!pattern || i % 2 == 0)
        t.pixels.push_back(static_cast<std::uint32_t>(input_dim - size + i));
  }
  return t;
}

std::vector<scenario::ParamDoc> trigger_docs() {
  return {{"trigger", "string", "\"square\"", "",
           "\"square\" (every pixel of a size x size box) or \"pattern\" (its checkerboard cells)"},
          {"size", "int", "4", "pixels",
           "side of the trigger box (a flat, non-square input uses its last `size` features)"},
          {"value", "float", "1.0", "", "feature value written on the trigger pixels"},
          {"position", "string", "\"bottom_right\"", "",
           "corner of the box: bottom_right, bottom_left, top_right, top_left"}};
}

void poison_rows(std::span<float> features, int dim, std::span<std::int32_t> labels,
                 std::span<const std::uint32_t> pixels, float value, std::int32_t target,
                 double fraction, core::Rng& rng) {
  const std::size_t rows = labels.size();
  if (features.size() != rows * static_cast<std::size_t>(dim))
    throw std::invalid_argument("poison: features are not rows x dim");
  const auto m = std::min<std::size_t>(
      rows, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(rows))));
  std::vector<std::uint32_t> order(rows);
  std::iota(order.begin(), order.end(), 0u);
  for (std::size_t i = 0; i < m; ++i) {  // partial Fisher-Yates: order[0..m) is the sample
    const std::size_t j = i + static_cast<std::size_t>(rng.below(rows - i));
    std::swap(order[i], order[j]);
  }
  for (std::size_t i = 0; i < m; ++i) {
    float* row = features.data() + static_cast<std::size_t>(order[i]) * dim;
    for (std::uint32_t px : pixels) row[px] = value;
    labels[order[i]] = target;
  }
}

void triggered_success_set(const data::Dataset& test, std::span<const std::uint32_t> pixels,
                           float value, std::int32_t target, data::Dataset& out) {
  std::size_t count = 0;
  for (auto y : test.labels) count += y != target;
  out.name = test.name + "/triggered";
  out.num_classes = test.num_classes;
  out.features.resize(static_cast<Eigen::Index>(count), test.features.cols());
  out.labels.assign(count, target);
  Eigen::Index r = 0;
  for (std::size_t i = 0; i < test.size(); ++i) {
    if (test.labels[i] == target) continue;
    out.features.row(r) = test.features.row(static_cast<Eigen::Index>(i));
    for (std::uint32_t px : pixels) out.features(r, px) = value;
    ++r;
  }
}

void TriggerAttack::poison(std::size_t identity, std::size_t num_identities, std::int64_t round,
                           std::span<float> features, int dim, std::span<std::int32_t> labels,
                           core::Rng& rng) const {
  (void)num_identities, (void)round;
  if (dim != input_dim_)
    throw std::invalid_argument(name() + ": rows have dimension " + std::to_string(dim) +
                                ", the trigger was built for " + std::to_string(input_dim_));
  poison_rows(features, dim, labels, pixels_for(identity), trigger_.value, target_,
              poison_fraction_, rng);
}

bool TriggerAttack::success_set(const data::Dataset& test, data::Dataset& out) const {
  if (test.dim() != input_dim_)
    throw std::invalid_argument(name() + ": test set dimension differs from the trigger's");
  triggered_success_set(test, trigger_.pixels, trigger_.value, target_, out);
  return true;
}

std::int32_t read_target(const scenario::ParamView& p, int classes) {
  const auto t = p.integer("target", 0, scenario::Bounds::non_negative());
  if (classes > 0 && t >= classes)
    p.fail("target", "= " + std::to_string(t) + " is not a class (there are " +
                         std::to_string(classes) + ")");
  return static_cast<std::int32_t>(t);
}

double read_poison_fraction(const scenario::ParamView& p) {
  return p.number("poison_fraction", 0.5, scenario::Bounds::probability());
}

std::vector<scenario::ParamDoc> backdoor_docs() {
  auto d = trigger_docs();
  d.push_back({"target", "int", "0", "class", "label the triggered inputs are taught to get"});
  d.push_back({"poison_fraction", "float", "0.5", "",
               "fraction of each identity's rows that get the trigger and the target label"});
  return d;
}

void write_all(std::span<const std::span<float>> mine, std::span<const double> v) {
  for (const auto& m : mine) {
    if (m.size() != v.size()) throw std::invalid_argument("attack: update length mismatch");
    for (std::size_t j = 0; j < v.size(); ++j) m[j] = static_cast<float>(v[j]);
  }
}

}  // namespace ledgerfl::agents::attacks
