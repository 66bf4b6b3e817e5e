// Scenario registrations of the FL layer: models, data sets, partitioners, aggregators, server
// optimizers and device distributions. A new component is one entry here (or in its own file
// with its own register function called from register_builtin_fl).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "models/data/idx.hpp"
#include "models/data/partition.hpp"
#include "models/data/shared_federated.hpp"
#include "models/data/synthetic.hpp"
#include "models/nn/cnn.hpp"
#include "models/nn/init.hpp"
#include "models/nn/mlp.hpp"
#include "models/nn/softmax_regression.hpp"
#include "sim/core/rng.hpp"
#include "sim/fl/dry_data.hpp"
#include "sim/fl/registries.hpp"

namespace ledgerfl::fl {

using scenario::Bounds;
using scenario::ParamView;

namespace {
// Keeps the first n samples of a data set (train_subset / test_subset).
void truncate(data::Dataset& d, std::size_t n) {
  if (n >= d.size()) return;
  nn::Matrix keep = d.features.topRows(static_cast<Eigen::Index>(n));
  d.features = std::move(keep);
  d.labels.resize(n);
}

// [model] init: every model takes the same initialisation scheme parameter (models/nn/init.hpp).
scenario::ParamDoc init_doc() {
  return {"init", "string", "\"he_normal\"", "",
          "weight initialisation: he_normal (N(0, 2/fan_in), zero bias; He et al. 2015), "
          "torch_default (PyTorch nn.Linear/nn.Conv2d: weights and biases U(+-1/sqrt(fan_in)); "
          "choose it to compare with PyTorch runs), xavier_uniform (U(+-sqrt(6/(fan_in + "
          "fan_out))), zero bias; Glorot & Bengio 2010), lecun_normal (N(0, 1/fan_in), zero bias; "
          "LeCun et al. 1998)"};
}

nn::InitScheme read_init(const ParamView& p) {
  return *nn::parse_init_scheme(p.choice("init", nn::kInitSchemeNames, "he_normal"));
}

// min_size of a partitioner, rejected before any draw when no partition can meet it.
std::size_t read_min_size(const ParamView& p, std::size_t clients, std::size_t samples) {
  const auto m = static_cast<std::size_t>(p.integer("min_size", 10, Bounds::non_negative()));
  if (m * clients > samples)
    p.fail("min_size", fmt::format("= {} x clients.count = {} needs {} samples, more than the {} "
                                   "training samples",
                                   m, clients, m * clients, samples));
  return m;
}

}  // namespace

void register_builtin_models(scenario::Registry<ModelFactory>& reg) {
  reg.add({"softmax",
           "multinomial logistic regression (linear layer + softmax; for init, fan_in = "
           "features, fan_out = classes)",
           {init_doc()}},
          [](const ParamView& p, int in, int classes) {
            return nn::make_softmax_regression(in, classes, read_init(p));
          });
  reg.add({"mlp",
           "multilayer perceptron with ReLU hidden layers (McMahan et al. 2017 \"2NN\": "
           "hidden = [200, 200])",
           {{"hidden", "list<int>", "[200, 200]", "", "widths of the hidden layers"}, init_doc()}},
          [](const ParamView& p, int in, int classes) {
            const auto h = p.integer_list("hidden", std::vector<std::int64_t>{200, 200},
                                          Bounds::between(1, 1 << 16));
            return nn::make_mlp(in, std::vector<int>(h.begin(), h.end()), classes, read_init(p));
          });
  reg.add({"cnn",
           "conv5x5-pool-conv5x5-pool-fc-fc for 28x28 images (the \"CNN\" of McMahan et al. "
           "2017 with c1 = 32, c2 = 64, fc = 512; smaller defaults here)",
           {{"c1", "int", "16", "", "channels of the first convolution"},
            {"c2", "int", "32", "", "channels of the second convolution"},
            {"fc", "int", "128", "", "width of the hidden fully connected layer"},
            init_doc()}},
          [](const ParamView& p, int in, int classes) {
            if (in != 28 * 28)
              p.fail("type",
                     fmt::format("the cnn needs 28x28 inputs (784 features), the data has {}", in));
            nn::CnnOptions o;
            o.conv1 = static_cast<int>(p.integer("c1", 16, Bounds::between(1, 1024)));
            o.conv2 = static_cast<int>(p.integer("c2", 32, Bounds::between(1, 1024)));
            o.hidden = static_cast<int>(p.integer("fc", 128, Bounds::between(1, 1 << 16)));
            o.classes = classes;
            o.init = read_init(p);
            return nn::make_cnn(o);
          });
}

void register_builtin_data(scenario::Registry<DataFactory>& data,
                           scenario::Registry<PartitionFactory>& parts) {
  parts.add({"iid", "uniformly random equal-size split", {}},
            [](const ParamView& p, std::span<const std::int32_t> labels, int, std::size_t clients,
               std::uint64_t seed) {
              if (p.dry()) return data::Partition{};
              return data::partition_iid(labels.size(), clients, seed);
            });
  parts.add({"dirichlet",
             "label skew: per-class Dirichlet(alpha) proportions over clients (Hsu et al. 2019), "
             "redrawn until every client has min_size samples (NIID-Bench, Li et al. 2022); after "
             "max_tries draws, a construction that reserves min_size samples per client from its "
             "own class mix (always succeeds)",
             {{"alpha", "float", "0.5", "", "concentration; small = skewed, large = IID"},
              {"min_size", "int", "10", "samples", "minimum samples per client"},
              {"max_tries", "int", "100", "",
               "rejection draws before the construction (0 = construction at once; each costs "
               "0.6-0.9 ms for 1000 clients x 60,000 samples)"}}},
            [](const ParamView& p, std::span<const std::int32_t> labels, int classes,
               std::size_t clients, std::uint64_t seed) {
              const double alpha = p.number("alpha", 0.5, Bounds::positive());
              const auto min_size = read_min_size(p, clients, labels.size());
              const auto tries = p.integer("max_tries", 100, Bounds::between(0, 1000000));
              if (p.dry()) return data::Partition{};
              return data::partition_dirichlet(labels, classes, clients, alpha, seed, min_size,
                                               static_cast<int>(tries));
            });
  parts.add({"shards",
             "pathological non-IID: sort by label, cut into shards, give each client "
             "shards_per_client of them (McMahan et al. 2017)",
             {{"shards_per_client", "int", "2", "", "shards per client"}}},
            [](const ParamView& p, std::span<const std::int32_t> labels, int, std::size_t clients,
               std::uint64_t seed) {
              const auto k = p.integer("shards_per_client", 2, Bounds::at_least(1));
              if (static_cast<std::size_t>(k) * clients > labels.size())
                p.fail("shards_per_client", "more shards than samples");
              if (p.dry()) return data::Partition{};
              return data::partition_shards(labels, clients, static_cast<std::size_t>(k), seed);
            });
  parts.add({"quantity_skew",
             "IID labels, client sizes log-normal(0, sigma) (quantity skew, Li et al. 2022 "
             "NIID-Bench)",
             {{"sigma", "float", "1.0", "", "log-space standard deviation of client sizes"},
              {"min_size", "int", "10", "samples", "minimum samples per client"}}},
            [](const ParamView& p, std::span<const std::int32_t> labels, int, std::size_t clients,
               std::uint64_t seed) {
              const double sigma = p.number("sigma", 1.0, Bounds::non_negative());
              const auto min_size = read_min_size(p, clients, labels.size());
              if (p.dry()) return data::Partition{};
              data::QuantitySkew q;
              q.law = data::QuantitySkew::Law::lognormal;
              q.sigma = sigma;
              q.min_size = min_size;
              return data::partition_quantity_skew(labels.size(), clients, q, seed);
            });

  data.add(
      {"fashion_mnist",
       "Fashion-MNIST (Xiao et al. 2017) from Debian's dataset-fashion-mnist, pixels in "
       "[0, 1], cut over clients by [data.partition]",
       {{"dir", "string", "\"/usr/share/datasets/fashion-mnist\"", "", "IDX .gz directory"},
        {"train_subset", "int", "0", "samples", "use only the first n training images (0 = all)"},
        {"test_subset", "int", "0", "samples", "use only the first n test images (0 = all)"},
        {"partition", "table", "{type = \"iid\"}", "", "partitioner, see below"}}},
      [](const ParamView& p, std::size_t clients, std::uint64_t seed,
         const FlRegistries& regs) -> std::unique_ptr<data::FederatedData> {
        const std::string dir = p.string("dir", "/usr/share/datasets/fashion-mnist");
        const auto train_n = p.integer("train_subset", 0, Bounds::non_negative());
        const auto test_n = p.integer("test_subset", 0, Bounds::non_negative());
        const ParamView part = p.table("partition");
        const auto& entry = regs.partitioners.get(part, "type", "iid");
        if (p.dry()) {
          // Headers only: the counts the checks need and the memory the data set will hold
          // (features as float, labels and partition rows as 4-byte integers).
          data::FashionMnistShape s;
          try {
            s = data::fashion_mnist_shape(dir);
          } catch (const std::runtime_error& e) {
            p.fail("dir", e.what());
          }
          const std::size_t train = train_n > 0 ? std::min<std::size_t>(s.train, train_n) : s.train;
          const std::size_t test = test_n > 0 ? std::min<std::size_t>(s.test, test_n) : s.test;
          if (clients > train)
            p.fail("", fmt::format("{} clients but only {} training samples", clients, train));
          const std::vector<std::int32_t> no_labels(train, 0);  // counts only; not drawn
          entry.factory(part, no_labels, 10, clients, 0);
          ShapeOnlyData::Shape shape;
          shape.clients = clients;
          shape.dim = s.dim;
          shape.classes = 10;
          shape.train_samples = train;
          shape.resident_bytes =
              (train + test) * (static_cast<std::uint64_t>(s.dim) * 4 + 4) + train * 4;
          return std::make_unique<ShapeOnlyData>(std::move(shape));
        }
        data::TrainTest tt;
        try {
          tt = data::load_fashion_mnist(dir);
        } catch (const std::runtime_error& e) {
          p.fail("dir", e.what());
        }
        if (train_n > 0) truncate(tt.train, static_cast<std::size_t>(train_n));
        if (test_n > 0) truncate(tt.test, static_cast<std::size_t>(test_n));
        if (clients > tt.train.size())
          p.fail("",
                 fmt::format("{} clients but only {} training samples", clients, tt.train.size()));
        data::Partition partition =
            entry.factory(part, tt.train.labels, tt.train.num_classes, clients,
                          core::mix_key(seed, core::purpose_id("partition"), 0, 0));
        return std::make_unique<data::SharedFederatedData>(
            std::make_shared<const data::Dataset>(std::move(tt.train)),
            std::make_shared<const data::Dataset>(std::move(tt.test)), std::move(partition));
      });
  data.add({"synthetic",
            "Synthetic(alpha, beta) of Li et al. 2020 (FedProx, sec. 5.1): per-client softmax "
            "models and feature means; generated on demand, so a million clients cost nothing",
            {{"alpha", "float", "1.0", "", "how much local models differ"},
             {"beta", "float", "1.0", "", "how much local feature distributions differ"},
             {"iid", "bool", "false", "", "Synthetic-IID: one shared model, no feature shift"},
             {"dim", "int", "60", "", "feature dimension"},
             {"classes", "int", "10", "", "number of classes"}}},
           [](const ParamView& p, std::size_t clients, std::uint64_t seed,
              const FlRegistries&) -> std::unique_ptr<data::FederatedData> {
             data::SyntheticOptions o;
             o.alpha = p.number("alpha", 1.0, Bounds::non_negative());
             o.beta = p.number("beta", 1.0, Bounds::non_negative());
             o.iid = p.boolean("iid", false);
             o.dim = static_cast<int>(p.integer("dim", 60, Bounds::between(1, 100000)));
             o.classes = static_cast<int>(p.integer("classes", 10, Bounds::between(2, 100000)));
             o.num_clients = clients;
             o.size_max = 5000;  // keeps a client's buffer bounded; documented in the reference
             o.seed = core::mix_key(seed, core::purpose_id("synthetic_data"), 0, 0);
             if (p.dry()) {
               // No test set generated: client sizes are keyed draws, so the test set's size
               // (a test_fraction of each of the first test_clients clients) is known exactly.
               data::SyntheticOptions sizes_only = o;
               sizes_only.test_clients = 0;
               auto gen = std::make_shared<const data::SyntheticFederatedData>(sizes_only);
               std::uint64_t test_rows = 0;
               for (std::size_t c = 0; c < std::min(o.num_clients, o.test_clients); ++c)
                 test_rows += static_cast<std::uint64_t>(
                     std::ceil(o.test_fraction * static_cast<double>(gen->client_size(c))));
               const std::uint64_t row_bytes = static_cast<std::uint64_t>(o.dim) * 4 + 4;
               ShapeOnlyData::Shape shape;
               shape.clients = clients;
               shape.dim = o.dim;
               shape.classes = o.classes;
               shape.train_samples = 0;  // not summed over a million clients; see client_size
               shape.resident_bytes =
                   test_rows * row_bytes + static_cast<std::uint64_t>(o.classes + 1) * o.dim * 8;
               shape.buffer_bytes = o.size_max * row_bytes;
               shape.client_size = [gen](std::size_t c) { return gen->client_size(c); };
               return std::make_unique<ShapeOnlyData>(std::move(shape));
             }
             return std::make_unique<data::SyntheticFederatedData>(o);
           });
}

void register_builtin_fl(FlRegistries& regs) {
  register_builtin_data(regs.datasets, regs.partitioners);
  register_builtin_models(regs.models);
  register_builtin_aggregators(regs.aggregators);
  register_builtin_server_optimizers(regs.server_optimizers);
  agents::register_builtin_distributions(regs.distributions);
  agents::register_builtin_attacks(regs.attacks);
}

void add_to_catalog(const FlRegistries& regs, scenario::Catalog& c) {
  c.add(regs.datasets);
  c.add(regs.partitioners);
  c.add(regs.models);
  c.add(regs.aggregators);
  c.add(regs.attacks);
  c.add(regs.server_optimizers);
  c.add(regs.distributions);
}

}  // namespace ledgerfl::fl
