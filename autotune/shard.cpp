// Shard partition.
#include "autotune/shard.h"

#include "core/sha256.h"
#include "core/strings.h"

namespace gqaforge::autotune {

uint64_t shard_hash(const std::string& key) {
  Sha256 h;
  h.update(key);
  const auto d = h.digest();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[static_cast<size_t>(i)];
  return v;
}

bool Shard::owns(const std::string& key) const {
  return count <= 1 || shard_hash(key) % static_cast<uint64_t>(count) == static_cast<uint64_t>(index);
}

std::string Shard::label() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

Result<Shard> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return invalid_argument("shard '{}' is not of the form i/n", text);
  auto i = parse_int(text.substr(0, slash));
  auto n = parse_int(text.substr(slash + 1));
  if (!i.ok() || !n.ok()) return invalid_argument("shard '{}' is not of the form i/n with integers", text);
  if (*n < 1 || *n > 1000000) return invalid_argument("shard '{}': the count {} must be in 1..1000000", text, *n);
  if (*i < 0 || *i >= *n) return invalid_argument("shard '{}': the index {} must be in 0..{}", text, *i, *n - 1);
  Shard s;
  s.index = static_cast<int>(*i);
  s.count = static_cast<int>(*n);
  return s;
}

}  // namespace gqaforge::autotune
