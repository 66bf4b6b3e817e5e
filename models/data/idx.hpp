// IDX files (LeCun's MNIST format, optionally gzip-compressed) and the Fashion-MNIST loader for
// the Debian package dataset-fashion-mnist (Xiao, Rasul & Vollgraf 2017).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/data/dataset.hpp"

namespace ledgerfl::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// An unsigned-byte IDX array: big-endian header (magic 0x0000 08 ndim, then ndim uint32 sizes),
// then the bytes in row-major order.
struct IdxArray {
  std::vector<std::uint32_t> shape;
  std::vector<std::uint8_t> data;
};

// Reads a .gz or plain IDX file (zlib reads both). Throws std::runtime_error naming the file for
// a missing file, a header that is not unsigned-byte IDX, or data shorter than the header says.
IdxArray read_idx(const std::string& path);
// The shape in the header only (the same checks as read_idx, no data read).
std::vector<std::uint32_t> read_idx_shape(const std::string& path);

// Images (n x rows x cols) and labels (n) into a Dataset: pixels / 255 in [0, 1] as float (the
// same division as the PyTorch reference), labels checked to lie in [0, num_classes).
Dataset load_idx_dataset(const std::string& images, const std::string& labels, std::string name,
                         int num_classes = 10);

struct TrainTest {
  Dataset train, test;
};

// {train (60000), test (10000)} from dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
TrainTest load_fashion_mnist(const std::string& dir = kFashionMnistDir);

// Sample counts and feature dimension from the headers alone (for validation and memory
// estimates without loading the data).
struct FashionMnistShape {
  std::size_t train = 0, test = 0;
  int dim = 0;
};
FashionMnistShape fashion_mnist_shape(const std::string& dir = kFashionMnistDir);

}  // namespace ledgerfl::data
