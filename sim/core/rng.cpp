// Keyed random streams (xoshiro256** seeded by SplitMix64 from a mixed key) and distributions.
#include "sim/core/rng.hpp"

#include <cmath>

namespace ledgerfl::core {

namespace {
// SplitMix64 step (Steele, Lea & Flood 2014): used to expand a 64-bit key into state words.
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
// Strong 64-bit finaliser (the "moremur" variant of the MurmurHash3 fmix constants).
std::uint64_t fmix(std::uint64_t z) {
  z ^= z >> 27;
  z *= 0x3C79AC492BA7B653ULL;
  z ^= z >> 33;
  z *= 0x1C69B3F74AC4AE35ULL;
  z ^= z >> 27;
  return z;
}
inline std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

std::uint64_t mix_key(std::uint64_t seed, std::uint64_t purpose, std::uint64_t entity,
                      std::uint64_t round) {
  // Each component passes through the finaliser with a distinct odd multiplier, so that
  // permuting (entity, round) values gives different keys.
  std::uint64_t h = fmix(seed ^ 0x6a09e667f3bcc909ULL);
  h = fmix(h ^ (purpose * 0x9e3779b97f4a7c15ULL));
  h = fmix(h ^ (entity * 0xc2b2ae3d27d4eb4fULL + 0x165667b19e3779f9ULL));
  h = fmix(h ^ (round * 0xd6e8feb86659fd93ULL + 0x27d4eb2f165667c5ULL));
  return h;
}

Rng::Rng(std::uint64_t seed, std::uint64_t purpose, std::uint64_t entity, std::uint64_t round) {
  std::uint64_t x = mix_key(seed, purpose, entity, round);
  for (auto& w : s_) w = splitmix64(x);
}

std::uint64_t Rng::next() {
  // xoshiro256** (Blackman & Vigna 2018).
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Rng::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Lemire 2019, "Fast random integer generation in an interval" (unbiased).
  if (n == 0) return 0;
  __extension__ using u128 = unsigned __int128;  // GCC/Clang extension, silences -Wpedantic
  u128 m = static_cast<u128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<u128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

bool Rng::bernoulli(double p) {
  return uniform() < p;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

double Rng::lognormal(double mu, double sigma) {
  return std::exp(mu + sigma * normal());
}

double Rng::exponential(double rate) {
  // 1 - U is in (0, 1], so the log is finite.
  return -std::log(1.0 - uniform()) / rate;
}

double Rng::gamma(double shape) {
  // Marsaglia & Tsang 2000, "A simple method for generating gamma variables"; for shape < 1
  // use Gamma(shape + 1) * U^(1/shape).
  if (shape < 1.0) {
    const double g = gamma(shape + 1.0);
    return g * std::pow(1.0 - uniform(), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double Rng::pareto(double scale, double shape) {
  return scale / std::pow(1.0 - uniform(), 1.0 / shape);
}

void Rng::dirichlet(double alpha, std::span<double> out) {
  double sum = 0.0;
  for (auto& x : out) sum += (x = gamma(alpha));
  if (sum <= 0.0) {  // all underflowed (tiny alpha): put the mass on one uniform coordinate
    for (auto& x : out) x = 0.0;
    if (!out.empty()) out[below(out.size())] = 1.0;
    return;
  }
  for (auto& x : out) x /= sum;
}

}  // namespace ledgerfl::core
