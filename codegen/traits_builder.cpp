// TraitsBuilder rendering: deterministic, locale independent.
#include <fmt/format.h>

#include "codegen/source.h"

namespace gqaforge::codegen {

void TraitsBuilder::add_type(const std::string& name, const std::string& type, const std::string& comment) {
  lines_.push_back({fmt::format("typedef {} {};", type, name), comment});
}
void TraitsBuilder::add_int(const std::string& name, long long value, const std::string& comment) {
  lines_.push_back({fmt::format("static constexpr int {} = {};", name, value), comment});
}
void TraitsBuilder::add_bool(const std::string& name, bool value, const std::string& comment) {
  lines_.push_back({fmt::format("static constexpr bool {} = {};", name, value ? "true" : "false"), comment});
}
void TraitsBuilder::add_float(const std::string& name, double value, const std::string& comment) {
  lines_.push_back({fmt::format("static constexpr float {} = {:.9g}f;", name, value), comment});
}

std::string TraitsBuilder::render(const std::string& struct_name) const {
  size_t width = 0;
  for (const Line& l : lines_) width = std::max(width, l.decl.size());
  std::string out = fmt::format("struct {} {{\n", struct_name);
  for (const Line& l : lines_) {
    out += fmt::format("  {:<{}}  // {}\n", l.decl, width, l.comment);
  }
  out += "};\n";
  return out;
}

}  // namespace gqaforge::codegen
