// Data sets (features + labels, loaded once, shared read-only) and federated views of them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/nn/model.hpp"
#include "models/nn/trainer.hpp"

namespace ledgerfl::data {

struct Dataset {
  std::string name;
  nn::Matrix features;               // n x dim, row-major float
  std::vector<std::int32_t> labels;  // n
  int num_classes = 0;
  std::size_t size() const { return labels.size(); }
  int dim() const { return static_cast<int>(features.cols()); }
  nn::ShardView all_rows(std::vector<std::uint32_t>& identity_scratch) const;
};

// Client -> sample rows, compressed (CSR): offsets has num_clients + 1 entries. 4 bytes per
// sample plus 8 per client, so a million registered clients stay cheap.
struct Partition {
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint32_t> rows;
  std::size_t num_clients() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::span<const std::uint32_t> client(std::size_t c) const {
    return {rows.data() + offsets[c], rows.data() + offsets[c + 1]};
  }
  std::size_t client_size(std::size_t c) const { return offsets[c + 1] - offsets[c]; }
};

// What clients learn from. Either a shared data set cut by a partitioner, or a generator that
// materialises a client's data only while it is active (synthetic data for a million clients).
class FederatedData {
 public:
  virtual ~FederatedData() = default;
  virtual std::size_t num_clients() const = 0;
  virtual std::size_t client_size(std::size_t client) const = 0;  // cheap, no materialisation
  virtual int input_dim() const = 0;
  virtual int num_classes() const = 0;
  // Returns a view of the client's training data. Generated data is written into `buffer`
  // (reused by the caller's thread); shared data ignores it and points into the data set.
  virtual nn::ShardView client_train(std::size_t client, Dataset& buffer,
                                     std::vector<std::uint32_t>& rows_buffer) const = 0;
  // The global test set used for evaluation.
  virtual const Dataset& test_set() const = 0;
  // Whether a client's rows point into one shared data set (reaching them costs nothing), as
  // opposed to being generated on demand (materialising a client costs its whole size).
  virtual bool rows_are_shared() const { return false; }
};

}  // namespace ledgerfl::data
