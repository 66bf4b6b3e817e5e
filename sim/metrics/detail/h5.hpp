// Thin RAII layer over the HDF5 1.10 C API (private to sim/metrics: includes hdf5.h).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/metrics/error.hpp"

namespace ledgerfl::metrics::h5 {

// Turns off HDF5's automatic error printing for the calling thread; our errors carry the detail.
void silence_errors();

// The innermost message of the current thread's HDF5 error stack ("" if empty).
std::string error_detail();

// Throws H5Error "FILE: OBJECT: what (hdf5: detail)".
[[noreturn]] void fail(std::string_view file, std::string_view object, std::string_view what);

// Where an operation happens, for error messages.
struct Where {
  std::string_view file;
  std::string_view object;
};

inline hid_t check_id(hid_t id, Where w, std::string_view what) {
  if (id < 0) fail(w.file, w.object, what);
  return id;
}
inline void check(herr_t rc, Where w, std::string_view what) {
  if (rc < 0) fail(w.file, w.object, what);
}

// A move-only owner of one HDF5 identifier (file, group, dataset, dataspace, datatype,
// attribute or property list); closes it with the matching H5?close on destruction.
class Handle {
 public:
  enum class Kind { kFile, kGroup, kDataset, kDataspace, kDatatype, kAttribute, kPlist };

  Handle() = default;
  Handle(hid_t id, Kind kind) : id_(id), kind_(kind) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), kind_(o.kind_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      kind_ = o.kind_;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now; returns the close status (negative on failure) so files can report it.
  herr_t reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
  Kind kind_ = Kind::kPlist;
};

// Checked constructors: each throws H5Error with `w` on failure.
Handle own(hid_t id, Handle::Kind kind, Where w, std::string_view what);

// Chunks hold at most kChunkBytes (with their 4-byte Fletcher-32 checksum: one 4 KiB page) and
// start on a page boundary (see file_access_plist): a chunk is then written by one pwrite() that
// stays inside one page, which SIGKILL cannot tear (Linux checks for a fatal signal only between
// the pages of a write). Rows per chunk for a row of `row_size` bytes:
inline constexpr std::size_t kPageBytes = 4096;
inline constexpr std::size_t kChunkBytes = kPageBytes - 4;
inline hsize_t chunk_rows_for(std::size_t row_size) {
  return row_size >= kChunkBytes ? 1 : kChunkBytes / row_size;
}

// File access properties that keep a killed writer's file readable (see h5.cpp).
Handle file_access_plist(Where w);
Handle create_file(const std::string& path);  // truncates
Handle open_file_readonly(const std::string& path);

// Groups. ensure_group creates missing intermediate groups; `tracked` records link creation
// order (so readers list columns in the order they were created) and forces dense attribute
// storage (attributes of any size, e.g. a whole scenario file).
Handle ensure_group(hid_t file, const std::string& path, Where w, bool tracked = false);
Handle open_group(hid_t loc, const std::string& path, Where w);
bool exists(hid_t file, const std::string& path);  // every component of path exists
// Names of the links in a group, in creation order when tracked, else by name.
std::vector<std::string> link_names(hid_t group, Where w);
// Names of the attributes on an object, by name order.
std::vector<std::string> attribute_names(hid_t loc, Where w);

// Extensible chunked 1-D dataset of `file_type`, initially empty. `compress`: shuffle + deflate
// level 4 when the deflate filter is available. Every chunk carries a Fletcher-32 checksum.
Handle create_extensible(hid_t loc, const std::string& name, hid_t file_type, hsize_t chunk_rows,
                         bool compress, Where w);
Handle open_dataset(hid_t loc, const std::string& name, Where w);
hsize_t rows(hid_t dataset, Where w);  // extent of a 1-D dataset
// Appends n rows laid out in memory as `mem_type`.
void append(hid_t dataset, hid_t mem_type, hsize_t n, const void* data, Where w);
// Reads rows [0, n) of a 1-D dataset into `out` (n * H5Tget_size(mem_type) bytes).
void read_rows(hid_t dataset, hid_t mem_type, hsize_t n, void* out, Where w);

// Attributes (scalar). Writing replaces an existing attribute of the same name.
void write_attr(hid_t loc, const std::string& name, const std::string& value, Where w);
void write_attr(hid_t loc, const std::string& name, std::int64_t value, Where w);
// nullopt if absent; H5Error if present with another type.
std::optional<std::string> read_attr_string(hid_t loc, const std::string& name, Where w);
std::optional<std::int64_t> read_attr_int(hid_t loc, const std::string& name, Where w);

// Record tables: a packed compound type with one member per column, in column order:
// kInt64 -> 64-bit signed integer, kFloat64 -> IEEE double, kHash32 -> array of 32 uint8.
// `native` = the in-memory type (native byte order); otherwise the little-endian file type.
std::size_t cell_size(core::ColumnType t);
Handle compound_type(std::span<const core::ColumnSpec> columns, bool native, Where w);

}  // namespace ledgerfl::metrics::h5
