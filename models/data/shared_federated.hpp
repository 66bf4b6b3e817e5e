// Federated view of a shared, loaded-once data set: clients are rows of a Partition.
#pragma once

#include <memory>

#include "models/data/dataset.hpp"

namespace ledgerfl::data {

class SharedFederatedData : public FederatedData {
 public:
  // train and test are shared read-only (several runs of a sweep may hold the same data set).
  SharedFederatedData(std::shared_ptr<const Dataset> train, std::shared_ptr<const Dataset> test,
                      Partition partition);

  std::size_t num_clients() const override { return partition_.num_clients(); }
  std::size_t client_size(std::size_t client) const override {
    return partition_.client_size(client);
  }
  int input_dim() const override { return train_->dim(); }
  int num_classes() const override { return train_->num_classes; }
  // Points into the shared train set; `buffer` and `rows_buffer` are not touched.
  nn::ShardView client_train(std::size_t client, Dataset& buffer,
                             std::vector<std::uint32_t>& rows_buffer) const override;
  const Dataset& test_set() const override { return *test_; }
  bool rows_are_shared() const override { return true; }

  const Dataset& train_set() const { return *train_; }
  const Partition& partition() const { return partition_; }

 private:
  std::shared_ptr<const Dataset> train_, test_;
  Partition partition_;
};

}  // namespace ledgerfl::data
