// SharedFederatedData: client views into a shared data set.
#include "models/data/shared_federated.hpp"

#include <stdexcept>
#include <string>

namespace ledgerfl::data {

SharedFederatedData::SharedFederatedData(std::shared_ptr<const Dataset> train,
                                         std::shared_ptr<const Dataset> test, Partition partition)
    : train_(std::move(train)), test_(std::move(test)), partition_(std::move(partition)) {
  if (!train_ || !test_) throw std::invalid_argument("SharedFederatedData: null data set");
  if (train_->dim() != test_->dim())
    throw std::invalid_argument("SharedFederatedData: train and test dimensions differ");
  if (partition_.offsets.empty() || partition_.offsets.back() != partition_.rows.size())
    throw std::invalid_argument("SharedFederatedData: malformed partition");
  for (std::uint32_t r : partition_.rows)
    if (r >= train_->size())
      throw std::invalid_argument("SharedFederatedData: partition row " + std::to_string(r) +
                                  " outside the train set of " + std::to_string(train_->size()));
}

nn::ShardView SharedFederatedData::client_train(std::size_t client, Dataset& /*buffer*/,
                                                std::vector<std::uint32_t>& /*rows*/) const {
  if (client >= num_clients())
    throw std::out_of_range("SharedFederatedData: client " + std::to_string(client) + " of " +
                            std::to_string(num_clients()));
  return {train_->features.data(), train_->labels.data(), train_->dim(), partition_.client(client)};
}

}  // namespace ledgerfl::data
