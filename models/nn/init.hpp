// Weight initialisation schemes of the models: the InitScheme enum, its scenario names, and the
// one routine that fills every layer of a model from a seed.
//
// Every scheme draws the weights of a layer, then its bias, layer by layer in parameter order,
// from one Xoshiro256 stream seeded by the caller (so a scheme's draws depend only on the seed
// and the architecture). fan_in / fan_out of a layer are given by Model::layers():
//   dense layer W (d_in x d_out):  fan_in = d_in, fan_out = d_out (softmax regression is one
//                                  dense layer: fan_in = input_dim, fan_out = classes, the
//                                  nn.Linear(input_dim, classes) of PyTorch);
//   k x k convolution c_in -> c_out: fan_in = c_in k k, fan_out = c_out k k (PyTorch's
//                                  _calculate_fan_in_and_fan_out for Conv2d).
//
//   he_normal       w ~ N(0, 2 / fan_in), b = 0                  He et al. 2015, "Delving Deep
//                                                               into Rectifiers", sec. 2.2
//   torch_default   w ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),     PyTorch's reset_parameters of
//                   b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))      nn.Linear and nn.Conv2d:
//                   kaiming_uniform_(a = sqrt(5)) is U(-g sqrt(3 / fan_in), +), gain
//                   g = sqrt(2 / (1 + a^2)) = sqrt(1/3), so the bound is 1 / sqrt(fan_in)
//                   (docs of torch.nn.Linear / torch.nn.Conv2d, "Variables"; He et al. 2015)
//   xavier_uniform  w ~ U(-sqrt(6 / (fan_in + fan_out)), +), b = 0   Glorot & Bengio 2010,
//                                                               eq. 16
//   lecun_normal    w ~ N(0, 1 / fan_in), b = 0                  LeCun et al. 1998, "Efficient
//                                                               BackProp", sec. 4.6
// Uniform draws are lo + (hi - lo) u with u in [0, 1) (53 bits), rounded to float; normal draws
// are Marsaglia polar normals scaled by the standard deviation, rounded to float. he_normal
// keeps the exact draws of the models before schemes existed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "models/nn/model.hpp"

namespace ledgerfl::nn {

enum class InitScheme { kHeNormal, kTorchDefault, kXavierUniform, kLecunNormal };

// Scenario names, in enum order ([model] init = "...").
inline constexpr std::array<std::string_view, 4> kInitSchemeNames{"he_normal", "torch_default",
                                                                  "xavier_uniform", "lecun_normal"};

std::string_view to_string(InitScheme s);
// nullopt for an unknown name (the scenario layer reports it with the known names).
std::optional<InitScheme> parse_init_scheme(std::string_view name);

// Fills params layer by layer (weights, then bias) with the scheme's draws from seed.
// Parameters outside every layer are set to zero.
void init_layers(std::span<const ParamLayer> layers, InitScheme scheme, std::span<float> params,
                 std::uint64_t seed);

}  // namespace ledgerfl::nn
