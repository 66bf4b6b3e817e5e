// Initialisation schemes (see init.hpp for the laws and their sources).
#include "models/nn/init.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "models/nn/rng.hpp"

namespace ledgerfl::nn {
namespace {

void fill_normal(float* w, std::size_t count, double sd, Xoshiro256& rng) {
  for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<float>(rng.normal() * sd);
}

void fill_uniform(float* w, std::size_t count, double bound, Xoshiro256& rng) {
  for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<float>(rng.uniform(-bound, bound));
}

}  // namespace

std::string_view to_string(InitScheme s) {
  const auto i = static_cast<std::size_t>(s);
  return i < kInitSchemeNames.size() ? kInitSchemeNames[i] : std::string_view("?");
}

std::optional<InitScheme> parse_init_scheme(std::string_view name) {
  for (std::size_t i = 0; i < kInitSchemeNames.size(); ++i)
    if (kInitSchemeNames[i] == name) return static_cast<InitScheme>(i);
  return std::nullopt;
}

void init_layers(std::span<const ParamLayer> layers, InitScheme scheme, std::span<float> params,
                 std::uint64_t seed) {
  std::fill(params.begin(), params.end(), 0.0f);  // zero biases (and anything outside a layer)
  Xoshiro256 rng(seed);
  for (const ParamLayer& l : layers) {
    if (l.weight_offset + l.weight_count > params.size() ||
        l.bias_offset + l.bias_count > params.size() || l.fan_in <= 0 || l.fan_out <= 0)
      throw std::invalid_argument("init_layers: layer outside the parameters or empty fan");
    float* w = params.data() + l.weight_offset;
    float* b = params.data() + l.bias_offset;
    const double fan_in = static_cast<double>(l.fan_in);
    const double fan_out = static_cast<double>(l.fan_out);
    switch (scheme) {
      default:
        throw std::invalid_argument("init_layers: unknown InitScheme");
      case InitScheme::kHeNormal:
        fill_normal(w, l.weight_count, std::sqrt(2.0 / fan_in), rng);
        break;
      case InitScheme::kTorchDefault: {
        const double bound = 1.0 / std::sqrt(fan_in);
        fill_uniform(w, l.weight_count, bound, rng);
        fill_uniform(b, l.bias_count, bound, rng);
        break;
      }
      case InitScheme::kXavierUniform:
        fill_uniform(w, l.weight_count, std::sqrt(6.0 / (fan_in + fan_out)), rng);
        break;
      case InitScheme::kLecunNormal:
        fill_normal(w, l.weight_count, std::sqrt(1.0 / fan_in), rng);
        break;
    }
  }
}

}  // namespace ledgerfl::nn
