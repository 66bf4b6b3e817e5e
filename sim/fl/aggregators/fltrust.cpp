// FLTrust: Cao, Fang, Liu, Gong 2021, "FLTrust: Byzantine-robust Federated Learning via Trust
// Bootstrapping" (NDSS), Alg. 1: trust score TS_i = ReLU(cos(g_i, g_0)) against the server's
// update g_0 on its root data set, each update rescaled to ||g_0||, aggregate
// sum_i TS_i (||g_0|| / ||g_i||) g_i / sum_i TS_i.
#include <cmath>
#include <stdexcept>

#include "sim/core/parallel.hpp"
#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class FlTrust final : public RobustAggregator {
 public:
  explicit FlTrust(std::optional<std::size_t> f)
      : RobustAggregator(
            "fltrust", f, [](std::size_t, std::size_t) { return true; }, "") {}
  bool needs_root_update() const override { return true; }
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    if (!ctx.root_update)
      throw std::logic_error("aggregator fltrust needs the root update (ctx.root_update)");
    const Canonical c = canonical(updates);
    std::vector<float> g0(c.dim, 0.0f);
    ctx.root_update(g0);
    const double n0 = norms(std::vector<const float*>{g0.data()}, c.dim)[0];
    const auto len = norms(c.rows, c.dim);
    std::vector<double> dot(c.n);
    core::parallel_for(c.n, [&](std::size_t k) {
      double s0 = 0, s1 = 0;
      const float* x = c.rows[k];
      std::size_t i = 0;
      for (; i + 2 <= c.dim; i += 2) s0 += double(x[i]) * g0[i], s1 += double(x[i + 1]) * g0[i + 1];
      for (; i < c.dim; ++i) s0 += double(x[i]) * g0[i];
      dot[k] = s0 + s1;
    });
    std::vector<double> ts(c.n, 0.0), coef(c.n, 0.0);
    double total = 0;
    for (std::size_t k = 0; k < c.n; ++k) {
      if (len[k] > 0 && n0 > 0) ts[k] = std::max(0.0, dot[k] / (len[k] * n0));
      total += ts[k];
    }
    if (total > 0)
      for (std::size_t k = 0; k < c.n; ++k) coef[k] = ts[k] / total * (n0 / len[k]);
    linear_combination(c.rows, coef, out);
    set_trust(c, share_ratio(c, ts), report);
  }
};

}  // namespace

void register_fltrust(AggregatorRegistry& reg) {
  reg.add({"fltrust",
           "trust-weighted mean of the updates rescaled to the server's root update norm, trust "
           "ReLU(cos(g_i, g_0)) (Cao et al. 2021); needs the root update; ignores sample "
           "weights; trust = the trust score's share over the FedAvg share",
           {f_doc("not used (no bound)")}},
          [](const scenario::ParamView& p) { return std::make_unique<FlTrust>(read_f(p)); });
}

}  // namespace ledgerfl::fl::aggs
