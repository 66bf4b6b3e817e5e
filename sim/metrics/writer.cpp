// H5Writer: appends rounds, timing, tables and metadata to the run's HDF5 file, flushing per round.
#include "sim/metrics/writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include "sim/metrics/detail/h5.hpp"
#include "sim/metrics/detail/integrity.hpp"

namespace ledgerfl::metrics {

namespace {

using h5::Handle;
using h5::Where;
using K = h5::Handle::Kind;

constexpr double kMissingFloat = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();

// /rounds and /timing are not compressed: they are a few KiB per metric, and every round's flush
// rewrites the last chunk of each, so deflate would cost a compressor set-up per metric per round
// (measured: 4.5 ms per round of 30 metrics with deflate, see README). Tables are not compressed
// either (kill safety, see table()).
constexpr bool kCompressRounds = false;

const char* type_name(core::ColumnType t) {
  switch (t) {
    case core::ColumnType::kInt64:
      return "int64";
    case core::ColumnType::kFloat64:
      return "float64";
    case core::ColumnType::kHash32:
      return "hash32";
  }
  return "?";
}

// "/a//b/" -> "/a/b"
std::string normalize_path(const std::string& path) {
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    const std::size_t j = std::min(path.find('/', i), path.size());
    if (j > i) {
      out += '/';
      out.append(path, i, j - i);
    }
    i = j + 1;
  }
  return out;
}

// A dataset under the digest chain: rows written so far, rows committed by the last flush, and
// the SHA-256 of the bytes written since then (not fed for /timing/wall_s: wall clock).
struct Tracked {
  std::string name;
  std::int64_t committed = 0, written = 0;
  integrity::Sha256 sha;
};

// One record table: rows are packed into a buffer and appended to the dataset in order.
class H5Table final : public core::TableSink {
 public:
  H5Table(const std::string& file_path, std::string path, std::vector<core::ColumnSpec> columns,
          Handle dataset, Handle mem_type, Tracked& tracked)
      : tracked_(tracked),
        file_path_(file_path),
        path_(std::move(path)),
        columns_(std::move(columns)),
        dataset_(std::move(dataset)),
        mem_type_(std::move(mem_type)) {
    for (const auto& c : columns_) {
      offsets_.push_back(row_size_);
      row_size_ += h5::cell_size(c.type);
    }
    buffer_.reserve(row_size_ * 64);
  }

  void append(std::span<const core::Cell> row) override {
    h5::silence_errors();  // for this thread
    if (!dataset_) throw H5Error(fmt::format("{}: {}: file is closed", file_path_, path_));
    if (row.size() != columns_.size())
      throw std::invalid_argument(fmt::format("table {}: row has {} cells, expected {}", path_,
                                              row.size(), columns_.size()));
    const std::size_t at = buffer_.size();
    buffer_.resize(at + row_size_);
    std::byte* dst = buffer_.data() + at;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const core::ColumnType t = columns_[i].type;
      const std::size_t want = static_cast<std::size_t>(t);  // variant index matches the enum
      if (row[i].index() != want) {
        buffer_.resize(at);
        throw std::invalid_argument(fmt::format("table {}: column '{}' is {}, got cell of type {}",
                                                path_, columns_[i].name, type_name(t),
                                                type_name(core::ColumnType(row[i].index()))));
      }
      std::visit([&](const auto& v) { std::memcpy(dst + offsets_[i], &v, sizeof v); }, row[i]);
    }
    if (++buffered_ >= H5Writer::kTableBufferRows) flush();
  }

  void flush() {
    if (buffered_ == 0 || !dataset_) return;
    h5::append(dataset_.get(), mem_type_.get(), buffered_, buffer_.data(),
               Where{file_path_, path_});
    tracked_.sha.update(buffer_.data(), buffered_ * row_size_);
    tracked_.written += static_cast<std::int64_t>(buffered_);
    buffer_.clear();
    buffered_ = 0;
  }

  void close() {
    dataset_.reset();
    mem_type_.reset();
  }

  const std::vector<core::ColumnSpec>& columns() const { return columns_; }

 private:
  Tracked& tracked_;
  const std::string& file_path_;
  std::string path_;
  std::vector<core::ColumnSpec> columns_;
  Handle dataset_;
  Handle mem_type_;
  std::vector<std::size_t> offsets_;
  std::size_t row_size_ = 0;
  std::vector<std::byte> buffer_;
  std::size_t buffered_ = 0;
};

static_assert(std::is_same_v<std::variant_alternative_t<0, core::Cell>, std::int64_t> &&
                  std::is_same_v<std::variant_alternative_t<1, core::Cell>, double> &&
                  std::is_same_v<std::variant_alternative_t<2, core::Cell>, core::Hash32>,
              "Cell alternatives must follow ColumnType order");

}  // namespace

struct H5Writer::Impl {
  struct Column {
    std::string name;
    bool is_int = false;
    Handle dataset;
    Tracked* tracked = nullptr;
  };

  const std::string& path;
  Handle file;
  Handle meta;
  Handle rounds_group;
  Handle timing_group;
  Handle wall_s;
  std::vector<Column> columns;
  std::unordered_map<std::string, std::size_t> column_index;
  std::vector<std::pair<std::string, std::unique_ptr<H5Table>>> tables;
  std::size_t rounds = 0;

  // The digest chain (see sim/metrics/README.md, "Integrity").
  Handle integrity_group, rows_ds, commits_ds, rows_mem, commits_mem;
  std::vector<std::unique_ptr<Tracked>> tracked;  // object id = index; 0 is /timing/wall_s
  std::vector<std::string> names;
  std::map<std::string, integrity::MetaValue> meta_values;
  integrity::Digest meta_digest{}, last{};
  bool meta_changed = true;
  std::int64_t flushes = 0, rows_entries = 0;

  // The file is created under a sibling name and renamed to `path` once its first commit is on
  // disk, so `path` never names a file killed inside H5Fcreate (a superblock half written):
  // whatever holds the name is readable up to its last commit. A run killed before its first
  // commit leaves only `<path>.partial-<pid>`.
  std::string partial;
  explicit Impl(const std::string& p)
      : path(p), partial(fmt::format("{}.partial-{}", p, static_cast<long>(::getpid()))) {
    file = h5::create_file(partial);
    const Where w{path, "/"};
    meta = h5::ensure_group(file.get(), "/meta", w, /*tracked=*/true);
    rounds_group = h5::ensure_group(file.get(), "/rounds", w, /*tracked=*/true);
    timing_group = h5::ensure_group(file.get(), "/timing", w, /*tracked=*/true);
    wall_s = h5::create_extensible(timing_group.get(), "wall_s", H5T_IEEE_F64LE, kRoundChunkRows,
                                   kCompressRounds, Where{path, "/timing/wall_s"});
    const Where wi{path, integrity::kGroup};
    integrity_group = h5::ensure_group(file.get(), integrity::kGroup, wi);
    const auto rc = integrity::rows_columns();
    const auto cc = integrity::commits_columns();
    Handle rows_file = h5::compound_type(rc, /*native=*/false, wi);
    Handle commits_file = h5::compound_type(cc, /*native=*/false, wi);
    rows_mem = h5::compound_type(rc, /*native=*/true, wi);
    commits_mem = h5::compound_type(cc, /*native=*/true, wi);
    rows_ds = h5::create_extensible(integrity_group.get(), "rows", rows_file.get(),
                                    h5::chunk_rows_for(24), false, Where{path, integrity::kRows});
    commits_ds =
        h5::create_extensible(integrity_group.get(), "commits", commits_file.get(),
                              h5::chunk_rows_for(80), false, Where{path, integrity::kCommits});
    track(integrity::kTiming);
  }

  // Registers a dataset under the chain; its id is its position in /integrity's 'objects'.
  Tracked& track(const std::string& name) {
    tracked.push_back(std::make_unique<Tracked>());
    tracked.back()->name = name;
    names.push_back(name);
    std::string joined;
    for (const auto& n : names) joined += (joined.empty() ? "" : "\n") + n;
    h5::write_attr(integrity_group.get(), integrity::kObjectsAttr, joined,
                   Where{path, integrity::kGroup});
    return *tracked.back();
  }

  void ensure_open() const {
    h5::silence_errors();  // for this thread
    if (!file) throw H5Error(fmt::format("{}: file is closed (on_finish was called)", path));
  }

  std::size_t add_column(const std::string& name, bool is_int) {
    const std::string object = "/rounds/" + name;
    const Where w{path, object};
    Column c{
        name, is_int,
        h5::create_extensible(rounds_group.get(), name, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                              kRoundChunkRows, kCompressRounds, w)};
    c.tracked = &track(object);
    // Back-fill the rounds before this metric existed.
    if (rounds > 0) {
      if (is_int) {
        const std::vector<std::int64_t> fill(rounds, kMissingInt);
        h5::append(c.dataset.get(), H5T_NATIVE_INT64, rounds, fill.data(), w);
        c.tracked->sha.update(fill.data(), fill.size() * sizeof fill[0]);
      } else {
        const std::vector<double> fill(rounds, kMissingFloat);
        h5::append(c.dataset.get(), H5T_NATIVE_DOUBLE, rounds, fill.data(), w);
        c.tracked->sha.update(fill.data(), fill.size() * sizeof fill[0]);
      }
      c.tracked->written += static_cast<std::int64_t>(rounds);
    }
    columns.push_back(std::move(c));
    column_index.emplace(name, columns.size() - 1);
    return columns.size() - 1;
  }

  void write_cell(const Column& c, const core::MetricValue* v) {
    const Where w{path, "/rounds/" + c.name};
    if (c.is_int) {
      const std::int64_t x = v != nullptr ? std::get<std::int64_t>(*v) : kMissingInt;
      h5::append(c.dataset.get(), H5T_NATIVE_INT64, 1, &x, w);
      c.tracked->sha.update(&x, sizeof x);
    } else {
      double x = kMissingFloat;
      if (v != nullptr)
        x = std::holds_alternative<double>(*v) ? std::get<double>(*v)
                                               : static_cast<double>(std::get<std::int64_t>(*v));
      h5::append(c.dataset.get(), H5T_NATIVE_DOUBLE, 1, &x, w);
      c.tracked->sha.update(&x, sizeof x);
    }
    ++c.tracked->written;
  }

  // Writes buffered rows, flushes them to the file, then commits: appends this flush's row
  // counts and its commit row (flush, rows_end, meta digest, chained digest) and flushes again.
  // The commit row is the marker readers trust; rows past it are ignored. Tables are written in
  // reverse creation order so rows that others reference (e.g. /ledger/txs, counted by
  // /ledger/blocks) are in the file first.
  void flush() {
    ensure_open();
    for (auto it = tables.rbegin(); it != tables.rend(); ++it) it->second->flush();
    h5::check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), Where{path, ""}, "cannot flush file");
    commit();
  }

  // `with_rows` false (set_meta): commits /meta alone; rows written since the last commit stay
  // uncommitted until the next flush.
  void commit(bool with_rows = true) {
    std::vector<integrity::Entry> entries;
    for (std::size_t i = 0; with_rows && i < tracked.size(); ++i) {
      Tracked& t = *tracked[i];
      if (t.written > t.committed)
        entries.push_back({static_cast<std::int64_t>(i), t.committed, t.written, t.sha.finish()});
    }
    if (entries.empty() && !meta_changed) return;
    if (meta_changed) meta_digest = integrity::meta_digest(meta_values);
    const integrity::Digest d = integrity::chain_step(last, flushes, meta_digest, entries, names);
    std::vector<std::int64_t> rows_buf;
    for (const auto& e : entries) rows_buf.insert(rows_buf.end(), {flushes, e.object, e.to});
    h5::append(rows_ds.get(), rows_mem.get(), entries.size(), rows_buf.data(),
               Where{path, integrity::kRows});
    rows_entries += static_cast<std::int64_t>(entries.size());
    std::byte row[80];
    std::memcpy(row, &flushes, 8);
    std::memcpy(row + 8, &rows_entries, 8);
    std::memcpy(row + 16, meta_digest.data(), 32);
    std::memcpy(row + 48, d.data(), 32);
    h5::append(commits_ds.get(), commits_mem.get(), 1, row, Where{path, integrity::kCommits});
    h5::check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), Where{path, ""}, "cannot flush file");
    for (const auto& e : entries) tracked[static_cast<std::size_t>(e.object)]->committed = e.to;
    last = d;
    ++flushes;
    meta_changed = false;
    publish();
  }

  // The first commit gives the file its name (see `partial`).
  void publish() {
    if (partial.empty()) return;
    if (std::rename(partial.c_str(), path.c_str()) != 0)
      throw H5Error(
          fmt::format("{}: cannot rename {} to it: {}", path, partial, std::strerror(errno)));
    partial.clear();
  }

  // Closes every object, then the file; throws H5Error if the final close fails.
  void close() {
    std::string first_error;
    try {
      flush();
    } catch (const H5Error& e) {
      first_error = e.what();
    }
    for (auto& [name, t] : tables) t->close();
    for (auto& c : columns) c.dataset.reset();
    rows_ds.reset();
    commits_ds.reset();
    rows_mem.reset();
    commits_mem.reset();
    integrity_group.reset();
    wall_s.reset();
    timing_group.reset();
    rounds_group.reset();
    meta.reset();
    if (file.reset() < 0 && first_error.empty())
      first_error = fmt::format("{}: cannot close file ({})", path, h5::error_detail());
    if (!first_error.empty()) throw H5Error(first_error);
  }
};

H5Writer::H5Writer(const std::string& path) : path_(path), impl_(std::make_unique<Impl>(path_)) {}

H5Writer::~H5Writer() {
  if (!impl_ || !impl_->file) return;
  try {
    impl_->close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ledgerfl: %s\n", e.what());
  }
}

std::size_t H5Writer::rounds() const {
  return impl_->rounds;
}

void H5Writer::on_round(const core::RoundSummary& r) {
  impl_->ensure_open();
  // Validate the whole round before touching the file, so a bad round writes nothing.
  std::unordered_map<std::string_view, const core::MetricValue*> values;
  for (const auto& [name, v] : r.metrics) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw std::invalid_argument(fmt::format(
          "round metric name '{}' is not a valid dataset name (empty or has '/')", name));
    if (!values.emplace(name, &v).second)
      throw std::invalid_argument(
          fmt::format("round metric '{}' appears twice in one round", name));
    const auto it = impl_->column_index.find(name);
    if (it != impl_->column_index.end() && impl_->columns[it->second].is_int &&
        std::holds_alternative<double>(v))
      throw std::invalid_argument(
          fmt::format("round metric '{}' is int64 in earlier rounds but float64 in round {}", name,
                      impl_->rounds));
  }
  for (const auto& [name, v] : r.metrics)
    if (!impl_->column_index.contains(name))
      impl_->add_column(name, std::holds_alternative<std::int64_t>(v));
  for (const auto& c : impl_->columns) {
    const auto it = values.find(c.name);
    impl_->write_cell(c, it != values.end() ? it->second : nullptr);
  }
  // Written last: its length counts complete rounds (see H5Reader::rounds).
  h5::append(impl_->wall_s.get(), H5T_NATIVE_DOUBLE, 1, &r.wall_s, Where{path_, "/timing/wall_s"});
  ++impl_->tracked[0]->written;
  ++impl_->rounds;
  impl_->flush();
}

core::TableSink& H5Writer::table(const std::string& path,
                                 std::span<const core::ColumnSpec> columns) {
  impl_->ensure_open();
  const std::string p = normalize_path(path);
  if (p.empty()) throw std::invalid_argument(fmt::format("table path '{}' is empty", path));
  for (const char* reserved : {"/meta", "/rounds", "/timing", "/integrity"})
    if (p == reserved || p.starts_with(std::string(reserved) + "/"))
      throw std::invalid_argument(
          fmt::format("table path '{}' is inside reserved group {}", p, reserved));
  for (auto& [existing, t] : impl_->tables) {
    if (existing != p) continue;
    const auto& have = t->columns();
    const bool same = std::equal(have.begin(), have.end(), columns.begin(), columns.end(),
                                 [](const core::ColumnSpec& a, const core::ColumnSpec& b) {
                                   return a.name == b.name && a.type == b.type;
                                 });
    if (!same)
      throw std::invalid_argument(fmt::format("table {} already exists with different columns", p));
    return *t;
  }
  if (columns.empty()) throw std::invalid_argument(fmt::format("table {} has no columns", p));
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name.empty())
      throw std::invalid_argument(fmt::format("table {}: column {} has an empty name", p, i));
    for (std::size_t j = 0; j < i; ++j)
      if (columns[j].name == columns[i].name)
        throw std::invalid_argument(
            fmt::format("table {}: column '{}' appears twice", p, columns[i].name));
  }
  const Where w{path_, p};
  const std::size_t slash = p.rfind('/');
  Handle parent = h5::ensure_group(impl_->file.get(), p.substr(0, slash), w);
  Handle file_type = h5::compound_type(columns, /*native=*/false, w);
  Handle mem_type = h5::compound_type(columns, /*native=*/true, w);
  // One page per chunk, uncompressed: a compressed chunk changes size when it is rewritten, so
  // HDF5 moves it and may reuse its old place before the index that points there is flushed;
  // a kill in between leaves committed rows in a chunk that fails its checksum (measured with
  // tests/metrics/kill_runs.py: 3 of 20 kills of a chain run). Uncompressed chunks keep their
  // place and are rewritten by one page-sized write.
  const std::size_t row_size = H5Tget_size(file_type.get());
  const hsize_t chunk = h5::chunk_rows_for(row_size);
  Handle ds = h5::create_extensible(parent.get(), p.substr(slash + 1), file_type.get(), chunk,
                                    /*compress=*/false, w);
  Tracked& tracked = impl_->track(p);
  impl_->tables.emplace_back(
      p, std::make_unique<H5Table>(path_, p,
                                   std::vector<core::ColumnSpec>(columns.begin(), columns.end()),
                                   std::move(ds), std::move(mem_type), tracked));
  return *impl_->tables.back().second;
}

void H5Writer::set_meta(const std::string& name, const std::string& value) {
  impl_->ensure_open();
  h5::write_attr(impl_->meta.get(), name, value, Where{path_, "/meta"});
  impl_->meta_values[name] = value;
  impl_->meta_changed = true;
  impl_->commit(/*with_rows=*/false);  // at once: /meta must match the last commit's meta digest
}

void H5Writer::set_meta(const std::string& name, std::int64_t value) {
  impl_->ensure_open();
  h5::write_attr(impl_->meta.get(), name, value, Where{path_, "/meta"});
  impl_->meta_values[name] = value;
  impl_->meta_changed = true;
  impl_->commit(/*with_rows=*/false);
}

std::string H5Writer::digest_hex() const {
  return integrity::to_hex(impl_->last);
}

std::size_t H5Writer::flushes() const {
  return static_cast<std::size_t>(impl_->flushes);
}

void H5Writer::flush() {
  impl_->flush();
}

void H5Writer::on_finish() {
  if (!impl_->file) return;
  impl_->close();
}

}  // namespace ledgerfl::metrics
