// Keyed random streams: every draw comes from a generator derived from (seed, purpose, entity,
// round), never from a shared generator (DESIGN.md, "Determinism"; STYLE.md rule 4).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace ledgerfl::core {

// 64-bit FNV-1a of a purpose string; used to turn names like "partition" into stream keys.
constexpr std::uint64_t purpose_id(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Counter-free stream: xoshiro256** whose 256-bit state is filled by SplitMix64 from a key that
// mixes (seed, purpose, entity, round) through a strong 64-bit finaliser. Two streams with any
// key differing are independent for simulation purposes; drawing from one never shifts another.
// The distributions below are our own code (not <random>'s), so results are identical across
// standard libraries.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t purpose, std::uint64_t entity = 0, std::uint64_t round = 0);
  Rng(std::uint64_t seed, std::string_view purpose, std::uint64_t entity = 0,
      std::uint64_t round = 0)
      : Rng(seed, purpose_id(purpose), entity, round) {}

  using result_type = std::uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() { return next(); }

  std::uint64_t next();
  double uniform();                      // [0, 1), 53 random bits
  double uniform(double lo, double hi);  // [lo, hi)
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n), unbiased (Lemire)
  bool bernoulli(double p);
  double normal();  // N(0, 1), Marsaglia polar method
  double normal(double mean, double sd) { return mean + sd * normal(); }
  double lognormal(double mu, double sigma);
  double exponential(double rate);            // mean 1/rate
  double gamma(double shape);                 // Gamma(shape, 1), Marsaglia & Tsang 2000
  double pareto(double scale, double shape);  // x_m = scale, alpha = shape
  // Fisher-Yates shuffle of any random-access range.
  template <class T>
  void shuffle(std::span<T> v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      std::size_t j = static_cast<std::size_t>(below(i));
      std::swap(v[i - 1], v[j]);
    }
  }
  // Dirichlet(alpha) sample into out (sums to 1).
  void dirichlet(double alpha, std::span<double> out);

 private:
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The key mixer used by Rng, exposed for hashing keys elsewhere (e.g. per-client seeds).
std::uint64_t mix_key(std::uint64_t seed, std::uint64_t purpose, std::uint64_t entity,
                      std::uint64_t round);

}  // namespace ledgerfl::core
