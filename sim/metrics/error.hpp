// metrics::H5Error: the one exception type thrown by the HDF5 writer, reader and golden check.
#pragma once

#include <stdexcept>
#include <string>

namespace ledgerfl::metrics {

// Thrown when an HDF5 operation fails. what() reads "FILE: OBJECT: what failed (hdf5: detail)",
// e.g. "run.h5: /rounds/loss: cannot extend dataset (hdf5: no space available for allocation)".
class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ledgerfl::metrics
