// Host-side bf16 / fp16 conversions (round to nearest even), bit-exact with the device's
// cvt.rn instructions, for preparing inputs and reading outputs of 16-bit kernels.
#pragma once

#include <cstdint>
#include <cstring>

namespace gqaforge {

inline float bf16_to_float(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

float fp16_to_float(uint16_t bits);
uint16_t float_to_fp16(float f);

/// Converts 16-bit storage of either type; `is_bf16` selects.
inline float half_to_float(uint16_t bits, bool is_bf16) {
  return is_bf16 ? bf16_to_float(bits) : fp16_to_float(bits);
}
inline uint16_t float_to_half(float f, bool is_bf16) {
  return is_bf16 ? float_to_bf16(f) : float_to_fp16(f);
}

}  // namespace gqaforge
