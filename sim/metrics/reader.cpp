// H5Reader: rounds, timing, metadata and record tables back out of a run file.
#include "sim/metrics/reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "sim/metrics/detail/h5.hpp"
#include "sim/metrics/detail/integrity.hpp"

namespace ledgerfl::metrics {

namespace {

using h5::Handle;
using h5::Where;
using K = h5::Handle::Kind;

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();

std::string round_object(const std::string& name) {
  return "/rounds/" + name;
}

}  // namespace

struct H5Reader::Impl {
  Handle file;
  // Rows per dataset at the last commit (/integrity); nullopt for a file without one.
  std::optional<std::map<std::string, std::size_t>> committed;

  std::size_t limit(const std::string& object, std::size_t extent) const {
    if (!committed) return extent;
    const auto it = committed->find(object);
    return it == committed->end() ? 0 : std::min(extent, it->second);
  }
};

H5Reader::H5Reader(const std::string& path)
    : path_(path), impl_(std::make_unique<Impl>(Impl{h5::open_file_readonly(path), {}})) {
  const auto st = integrity::read_state(impl_->file.get(), path_);
  if (st.present) impl_->committed = st.committed();
}

H5Reader::~H5Reader() = default;
H5Reader::H5Reader(H5Reader&&) noexcept = default;
H5Reader& H5Reader::operator=(H5Reader&&) noexcept = default;

bool H5Reader::has(const std::string& path) const {
  return h5::exists(impl_->file.get(), path);
}

std::size_t H5Reader::rounds() const {
  if (has("/timing/wall_s")) {
    const Where w{path_, "/timing/wall_s"};
    Handle ds = h5::open_dataset(impl_->file.get(), "/timing/wall_s", w);
    return impl_->limit("/timing/wall_s", h5::rows(ds.get(), w));
  }
  // A file without /timing (not written by H5Writer): the shortest /rounds column.
  std::size_t n = 0;
  bool first = true;
  for (const auto& name : round_metrics()) {
    const std::string object = round_object(name);
    const Where w{path_, object};
    Handle ds = h5::open_dataset(impl_->file.get(), object, w);
    const std::size_t len = h5::rows(ds.get(), w);
    n = first ? len : std::min(n, len);
    first = false;
  }
  return n;
}

std::vector<std::string> H5Reader::round_metrics() const {
  if (!has("/rounds")) return {};
  const Where w{path_, "/rounds"};
  Handle g = h5::open_group(impl_->file.get(), "/rounds", w);
  return h5::link_names(g.get(), w);
}

bool H5Reader::round_metric_is_int(const std::string& name) const {
  const std::string object = round_object(name);
  const Where w{path_, object};
  if (!has(object)) h5::fail(path_, object, "no such round metric");
  Handle ds = h5::open_dataset(impl_->file.get(), object, w);
  Handle type = h5::own(H5Dget_type(ds.get()), K::kDatatype, w, "cannot get type");
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_INTEGER) return true;
  if (cls == H5T_FLOAT) return false;
  h5::fail(path_, object, "round metric is neither integer nor floating point");
}

namespace {

// Reads the first min(extent, limit) values of a 1-D numeric dataset as `mem_type`.
template <class T>
std::vector<T> read_column(hid_t file, const std::string& path, const std::string& object,
                           hid_t mem_type, std::size_t limit) {
  const Where w{path, object};
  if (!h5::exists(file, object)) h5::fail(path, object, "no such dataset");
  Handle ds = h5::open_dataset(file, object, w);
  const hsize_t n = std::min<hsize_t>(h5::rows(ds.get(), w), limit);
  std::vector<T> out(n);
  h5::read_rows(ds.get(), mem_type, n, out.data(), w);
  return out;
}

}  // namespace

std::vector<double> H5Reader::round_column(const std::string& name) const {
  if (round_metric_is_int(name)) {
    const auto ints = round_column_int(name);
    std::vector<double> out(ints.size());
    std::transform(ints.begin(), ints.end(), out.begin(), [](std::int64_t v) {
      return v == kMissingInt ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(v);
    });
    return out;
  }
  return read_column<double>(impl_->file.get(), path_, round_object(name), H5T_NATIVE_DOUBLE,
                             rounds());
}

std::vector<std::int64_t> H5Reader::round_column_int(const std::string& name) const {
  if (!round_metric_is_int(name))
    h5::fail(path_, round_object(name), "round metric is float64, not int64");
  return read_column<std::int64_t>(impl_->file.get(), path_, round_object(name), H5T_NATIVE_INT64,
                                   rounds());
}

std::vector<double> H5Reader::timing_wall_s() const {
  return read_column<double>(impl_->file.get(), path_, "/timing/wall_s", H5T_NATIVE_DOUBLE,
                             rounds());
}

std::optional<std::string> H5Reader::meta_string(const std::string& name) const {
  if (!has("/meta")) return std::nullopt;
  const Where w{path_, "/meta"};
  Handle g = h5::open_group(impl_->file.get(), "/meta", w);
  return h5::read_attr_string(g.get(), name, w);
}

std::optional<std::int64_t> H5Reader::meta_int(const std::string& name) const {
  if (!has("/meta")) return std::nullopt;
  const Where w{path_, "/meta"};
  Handle g = h5::open_group(impl_->file.get(), "/meta", w);
  return h5::read_attr_int(g.get(), name, w);
}

std::vector<std::string> H5Reader::meta_names() const {
  if (!has("/meta")) return {};
  const Where w{path_, "/meta"};
  Handle g = h5::open_group(impl_->file.get(), "/meta", w);
  const std::vector<std::string> names = h5::attribute_names(g.get(), w);
  return names;
}

std::vector<core::ColumnSpec> H5Reader::table_columns(const std::string& path) const {
  const Where w{path_, path};
  if (!has(path)) h5::fail(path_, path, "no such table");
  Handle ds = h5::open_dataset(impl_->file.get(), path, w);
  Handle type = h5::own(H5Dget_type(ds.get()), K::kDatatype, w, "cannot get type");
  if (H5Tget_class(type.get()) != H5T_COMPOUND) h5::fail(path_, path, "not a table (compound)");
  const int n = H5Tget_nmembers(type.get());
  h5::check(n, w, "cannot count columns");
  std::vector<core::ColumnSpec> columns;
  for (int i = 0; i < n; ++i) {
    char* raw = H5Tget_member_name(type.get(), static_cast<unsigned>(i));
    if (raw == nullptr) h5::fail(path_, path, "cannot get column name");
    std::string name(raw);
    H5free_memory(raw);
    Handle m = h5::own(H5Tget_member_type(type.get(), static_cast<unsigned>(i)), K::kDatatype, w,
                       "cannot get column type");
    const H5T_class_t cls = H5Tget_class(m.get());
    const std::size_t size = H5Tget_size(m.get());
    if (cls == H5T_INTEGER && size == 8 && H5Tget_sign(m.get()) == H5T_SGN_2) {
      columns.push_back({name, core::ColumnType::kInt64});
      continue;
    }
    if (cls == H5T_FLOAT && size == 8) {
      columns.push_back({name, core::ColumnType::kFloat64});
      continue;
    }
    if (cls == H5T_ARRAY && size == 32) {
      Handle base = h5::own(H5Tget_super(m.get()), K::kDatatype, w, "cannot get array base");
      if (H5Tget_class(base.get()) == H5T_INTEGER && H5Tget_size(base.get()) == 1) {
        columns.push_back({name, core::ColumnType::kHash32});
        continue;
      }
    }
    h5::fail(path_, path, fmt::format("column '{}' has an unsupported type", name));
  }
  return columns;
}

std::size_t H5Reader::table_size(const std::string& path) const {
  const Where w{path_, path};
  if (!has(path)) h5::fail(path_, path, "no such table");
  Handle ds = h5::open_dataset(impl_->file.get(), path, w);
  return impl_->limit(path, h5::rows(ds.get(), w));
}

std::vector<std::vector<core::Cell>> H5Reader::table_rows(const std::string& path) const {
  const auto columns = table_columns(path);
  const Where w{path_, path};
  Handle ds = h5::open_dataset(impl_->file.get(), path, w);
  const hsize_t n = impl_->limit(path, h5::rows(ds.get(), w));
  Handle mem_type = h5::compound_type(columns, /*native=*/true, w);
  const std::size_t row_size = H5Tget_size(mem_type.get());
  std::vector<std::byte> buf(n * row_size);
  h5::read_rows(ds.get(), mem_type.get(), n, buf.data(), w);
  std::vector<std::vector<core::Cell>> rows(n);
  for (hsize_t r = 0; r < n; ++r) {
    const std::byte* src = buf.data() + r * row_size;
    auto& row = rows[r];
    row.reserve(columns.size());
    for (const auto& c : columns) {
      switch (c.type) {
        case core::ColumnType::kInt64: {
          std::int64_t v;
          std::memcpy(&v, src, sizeof v);
          row.emplace_back(v);
          break;
        }
        case core::ColumnType::kFloat64: {
          double v;
          std::memcpy(&v, src, sizeof v);
          row.emplace_back(v);
          break;
        }
        case core::ColumnType::kHash32: {
          core::Hash32 v;
          std::memcpy(v.data(), src, v.size());
          row.emplace_back(v);
          break;
        }
      }
      src += h5::cell_size(c.type);
    }
  }
  return rows;
}

}  // namespace ledgerfl::metrics
