// SHA-256 (FIPS 180-4) for cache keys and entry checksums; no external crypto dependency.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gqaforge {

/// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  std::array<uint8_t, 32> digest();  // finalises; the object must not be updated afterwards

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

/// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);
std::string to_hex(const uint8_t* data, size_t size);

}  // namespace gqaforge
