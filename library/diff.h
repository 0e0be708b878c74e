// Comparing two libraries: what `gqaforge library diff` prints. Classes by key, dispatch
// entries by (class, bucket), configs by canonical text, measured times side by side.
#pragma once

#include <string>
#include <vector>

#include "library/contents.h"

namespace gqaforge::library {

struct ManifestChange {
  std::string key;  // "nvrtc_version", ...
  std::string a, b;
};

struct ClassChange {
  std::string key, name;
  std::string a, b;  // its source in each ("tuned", "default", "" = absent)
};

/// One bucket of a class as the two libraries serve it.
struct EntryChange {
  enum Kind { kOnlyA, kOnlyB, kConfig, kTime };
  Kind kind = kConfig;
  std::string class_key, class_name;
  std::string bucket;  // "batch 5-16, kv_len 16385-65536"
  std::string config_a, config_b;
  double us_a = 0, us_b = 0;  // measured times (0 where absent)
};
const char* entry_change_name(EntryChange::Kind kind);  // "only in A", "only in B", "config", "time"

struct LibraryDiff {
  std::vector<ManifestChange> manifest;  // build provenance that differs (created_at left out)
  std::vector<ClassChange> classes;      // classes present in one only, or tuned in one and default in the other
  std::vector<EntryChange> entries;      // buckets present in one only, or with another config or time
  int64_t same_entries = 0;              // buckets with the same config and time in both
  bool same_dispatch() const { return classes.empty() && entries.empty(); }
};

LibraryDiff diff_libraries(const LibraryContents& a, const LibraryContents& b);

}  // namespace gqaforge::library
