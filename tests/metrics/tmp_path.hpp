// Temporary file paths for the metrics tests, under LEDGERFL_BINARY_DIR/tests_tmp/metrics.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace ledgerfl::metrics::testing {

// A unique path (per process and call) that is removed when the object goes out of scope.
class TmpPath {
 public:
  explicit TmpPath(const std::string& stem) {
    static std::atomic<int> counter{0};
    const std::filesystem::path dir =
        std::filesystem::path(LEDGERFL_BINARY_DIR) / "tests_tmp" / "metrics";
    std::filesystem::create_directories(dir);
    path_ = (dir / (stem + "_" + std::to_string(::getpid()) + "_" +
                    std::to_string(counter.fetch_add(1)) + ".h5"))
                .string();
    std::filesystem::remove(path_);
  }
  ~TmpPath() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TmpPath(const TmpPath&) = delete;
  TmpPath& operator=(const TmpPath&) = delete;
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ledgerfl::metrics::testing
