// label_flip: a data-poisoning attack that relabels the identity's rows, source class ->
// target class (Biggio et al. 2012; the "all c -> classes - 1 - c" default is the label flip of
// Fang et al. 2020 and Tolpegin et al. 2020, "Data poisoning attacks against federated
// learning systems", ESORICS).
#include <map>
#include <string>

#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

namespace {

class LabelFlip final : public ClientAttack {
 public:
  // map[c] = the label class c becomes (map[c] == c: untouched).
  explicit LabelFlip(std::vector<std::int32_t> map) : map_(std::move(map)) {}
  std::string name() const override { return "label_flip"; }
  bool poisons_data() const override { return true; }
  void poison(std::size_t, std::size_t, std::int64_t, std::span<float>, int,
              std::span<std::int32_t> labels, core::Rng&) const override {
    for (auto& y : labels)
      if (y >= 0 && static_cast<std::size_t>(y) < map_.size())
        y = map_[static_cast<std::size_t>(y)];
  }
  bool success_set(const data::Dataset& test, data::Dataset& out) const override {
    std::size_t count = 0;
    for (auto y : test.labels) count += flipped(y);
    out.name = test.name + "/label_flip";
    out.num_classes = test.num_classes;
    out.features.resize(static_cast<Eigen::Index>(count), test.features.cols());
    out.labels.resize(count);
    Eigen::Index r = 0;
    for (std::size_t i = 0; i < test.size(); ++i) {
      const auto y = test.labels[i];
      if (!flipped(y)) continue;
      out.features.row(r) = test.features.row(static_cast<Eigen::Index>(i));
      out.labels[static_cast<std::size_t>(r)] = map_[static_cast<std::size_t>(y)];
      ++r;
    }
    return true;
  }

 private:
  bool flipped(std::int32_t y) const {
    return y >= 0 && static_cast<std::size_t>(y) < map_.size() &&
           map_[static_cast<std::size_t>(y)] != y;
  }
  std::vector<std::int32_t> map_;
};

std::int32_t class_index(const scenario::ParamView& p, std::string_view key, std::int64_t v,
                         int classes) {
  if (v < 0 || v >= classes)
    p.fail(key,
           "= " + std::to_string(v) + " is not a class in [0, " + std::to_string(classes) + ")");
  return static_cast<std::int32_t>(v);
}

std::unique_ptr<ClientAttack> make(const scenario::ParamView& p, int, int classes) {
  if (classes <= 0) p.fail("", "label_flip needs the number of classes");
  std::vector<std::int32_t> map(static_cast<std::size_t>(classes));
  const bool has_map = p.has("map"), has_source = p.has("source"), has_target = p.has("target");
  if (has_map && (has_source || has_target))
    p.fail("map", "give either `map` or `source`/`target`, not both");
  if (has_source != has_target)
    p.fail(has_source ? "source" : "target", "`source` and `target` go together");
  for (int c = 0; c < classes; ++c) map[static_cast<std::size_t>(c)] = c;
  if (has_map) {
    // map = { 3 = 5, 7 = 1 }: keys are source classes, values their targets.
    const scenario::ParamView m = p.table("map");
    const auto keys = m.keys();
    if (keys.empty()) p.fail("map", "is empty");
    for (const auto& k : keys) {
      std::int64_t src = -1;
      try {
        std::size_t used = 0;
        src = std::stoll(k, &used);
        if (used != k.size()) src = -1;
      } catch (const std::exception&) {
        src = -1;
      }
      if (src < 0) m.fail(k, "map keys are source class numbers (e.g. map = { 3 = 5 })");
      const std::int32_t s = class_index(m, k, src, classes);
      map[static_cast<std::size_t>(s)] = class_index(m, k, m.integer(k, std::nullopt), classes);
    }
  } else if (has_source) {
    const std::int32_t s = class_index(p, "source", p.integer("source", std::nullopt), classes);
    map[static_cast<std::size_t>(s)] =
        class_index(p, "target", p.integer("target", std::nullopt), classes);
  } else {
    for (int c = 0; c < classes; ++c) map[static_cast<std::size_t>(c)] = classes - 1 - c;
  }
  return std::make_unique<LabelFlip>(std::move(map));
}

}  // namespace

void register_label_flip(AttackRegistry& reg) {
  reg.add({"label_flip",
           "data poisoning: the identity's labels are flipped source -> target (Tolpegin et al. "
           "2020); success set = test inputs of the source classes, labelled with their targets",
           {{"map", "table", "every c -> classes - 1 - c", "",
             "source -> target class pairs, e.g. map = { 3 = 5, 7 = 1 }; classes not listed keep "
             "their labels"},
            {"source", "int", "", "class",
             "optional (absent = use `map`): shorthand for one pair, with `target`"},
            {"target", "int", "", "class", "optional, with `source`: the class `source` becomes"}}},
          make);
}

}  // namespace ledgerfl::agents::attacks
