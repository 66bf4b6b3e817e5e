// Tests of models/data: IDX loading (tiny files and the real Fashion-MNIST), partitioners,
// the local test split, the shared federated view and the synthetic generator.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "models/data/idx.hpp"
#include "models/data/partition.hpp"
#include "models/data/shared_federated.hpp"
#include "models/data/synthetic.hpp"
#include "models/nn/rng.hpp"

using namespace ledgerfl::data;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  fs::path d = fs::path(LEDGERFL_BINARY_DIR) / "test_models_tmp";
  fs::create_directories(d);
  return d;
}

void write_gz(const fs::path& p, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  gzclose(f);
}

std::vector<unsigned char> idx_header(std::vector<std::uint32_t> shape) {
  std::vector<unsigned char> h{0, 0, 0x08, static_cast<unsigned char>(shape.size())};
  for (std::uint32_t d : shape)
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<unsigned char>(d >> s));
  return h;
}

const TrainTest& fmnist() {
  static const TrainTest t = load_fashion_mnist();
  return t;
}

// Every row in [0, n) appears exactly once.
void check_exact_cover(const Partition& p, std::size_t n) {
  REQUIRE(p.offsets.front() == 0);
  REQUIRE(p.offsets.back() == p.rows.size());
  CHECK(p.rows.size() == n);
  std::vector<char> seen(n, 0);
  for (std::uint32_t r : p.rows) {
    REQUIRE(r < n);
    REQUIRE(seen[r] == 0);
    seen[r] = 1;
  }
}

double label_entropy(const Partition& p, std::size_t c, const std::vector<std::int32_t>& y,
                     int classes) {
  std::vector<double> h(classes, 0.0);
  for (std::uint32_t r : p.client(c)) h[y[r]] += 1;
  double e = 0, n = static_cast<double>(p.client_size(c));
  for (double v : h)
    if (v > 0) e -= v / n * std::log(v / n);
  return e;
}

}  // namespace

TEST_CASE("IDX reader on tiny files") {
  const fs::path d = temp_dir();
  auto img = idx_header({3, 2, 2});
  for (int i = 0; i < 12; ++i) img.push_back(static_cast<unsigned char>(i * 20));
  auto lab = idx_header({3});
  lab.insert(lab.end(), {2, 0, 9});
  write_gz(d / "img.gz", img);
  write_gz(d / "lab.gz", lab);
  const Dataset ds = load_idx_dataset((d / "img.gz").string(), (d / "lab.gz").string(), "tiny");
  CHECK(ds.size() == 3);
  CHECK(ds.dim() == 4);
  CHECK(ds.features(1, 2) == doctest::Approx(120.0f / 255.0f));
  CHECK(ds.features(2, 3) == 220.0f / 255.0f);
  CHECK(ds.labels == std::vector<std::int32_t>{2, 0, 9});

  auto expect_error = [&](const fs::path& p, const std::string& needle) {
    try {
      read_idx(p.string());
      FAIL("no exception for " << p);
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find(p.string()) != std::string::npos);
      CHECK(msg.find(needle) != std::string::npos);
    }
  };
  expect_error(d / "missing-images-idx3-ubyte.gz", "not found");
  expect_error(d / "missing-images-idx3-ubyte.gz", "dataset-fashion-mnist");
  auto bad_magic = img;
  bad_magic[0] = 0x1f;
  write_gz(d / "bad_magic.gz", bad_magic);
  expect_error(d / "bad_magic.gz", "not an IDX file");
  auto bad_type = img;
  bad_type[2] = 0x0d;  // float
  write_gz(d / "bad_type.gz", bad_type);
  expect_error(d / "bad_type.gz", "unsupported IDX element type");
  auto truncated = img;
  truncated.resize(truncated.size() - 3);
  write_gz(d / "truncated.gz", truncated);
  expect_error(d / "truncated.gz", "truncated");
  // Label outside the classes; labels/images count mismatch.
  auto lab_bad = idx_header({3});
  lab_bad.insert(lab_bad.end(), {2, 10, 9});
  write_gz(d / "lab_bad.gz", lab_bad);
  CHECK_THROWS_WITH_AS(load_idx_dataset((d / "img.gz").string(), (d / "lab_bad.gz").string(), "x"),
                       doctest::Contains("label 10 at index 1"), std::runtime_error);
  auto lab_short = idx_header({2});
  lab_short.insert(lab_short.end(), {2, 1});
  write_gz(d / "lab_short.gz", lab_short);
  CHECK_THROWS_AS(load_idx_dataset((d / "img.gz").string(), (d / "lab_short.gz").string(), "x"),
                  std::runtime_error);
  // A missing directory names the expected file and the package.
  CHECK_THROWS_WITH_AS(load_fashion_mnist((d / "nowhere").string()),
                       doctest::Contains("train-images-idx3-ubyte.gz: not found"),
                       std::runtime_error);
}

TEST_CASE("Fashion-MNIST from the Debian package") {
  const TrainTest& t = fmnist();
  CHECK(t.train.size() == 60000);
  CHECK(t.test.size() == 10000);
  CHECK(t.train.dim() == 784);
  CHECK(t.train.num_classes == 10);
  std::vector<int> hist(10, 0);
  for (auto y : t.train.labels) ++hist[y];
  for (int h : hist) CHECK(h == 6000);
  CHECK(t.train.features.minCoeff() == 0.0f);
  CHECK(t.train.features.maxCoeff() == 1.0f);
  CHECK(t.test.features.mean() > 0.2f);  // real images, not zeros
}

TEST_CASE("IID partition") {
  const auto& y = fmnist().train.labels;
  const Partition p = partition_iid(y.size(), 100, 1);
  REQUIRE(p.num_clients() == 100);
  check_exact_cover(p, y.size());
  for (std::size_t c = 0; c < 100; ++c) {
    CHECK(p.client_size(c) == 600);
    CHECK(std::is_sorted(p.client(c).begin(), p.client(c).end()));
  }
  // Label histograms close to the global 10% each: 600 draws, sd ~ 7.3 counts; allow 6 sd.
  for (std::size_t c = 0; c < 100; ++c) {
    std::vector<int> h(10, 0);
    for (auto r : p.client(c)) ++h[y[r]];
    for (int v : h) REQUIRE(std::abs(v - 60) < 44);
  }
  const Partition q = partition_iid(1001, 10, 1);
  check_exact_cover(q, 1001);
  CHECK(q.client_size(0) == 101);
  CHECK(q.client_size(9) == 100);
  CHECK(partition_iid(1001, 10, 1).rows == q.rows);
  CHECK(partition_iid(1001, 10, 2).rows != q.rows);
}

TEST_CASE("Dirichlet partition: label skew falls as alpha grows") {
  const auto& y = fmnist().train.labels;
  const Partition skew = partition_dirichlet(y, 10, 100, 0.1, 7, 10);
  const Partition flat = partition_dirichlet(y, 10, 100, 100.0, 7, 10);
  check_exact_cover(skew, y.size());
  check_exact_cover(flat, y.size());
  double e_skew = 0, e_flat = 0;
  for (std::size_t c = 0; c < 100; ++c) {
    CHECK(skew.client_size(c) >= 10);
    e_skew += label_entropy(skew, c, y, 10) / 100;
    e_flat += label_entropy(flat, c, y, 10) / 100;
  }
  CHECK(e_skew < 1.0);                    // a few classes per client
  CHECK(e_flat > 0.95 * std::log(10.0));  // nearly uniform
  // Config A's partition: 1000 clients, alpha 0.5, about 60 rows each.
  const Partition a = partition_dirichlet(y, 10, 1000, 0.5, 0, 10);
  check_exact_cover(a, y.size());
  for (std::size_t c = 0; c < 1000; ++c) REQUIRE(a.client_size(c) >= 10);
  CHECK(partition_dirichlet(y, 10, 1000, 0.5, 0, 10).rows == a.rows);
  CHECK_THROWS_AS(partition_dirichlet(y, 10, 100, 0.0, 7), std::invalid_argument);
  // 590 x 100 <= 60,000 rows: feasible, so it succeeds after the 3 rejected draws.
  const Partition tight = partition_dirichlet(y, 10, 100, 0.01, 7, 590, 3);
  check_exact_cover(tight, y.size());
  for (std::size_t c = 0; c < 100; ++c) REQUIRE(tight.client_size(c) >= 590);
  CHECK_THROWS_AS(partition_dirichlet(y, 10, 100, 0.5, 7, 601), std::invalid_argument);
}

namespace {

// The rejection sampler as it was before the guaranteed construction (Hsu et al. 2019, redrawn
// until every client has min_size rows), kept here as the reference: a draw it accepts must be
// the partition partition_dirichlet returns. Returns the accepted attempt (0 = none).
int reference_dirichlet(std::span<const std::int32_t> labels, int classes, std::size_t clients,
                        double alpha, std::uint64_t seed, std::size_t min_size, int max_tries,
                        std::vector<std::vector<std::uint32_t>>& parts) {
  std::vector<std::vector<std::uint32_t>> by_class(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i)
    by_class[static_cast<std::size_t>(labels[i])].push_back(static_cast<std::uint32_t>(i));
  ledgerfl::nn::Xoshiro256 rng(seed);
  std::vector<double> p(clients);
  parts.assign(clients, {});
  for (int attempt = 1; attempt <= max_tries; ++attempt) {
    for (auto& part : parts) part.clear();
    for (auto idx : by_class) {
      rng.shuffle(std::span<std::uint32_t>(idx));
      rng.dirichlet(alpha, p);
      double cum = 0.0;
      std::size_t start = 0;
      for (std::size_t k = 0; k < clients; ++k) {
        cum += p[k];
        std::size_t end =
            k + 1 == clients
                ? idx.size()
                : std::min(idx.size(),
                           static_cast<std::size_t>(cum * static_cast<double>(idx.size())));
        end = std::max(end, start);
        parts[k].insert(parts[k].end(), idx.begin() + static_cast<std::ptrdiff_t>(start),
                        idx.begin() + static_cast<std::ptrdiff_t>(end));
        start = end;
      }
    }
    if (std::all_of(parts.begin(), parts.end(),
                    [&](const auto& part) { return part.size() >= min_size; })) {
      for (auto& part : parts) std::sort(part.begin(), part.end());
      return attempt;
    }
  }
  return 0;
}

// 60,000 synthetic labels, 6,000 of each of 10 classes, in a shuffled order.
std::vector<std::int32_t> synthetic_labels() {
  std::vector<std::int32_t> y(60000);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<std::int32_t>(i % 10);
  ledgerfl::nn::Xoshiro256 rng(99);
  rng.shuffle(std::span<std::int32_t>(y));
  return y;
}

double mean_classes_per_client(const Partition& p, const std::vector<std::int32_t>& y) {
  double total = 0;
  for (std::size_t c = 0; c < p.num_clients(); ++c) {
    std::set<std::int32_t> seen;
    for (auto r : p.client(c)) seen.insert(y[r]);
    total += static_cast<double>(seen.size());
  }
  return total / static_cast<double>(p.num_clients());
}

void check_sorted_min_size(const Partition& p, std::size_t min_size) {
  for (std::size_t c = 0; c < p.num_clients(); ++c) {
    const auto r = p.client(c);
    REQUIRE(r.size() >= min_size);
    REQUIRE(std::is_sorted(r.begin(), r.end()));
  }
}

}  // namespace

TEST_CASE("Dirichlet partition: a draw the rejection sampler accepts is kept bit for bit") {
  const auto& fm = fmnist().train.labels;
  const auto syn = synthetic_labels();
  struct Case {
    const std::vector<std::int32_t>* y;
    std::size_t clients;
    double alpha;
    std::uint64_t seed;
  };
  int later = 0;  // cases accepted after a rejected draw (the replay path)
  for (const Case& k : {Case{&fm, 1000, 0.5, 0}, Case{&fm, 1000, 0.5, 1}, Case{&fm, 1000, 0.5, 2},
                        Case{&fm, 100, 1.0, 3}, Case{&syn, 1000, 0.5, 4}, Case{&syn, 1000, 0.5, 5},
                        Case{&syn, 300, 0.2, 6}}) {
    std::vector<std::vector<std::uint32_t>> ref;
    const int attempt = reference_dirichlet(*k.y, 10, k.clients, k.alpha, k.seed, 10, 100, ref);
    INFO("clients " << k.clients << " alpha " << k.alpha << " seed " << k.seed);
    REQUIRE(attempt > 0);
    later += attempt > 1;
    CHECK(partition_dirichlet(*k.y, 10, k.clients, k.alpha, k.seed, 10).rows ==
          partition_from_lists(ref).rows);
  }
  CHECK(later >= 2);
}

TEST_CASE("Dirichlet partition: small alpha always succeeds and keeps its label skew") {
  const auto y = synthetic_labels();
  std::vector<std::vector<std::uint32_t>> ref;
  // The rejection sampler cannot meet min_size = 10 for 1000 clients at alpha = 0.05.
  CHECK(reference_dirichlet(y, 10, 1000, 0.05, 1, 10, 50, ref) == 0);
  const Partition p = partition_dirichlet(y, 10, 1000, 0.05, 1, 10);
  check_exact_cover(p, y.size());
  check_sorted_min_size(p, 10);
  CHECK(partition_dirichlet(y, 10, 1000, 0.05, 1, 10).rows == p.rows);
  CHECK(partition_dirichlet(y, 10, 1000, 0.05, 2, 10).rows != p.rows);
  // The construction at once (max_tries = 0) at alpha = 100 is close to IID; at 0.05 a client
  // holds few classes even though its first 10 rows were reserved.
  const Partition flat = partition_dirichlet(y, 10, 1000, 100.0, 1, 10, 0);
  check_exact_cover(flat, y.size());
  check_sorted_min_size(flat, 10);
  const double skewed = mean_classes_per_client(p, y), iid = mean_classes_per_client(flat, y);
  INFO("classes per client: alpha 0.05 " << skewed << ", alpha 100 " << iid);
  CHECK(iid > 9.0);
  CHECK(skewed < 3.0);
  // A tight case: every client needs 59 of the 60 rows it has on average.
  const Partition tight = partition_dirichlet(y, 10, 1000, 0.05, 3, 59);
  check_exact_cover(tight, y.size());
  check_sorted_min_size(tight, 59);
  // Exactly min_size x clients = rows, and one row too many.
  const Partition full = partition_dirichlet(y, 10, 1000, 0.05, 4, 60);
  for (std::size_t c = 0; c < 1000; ++c) CHECK(full.client_size(c) == 60);
  CHECK_THROWS_AS(
      partition_dirichlet(std::span<const std::int32_t>(y).first(59999), 10, 1000, 0.05, 4, 60),
      std::invalid_argument);
}

TEST_CASE("shard partition (McMahan et al. 2017)") {
  const auto& y = fmnist().train.labels;
  const Partition p = partition_shards(y, 100, 2, 3);
  check_exact_cover(p, y.size());
  int two = 0;
  for (std::size_t c = 0; c < 100; ++c) {
    CHECK(p.client_size(c) == 600);
    std::set<int> labels;
    for (auto r : p.client(c)) labels.insert(y[r]);
    CHECK(labels.size() <= 2);
    two += labels.size() == 2 ? 1 : 0;
  }
  CHECK(two > 50);  // most clients really hold two different labels
}

TEST_CASE("quantity skew partition") {
  const std::size_t n = 60000, clients = 400;
  QuantitySkew q;
  q.sigma = 1.0;
  const Partition p = partition_quantity_skew(n, clients, q, 11);
  check_exact_cover(p, n);
  // log sizes have standard deviation ~ sigma (the floor barely matters at ~150 rows each).
  std::vector<double> logs;
  for (std::size_t c = 0; c < clients; ++c) {
    REQUIRE(p.client_size(c) >= 1);
    logs.push_back(std::log(static_cast<double>(p.client_size(c))));
  }
  const double mean = std::accumulate(logs.begin(), logs.end(), 0.0) / clients;
  double var = 0;
  for (double l : logs) var += (l - mean) * (l - mean) / (clients - 1);
  CHECK(std::sqrt(var) == doctest::Approx(1.0).epsilon(0.15));
  QuantitySkew even;
  even.sigma = 0.0;
  const Partition e = partition_quantity_skew(n, clients, even, 11);
  for (std::size_t c = 0; c < clients; ++c) CHECK(e.client_size(c) == 150);
  // Power law: heavy tail, the largest client far above the median.
  QuantitySkew pl;
  pl.law = QuantitySkew::Law::power_law;
  pl.exponent = 1.2;
  pl.min_size = 5;
  const Partition w = partition_quantity_skew(n, clients, pl, 11);
  check_exact_cover(w, n);
  std::vector<std::size_t> sizes;
  for (std::size_t c = 0; c < clients; ++c) sizes.push_back(w.client_size(c));
  std::sort(sizes.begin(), sizes.end());
  CHECK(sizes.front() >= 5);
  CHECK(sizes.back() > 10 * sizes[clients / 2]);
}

TEST_CASE("split_local_test moves a fraction of each client's rows") {
  Partition train = partition_iid(1000, 7, 5);
  const Partition before = train;
  const Partition test = split_local_test(train, 0.25, 9);
  REQUIRE(test.num_clients() == 7);
  REQUIRE(train.num_clients() == 7);
  for (std::size_t c = 0; c < 7; ++c) {
    CHECK(test.client_size(c) == before.client_size(c) / 4);
    CHECK(train.client_size(c) + test.client_size(c) == before.client_size(c));
    std::vector<std::uint32_t> u(train.client(c).begin(), train.client(c).end());
    u.insert(u.end(), test.client(c).begin(), test.client(c).end());
    std::sort(u.begin(), u.end());
    CHECK(std::equal(u.begin(), u.end(), before.client(c).begin(), before.client(c).end()));
  }
}

TEST_CASE("SharedFederatedData views the partition rows") {
  auto train = std::make_shared<Dataset>(fmnist().train);
  auto test = std::make_shared<Dataset>(fmnist().test);
  Partition p = partition_iid(train->size(), 50, 2);
  const std::vector<std::uint32_t> rows5(p.client(5).begin(), p.client(5).end());
  SharedFederatedData fed(train, test, std::move(p));
  CHECK(fed.num_clients() == 50);
  CHECK(fed.client_size(5) == 1200);
  CHECK(fed.input_dim() == 784);
  CHECK(fed.num_classes() == 10);
  Dataset buf;
  std::vector<std::uint32_t> rb;
  const auto v = fed.client_train(5, buf, rb);
  CHECK(v.features == train->features.data());
  CHECK(std::equal(v.rows.begin(), v.rows.end(), rows5.begin(), rows5.end()));
  CHECK(&fed.test_set() == test.get());
  CHECK_THROWS_AS(fed.client_train(50, buf, rb), std::out_of_range);
  Partition bad = partition_iid(70000, 2, 1);
  CHECK_THROWS_AS(SharedFederatedData(train, test, std::move(bad)), std::invalid_argument);
}

TEST_CASE("synthetic data: deterministic per (seed, client), sizes consistent, labels in range") {
  SyntheticOptions o;
  o.num_clients = 1000000;  // a million registered devices cost nothing
  o.alpha = 1.0;
  o.beta = 1.0;
  o.seed = 42;
  o.test_clients = 20;
  const SyntheticFederatedData fed(o);
  CHECK(fed.num_clients() == 1000000);
  CHECK(fed.input_dim() == 60);
  std::size_t expect_test = 0;
  for (std::size_t c = 0; c < 20; ++c)
    expect_test += static_cast<std::size_t>(std::ceil(0.2 * fed.client_size(c)));
  CHECK(fed.test_set().size() == expect_test);
  CHECK(fed.test_set().features.rows() == static_cast<Eigen::Index>(expect_test));

  Dataset b1, b2;
  std::vector<std::uint32_t> r1, r2;
  for (std::size_t c : {std::size_t{0}, std::size_t{7}, std::size_t{999999}}) {
    const std::size_t n = fed.client_size(c);
    CHECK(n >= 50);
    const auto v1 = fed.client_train(c, b1, r1);
    CHECK(v1.rows.size() == n);
    std::vector<float> x1(v1.features, v1.features + n * 60);
    std::vector<std::int32_t> y1(v1.labels, v1.labels + n);
    fed.client_train(3, b2, r2);  // another client in between, other buffer
    const auto v2 = fed.client_train(c, b2, r2);
    CHECK(std::equal(x1.begin(), x1.end(), v2.features));
    CHECK(std::equal(y1.begin(), y1.end(), v2.labels));
    for (auto y : y1) REQUIRE((y >= 0 && y < 10));
  }
  // Same seed, a new object: same data; another seed: different.
  const SyntheticFederatedData again(o);
  CHECK(again.client_size(7) == fed.client_size(7));
  o.seed = 43;
  const SyntheticFederatedData other(o);
  std::size_t differ = 0;
  for (std::size_t c = 0; c < 20; ++c) differ += other.client_size(c) != fed.client_size(c);
  CHECK(differ > 10);
  // Sizes follow floor(LogNormal(4, 2)) + 50: the median is about e^4 + 50 = 104.6.
  std::vector<std::size_t> sizes;
  for (std::size_t c = 0; c < 2001; ++c) sizes.push_back(fed.client_size(c));
  std::nth_element(sizes.begin(), sizes.begin() + 1000, sizes.end());
  CHECK(sizes[1000] > 85);
  CHECK(sizes[1000] < 125);
}

TEST_CASE("synthetic data: heterogeneity of Synthetic(1,1) versus Synthetic-IID") {
  // Under Synthetic-IID all devices share one model and v = 0, so label histograms agree; under
  // Synthetic(1,1) they differ a lot. Compare the mean total-variation distance to the pooled
  // histogram over 20 devices.
  auto spread = [](const SyntheticOptions& o) {
    const SyntheticFederatedData fed(o);
    Dataset buf;
    std::vector<std::uint32_t> rows;
    std::vector<std::vector<double>> hists;
    std::vector<double> pooled(10, 0.0);
    for (std::size_t c = 0; c < 20; ++c) {
      const auto v = fed.client_train(c, buf, rows);
      std::vector<double> h(10, 0.0);
      for (std::size_t i = 0; i < v.rows.size(); ++i) h[v.labels[i]] += 1.0 / v.rows.size();
      for (int k = 0; k < 10; ++k) pooled[k] += h[k] / 20;
      hists.push_back(h);
    }
    double tv = 0;
    for (const auto& h : hists)
      for (int k = 0; k < 10; ++k) tv += std::abs(h[k] - pooled[k]) / 2 / 20;
    return tv;
  };
  SyntheticOptions o;
  o.num_clients = 20;
  o.size_min = 400;
  o.size_sigma = 0.0;  // every device 400 + e^4 samples
  o.seed = 5;
  const double hetero = spread(o);
  o.iid = true;
  const double iid = spread(o);
  CHECK(iid < 0.1);
  CHECK(hetero > 2 * iid);
  CHECK(hetero > 0.3);
}
