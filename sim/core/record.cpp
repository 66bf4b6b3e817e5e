// Result sinks: fan-out to several sinks and an in-memory sink for tests.
#include "sim/core/record.hpp"

#include <cmath>
#include <limits>

namespace ledgerfl::core {

const MetricValue* RoundSummary::find(std::string_view name) const {
  for (const auto& [k, v] : metrics)
    if (k == name) return &v;
  return nullptr;
}

double RoundSummary::get_double(std::string_view name) const {
  const MetricValue* v = find(name);
  if (!v) return std::numeric_limits<double>::quiet_NaN();
  return std::visit([](auto x) { return static_cast<double>(x); }, *v);
}

namespace {
class FanoutTable final : public TableSink {
 public:
  void append(std::span<const Cell> row) override {
    for (auto* t : targets) t->append(row);
  }
  std::vector<TableSink*> targets;
};
class MemoryTable final : public TableSink {
 public:
  explicit MemoryTable(MemorySink::Table& t) : t_(t) {}
  void append(std::span<const Cell> row) override { t_.rows.emplace_back(row.begin(), row.end()); }

 private:
  MemorySink::Table& t_;
};
}  // namespace

void SinkFanout::on_round(const RoundSummary& r) {
  for (auto* s : sinks_) s->on_round(r);
}
TableSink& SinkFanout::table(const std::string& path, std::span<const ColumnSpec> columns) {
  auto t = std::make_unique<FanoutTable>();
  for (auto* s : sinks_) t->targets.push_back(&s->table(path, columns));
  fanout_tables_.push_back(std::move(t));
  return *fanout_tables_.back();
}
void SinkFanout::set_meta(const std::string& name, const std::string& value) {
  for (auto* s : sinks_) s->set_meta(name, value);
}
void SinkFanout::set_meta(const std::string& name, std::int64_t value) {
  for (auto* s : sinks_) s->set_meta(name, value);
}
void SinkFanout::flush() {
  for (auto* s : sinks_) s->flush();
}
void SinkFanout::on_finish() {
  for (auto* s : sinks_) s->on_finish();
}

TableSink& MemorySink::table(const std::string& path, std::span<const ColumnSpec> columns) {
  for (auto& [p, t] : tables)
    if (p == path) {
      writers_.push_back(std::make_unique<MemoryTable>(*t));
      return *writers_.back();
    }
  auto t = std::make_unique<Table>();
  t->columns.assign(columns.begin(), columns.end());
  tables.emplace_back(path, std::move(t));
  writers_.push_back(std::make_unique<MemoryTable>(*tables.back().second));
  return *writers_.back();
}

std::vector<double> MemorySink::column(std::string_view name) const {
  std::vector<double> out;
  out.reserve(rounds.size());
  for (const auto& r : rounds) out.push_back(r.get_double(name));
  return out;
}

}  // namespace ledgerfl::core
