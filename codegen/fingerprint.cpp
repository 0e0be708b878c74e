// codegen_fingerprint(): the identity of the kernel templates compiled into this binary.
#include <fmt/format.h>

#include "codegen/source.h"
#include "core/sha256.h"

namespace gqaforge::codegen {

const std::string& codegen_fingerprint() {
  static const std::string fingerprint = [] {
    std::string text = fmt::format("codegen v{}\n", kCodegenVersion);
    for (const EmbeddedHeader& h : embedded_headers()) {
      // Length-prefixed, so no concatenation of two different sets can collide.
      const std::string body = h.text;
      text += fmt::format("{} {}\n{}\n", h.name, body.size(), body);
    }
    return sha256_hex(text).substr(0, 16);
  }();
  return fingerprint;
}

}  // namespace gqaforge::codegen
