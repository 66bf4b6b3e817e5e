// SyntheticFederatedData: on-demand generation of Synthetic(alpha, beta) devices.
#include "models/data/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "models/nn/rng.hpp"

namespace ledgerfl::data {
namespace {

using nn::Xoshiro256;

// Stream purposes.
constexpr std::uint64_t kSize = 1, kDevice = 2, kTrain = 3, kTest = 4, kGlobal = 5;

}  // namespace

void SyntheticOptions::validate() const {
  auto bad = [](const std::string& m) { throw std::invalid_argument("synthetic: " + m); };
  if (!(alpha >= 0.0)) bad("alpha must be >= 0");
  if (!(beta >= 0.0)) bad("beta must be >= 0");
  if (num_clients == 0) bad("num_clients must be > 0");
  if (dim <= 0) bad("dim must be > 0");
  if (classes <= 1) bad("classes must be > 1");
  if (!(size_sigma >= 0.0)) bad("size_sigma must be >= 0");
  if (size_max != 0 && size_max < size_min) bad("size_max must be 0 or >= size_min");
  if (size_min == 0 && size_max == 0 && size_sigma == 0.0 && size_mu < 0.0)
    bad("clients would have no samples");
  if (!(test_fraction >= 0.0 && test_fraction <= 10.0)) bad("test_fraction must be in [0, 10]");
}

SyntheticFederatedData::SyntheticFederatedData(const SyntheticOptions& opt) : o_(opt) {
  o_.validate();
  for (int j = 1; j <= o_.dim; ++j) sigma_sqrt_.push_back(std::sqrt(std::pow(j, -1.2)));
  if (o_.iid) {
    Xoshiro256 rng(nn::derive_seed(o_.seed, kGlobal));
    w_iid_.resize(static_cast<std::size_t>(o_.classes) * o_.dim);
    b_iid_.resize(static_cast<std::size_t>(o_.classes));
    for (auto& w : w_iid_) w = rng.normal();
    for (auto& b : b_iid_) b = rng.normal();
  }
  test_.name = "synthetic-test";
  test_.num_classes = o_.classes;
  const std::size_t tc = std::min(o_.num_clients, o_.test_clients);
  std::vector<std::size_t> counts(tc);
  std::size_t total = 0;
  for (std::size_t c = 0; c < tc; ++c) {
    counts[c] =
        static_cast<std::size_t>(std::ceil(o_.test_fraction * static_cast<double>(client_size(c))));
    total += counts[c];
  }
  test_.features.resize(static_cast<Eigen::Index>(total), o_.dim);
  test_.labels.resize(total);
  std::size_t at = 0;
  for (std::size_t c = 0; c < tc; ++c) {
    generate(c, kTest, counts[c], test_, at);
    at += counts[c];
  }
}

std::size_t SyntheticFederatedData::client_size(std::size_t client) const {
  Xoshiro256 rng(nn::derive_seed(o_.seed, kSize, client));
  const double draw = rng.lognormal(o_.size_mu, o_.size_sigma);
  // Cap the draw before converting (a huge lognormal tail must not overflow).
  const double cap = o_.size_max != 0 ? static_cast<double>(o_.size_max) : 1e12;
  std::size_t n = static_cast<std::size_t>(std::min(std::floor(draw), cap)) + o_.size_min;
  if (o_.size_max != 0) n = std::min(n, o_.size_max);
  return n;
}

void SyntheticFederatedData::generate(std::size_t client, std::uint64_t purpose, std::size_t n,
                                      Dataset& out, std::size_t first) const {
  const int d = o_.dim, k = o_.classes;
  thread_local std::vector<double> w, b, v, x;  // device parameters (reused per thread)
  w.resize(static_cast<std::size_t>(k) * d);
  b.resize(static_cast<std::size_t>(k));
  v.resize(static_cast<std::size_t>(d));
  x.resize(static_cast<std::size_t>(d));
  if (o_.iid) {
    w = w_iid_;
    b = b_iid_;
    std::fill(v.begin(), v.end(), 0.0);
  } else {
    Xoshiro256 rng(nn::derive_seed(o_.seed, kDevice, client));
    const double u = rng.normal(0.0, o_.alpha);
    const double big_b = rng.normal(0.0, o_.beta);
    for (auto& e : w) e = rng.normal(u, 1.0);
    for (auto& e : b) e = rng.normal(u, 1.0);
    for (auto& e : v) e = rng.normal(big_b, 1.0);
  }
  Xoshiro256 rng(nn::derive_seed(o_.seed, purpose, client));
  for (std::size_t i = 0; i < n; ++i) {
    float* row = out.features.data() + (first + i) * static_cast<std::size_t>(d);
    for (int j = 0; j < d; ++j) {
      x[j] = v[j] + sigma_sqrt_[j] * rng.normal();
      row[j] = static_cast<float>(x[j]);
    }
    int arg = 0;
    double best = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c) {
      double z = b[c];
      const double* wc = w.data() + static_cast<std::size_t>(c) * d;
      for (int j = 0; j < d; ++j) z += wc[j] * x[j];
      if (z > best) {
        best = z;
        arg = c;
      }
    }
    out.labels[first + i] = arg;
  }
}

nn::ShardView SyntheticFederatedData::client_train(std::size_t client, Dataset& buffer,
                                                   std::vector<std::uint32_t>& rows_buffer) const {
  if (client >= o_.num_clients)
    throw std::out_of_range("SyntheticFederatedData: client " + std::to_string(client) + " of " +
                            std::to_string(o_.num_clients));
  const std::size_t n = client_size(client);
  if (static_cast<std::size_t>(buffer.features.rows()) < n || buffer.features.cols() != o_.dim)
    buffer.features.resize(static_cast<Eigen::Index>(n), o_.dim);
  if (buffer.labels.size() < n) buffer.labels.resize(n);
  buffer.num_classes = o_.classes;
  generate(client, kTrain, n, buffer, 0);
  rows_buffer.resize(n);
  for (std::size_t i = 0; i < n; ++i) rows_buffer[i] = static_cast<std::uint32_t>(i);
  return {buffer.features.data(), buffer.labels.data(), o_.dim, rows_buffer};
}

}  // namespace ledgerfl::data
