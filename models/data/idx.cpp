// IDX reader on zlib's gzread and the Fashion-MNIST loader.
#include "models/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>

namespace ledgerfl::data {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

void read_exact(gzFile f, const std::string& path, void* dst, std::size_t bytes) {
  auto* out = static_cast<unsigned char*>(dst);
  while (bytes > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(bytes, 1u << 30));
    const int got = gzread(f, out, chunk);
    if (got < 0) {
      int err = 0;
      fail(path, std::string("read error: ") + gzerror(f, &err));
    }
    if (got == 0) fail(path, "truncated: file ends before the size its IDX header declares");
    out += got;
    bytes -= static_cast<std::size_t>(got);
  }
}

}  // namespace

namespace {
// Opens an IDX file and reads its header; the stream is left at the first data byte.
GzPtr open_idx(const std::string& path, std::vector<std::uint32_t>& shape, std::size_t& total) {
  if (!std::filesystem::exists(path))
    fail(path,
         "not found \u2014 install the Debian package dataset-fashion-mnist "
         "(third_party/install.sh)");
  GzPtr f(gzopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot open");
  gzbuffer(f.get(), 1u << 20);
  unsigned char magic[4];
  read_exact(f.get(), path, magic, 4);
  if (magic[0] != 0 || magic[1] != 0)
    fail(path, "not an IDX file (magic number must start with two zero bytes)");
  if (magic[2] != 0x08)
    fail(path, "unsupported IDX element type 0x" + std::to_string(magic[2]) +
                   " (only unsigned byte, 0x08, is supported)");
  const int ndim = magic[3];
  if (ndim < 1 || ndim > 4)
    fail(path, "IDX header declares " + std::to_string(ndim) + " dimensions");
  total = 1;
  for (int i = 0; i < ndim; ++i) {
    unsigned char b[4];
    read_exact(f.get(), path, b, 4);
    const std::uint32_t d = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                            (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    if (d == 0 || total > (std::size_t{1} << 36) / d)
      fail(path, "IDX header declares an implausible size " + std::to_string(d));
    shape.push_back(d);
    total *= d;
  }
  return f;
}
}  // namespace

IdxArray read_idx(const std::string& path) {
  IdxArray a;
  std::size_t total = 0;
  GzPtr f = open_idx(path, a.shape, total);
  a.data.resize(total);
  read_exact(f.get(), path, a.data.data(), total);
  return a;
}

std::vector<std::uint32_t> read_idx_shape(const std::string& path) {
  std::vector<std::uint32_t> shape;
  std::size_t total = 0;
  open_idx(path, shape, total);
  return shape;
}

Dataset load_idx_dataset(const std::string& images, const std::string& labels, std::string name,
                         int num_classes) {
  const IdxArray img = read_idx(images);
  const IdxArray lab = read_idx(labels);
  if (img.shape.size() != 3) fail(images, "expected a 3-d IDX array (n x rows x cols)");
  if (lab.shape.size() != 1) fail(labels, "expected a 1-d IDX array of labels");
  if (img.shape[0] != lab.shape[0])
    fail(labels, std::to_string(lab.shape[0]) + " labels for " + std::to_string(img.shape[0]) +
                     " images in " + images);
  Dataset d;
  d.name = std::move(name);
  d.num_classes = num_classes;
  const auto n = static_cast<Eigen::Index>(img.shape[0]);
  const auto dim = static_cast<Eigen::Index>(img.shape[1]) * img.shape[2];
  d.features.resize(n, dim);
  float* out = d.features.data();
  const std::uint8_t* in = img.data.data();
  const std::size_t count = img.data.size();
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i]) / 255.0f;
  d.labels.resize(lab.data.size());
  for (std::size_t i = 0; i < lab.data.size(); ++i) {
    if (lab.data[i] >= num_classes)
      fail(labels, "label " + std::to_string(lab.data[i]) + " at index " + std::to_string(i) +
                       " is outside [0, " + std::to_string(num_classes) + ")");
    d.labels[i] = lab.data[i];
  }
  return d;
}

FashionMnistShape fashion_mnist_shape(const std::string& dir) {
  const std::filesystem::path p(dir);
  auto images = [&](const char* name, std::size_t& n, int& dim) {
    const std::string path = (p / name).string();
    const auto s = read_idx_shape(path);
    if (s.size() != 3) fail(path, "expected a 3-d IDX array (n x rows x cols)");
    n = s[0];
    dim = static_cast<int>(s[1] * s[2]);
  };
  FashionMnistShape s;
  images("train-images-idx3-ubyte.gz", s.train, s.dim);
  images("t10k-images-idx3-ubyte.gz", s.test, s.dim);
  for (const char* labels : {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    read_idx_shape((p / labels).string());  // present and readable
  return s;
}

TrainTest load_fashion_mnist(const std::string& dir) {
  const std::filesystem::path p(dir);
  TrainTest t;
  t.train = load_idx_dataset((p / "train-images-idx3-ubyte.gz").string(),
                             (p / "train-labels-idx1-ubyte.gz").string(), "fashion-mnist-train");
  t.test = load_idx_dataset((p / "t10k-images-idx3-ubyte.gz").string(),
                            (p / "t10k-labels-idx1-ubyte.gz").string(), "fashion-mnist-test");
  return t;
}

}  // namespace ledgerfl::data
