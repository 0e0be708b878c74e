// Deterministic partition of a sweep across processes or hosts (`--shard i/n`): a work item
// belongs to shard hash(key) mod n, so the n shards are disjoint and together complete, and a
// rerun with the same n gives every shard the same items.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace gqaforge::autotune {

struct Shard {
  int index = 0;  // 0-based
  int count = 1;

  /// True when the item `key` belongs to this shard.
  bool owns(const std::string& key) const;
  std::string label() const;  // "2/8"
};

/// Parses "i/n" with 0 <= i < n; errors name the text.
Result<Shard> parse_shard(const std::string& text);

/// Stable 64-bit hash of a key (the first 8 bytes of its sha256).
uint64_t shard_hash(const std::string& key);

}  // namespace gqaforge::autotune
