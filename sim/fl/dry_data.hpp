// The data of a dry build (validation only, scenario::ParamView::dry): shapes and the memory the
// real data would hold, no samples. Client sizes are those of the real data where they cost
// nothing to know (generated data) and the mean share otherwise (a partition is not drawn).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>

#include "models/data/dataset.hpp"

namespace ledgerfl::fl {

class ShapeOnlyData : public data::FederatedData {
 public:
  struct Shape {
    std::size_t clients = 0;
    int dim = 0, classes = 0;
    std::uint64_t train_samples = 0;   // the union of the clients' training data
    std::uint64_t resident_bytes = 0;  // held for the whole run (shared data set, test set)
    std::uint64_t buffer_bytes = 0;    // per worker thread (a generated client's samples)
    std::function<std::size_t(std::size_t)> client_size;  // empty: train_samples / clients
  };
  explicit ShapeOnlyData(Shape s) : s_(std::move(s)) {}
  const Shape& shape() const { return s_; }

  std::size_t num_clients() const override { return s_.clients; }
  std::size_t client_size(std::size_t c) const override {
    return s_.client_size ? s_.client_size(c)
                          : static_cast<std::size_t>(s_.train_samples / s_.clients);
  }
  int input_dim() const override { return s_.dim; }
  int num_classes() const override { return s_.classes; }
  nn::ShardView client_train(std::size_t, data::Dataset&,
                             std::vector<std::uint32_t>&) const override {
    throw std::logic_error("ShapeOnlyData: a dry build holds no samples");
  }
  const data::Dataset& test_set() const override {
    throw std::logic_error("ShapeOnlyData: a dry build holds no samples");
  }

 private:
  Shape s_;
};

}  // namespace ledgerfl::fl
