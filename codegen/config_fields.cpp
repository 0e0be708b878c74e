// Legal values of a config field, and their wording in messages.
#include "codegen/config_fields.h"

#include <algorithm>

namespace gqaforge::codegen {

bool LegalValues::contains(int v) const {
  if (!list.empty()) return std::find(list.begin(), list.end(), v) != list.end();
  if (v < lo || v > hi) return false;
  return step <= 1 || v % step == 0;
}

std::string LegalValues::describe() const {
  if (!list.empty()) {
    std::string out;
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) out += i + 1 == list.size() ? " or " : ", ";
      out += std::to_string(list[i]);
    }
    return out;
  }
  if (lo == INT_MIN && hi == INT_MAX) return "any integer";
  if (step > 1) return fmt::format("a multiple of {} in {}..{}", step, lo, hi);
  return fmt::format("in {}..{}", lo, hi);
}

}  // namespace gqaforge::codegen
