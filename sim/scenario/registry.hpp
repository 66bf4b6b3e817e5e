// Named component registries: name -> {description, parameter docs, factory} (STYLE.md rule 6).
#pragma once

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/params.hpp"

namespace ledgerfl::scenario {

// Documentation of one parameter, for `ledgerfl list` and the README's scenario reference.
struct ParamDoc {
  std::string name;
  // "float", "int", "bool", "string", "duration", "size", "rate", "list<float>", "table"
  std::string type;
  std::string default_value;  // as written in TOML; "" = required
  std::string unit;           // "", "s", "bit/s", "bytes", ...
  std::string meaning;
};

struct EntryDoc {
  std::string name;
  std::string description;  // one line; cite the paper where the component comes from one
  std::vector<ParamDoc> params;
};

// Type-erased view for listing.
class RegistryBase {
 public:
  virtual ~RegistryBase() = default;
  virtual const std::string& kind() const = 0;  // "aggregator"
  // Where it is used: "[learning.aggregator] type = ...".
  virtual const std::string& table_hint() const = 0;
  virtual std::vector<EntryDoc> docs() const = 0;
};

// Registry of one kind of component. Factory is a std::function type, e.g.
// std::function<std::unique_ptr<Aggregator>(const ParamView&)>.
template <class Factory>
class Registry final : public RegistryBase {
 public:
  struct Entry {
    EntryDoc doc;
    Factory factory;
  };

  Registry(std::string kind, std::string table_hint)
      : kind_(std::move(kind)), hint_(std::move(table_hint)) {}

  void add(EntryDoc doc, Factory factory) {
    if (find(doc.name)) throw std::logic_error("duplicate " + kind_ + " '" + doc.name + "'");
    entries_.push_back({std::move(doc), std::move(factory)});
  }
  const Entry* find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.doc.name == name) return &e;
    return nullptr;
  }
  // Reads the component name from p[key] (default: "type") and returns its entry. An unknown
  // name throws InputError positioned at the key, listing the known names and the nearest one.
  const Entry& get(const ParamView& p, std::string_view key = "type",
                   std::optional<std::string> def = std::nullopt) const {
    const std::string name = p.string(key, def);
    if (const Entry* e = find(name)) return *e;
    std::vector<std::string> names;
    for (const auto& e : entries_) names.push_back(e.doc.name);
    std::string msg = "unknown " + kind_ + " \"" + name + "\"; known: ";
    for (std::size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : "") + names[i];
    if (auto n = nearest(name, names)) msg += " (did you mean \"" + *n + "\"?)";
    p.fail(key, msg);
  }
  const std::vector<Entry>& entries() const { return entries_; }

  const std::string& kind() const override { return kind_; }
  const std::string& table_hint() const override { return hint_; }
  std::vector<EntryDoc> docs() const override {
    std::vector<EntryDoc> d;
    for (const auto& e : entries_) d.push_back(e.doc);
    return d;
  }

 private:
  std::string kind_, hint_;
  std::vector<Entry> entries_;
};

// Every registry of the program, for `ledgerfl list` and the README reference. Filled once in
// main by the register_builtin_* functions of each folder (no static self-registration).
class Catalog {
 public:
  void add(const RegistryBase& r) { regs_.push_back(&r); }
  const std::vector<const RegistryBase*>& all() const { return regs_; }
  const RegistryBase* find(std::string_view kind) const {
    for (auto* r : regs_)
      if (r->kind() == kind) return r;
    return nullptr;
  }

 private:
  std::vector<const RegistryBase*> regs_;
};

}  // namespace ledgerfl::scenario
