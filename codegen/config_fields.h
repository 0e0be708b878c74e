// The field table of a kernel config: every tunable field described once (name, member, legal
// values, the values the autotuner tries, the traits-struct member it becomes, its meaning).
// The table drives the config's canonical text, its parsing, the single-field checks of
// validate(), the traits the emitter writes, and the axes of the autotuner's search space;
// rules between fields stay in the config's validate().
#pragma once

#include <climits>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codegen/source.h"
#include "core/status.h"
#include "core/strings.h"

namespace gqaforge::codegen {

/// The values one field may take on its own: a list, or a range (with a step), or anything.
struct LegalValues {
  std::vector<int> list;  // when non-empty: exactly these
  int lo = INT_MIN;
  int hi = INT_MAX;
  int step = 1;

  static LegalValues one_of(std::vector<int> values) { return LegalValues{std::move(values)}; }
  static LegalValues range(int lo, int hi) { return LegalValues{{}, lo, hi, 1}; }
  static LegalValues multiple_of(int step, int lo, int hi) { return LegalValues{{}, lo, hi, step}; }
  /// No single-field rule (the field's legal values depend on other fields or the problem).
  static LegalValues any() { return LegalValues{}; }

  bool contains(int v) const;
  /// What a message says after "must be": "1, 2 or 4", "in 2..8", "a multiple of 16 in 16..256".
  std::string describe() const;
};

/// One field of the config struct `Config` (an int or a 0/1 bool member).
template <class Config>
struct ConfigField {
  const char* name;  // key in the canonical text
  std::variant<int Config::*, bool Config::*> member;
  LegalValues legal;       // bools: 0 or 1, whatever this says
  std::vector<int> tuned;  // the autotuner's values, inside `legal`
  const char* trait;       // traits-struct member; "" = a launch-time value
  const char* help;        // meaning, also the traits comment

  bool is_bool() const { return std::holds_alternative<bool Config::*>(member); }
  int get(const Config& c) const {
    if (const auto* b = std::get_if<bool Config::*>(&member)) return c.**b ? 1 : 0;
    return c.*std::get<int Config::*>(member);
  }
  void set(Config& c, int v) const {
    if (const auto* b = std::get_if<bool Config::*>(&member)) {
      c.** b = v != 0;
    } else {
      c.*std::get<int Config::*>(member) = v;
    }
  }
  bool is_legal(int v) const { return is_bool() ? v == 0 || v == 1 : legal.contains(v); }
  std::string describe_legal() const { return is_bool() ? "0 or 1" : legal.describe(); }
};

/// What the autotuner sees of a field, without the config type.
struct FieldInfo {
  std::string name;
  std::vector<int> tuned;
};

namespace fields {

/// "name=value,..." in table order.
template <class Config>
std::string canonical(std::span<const ConfigField<Config>> table, const Config& c) {
  std::string out;
  for (const ConfigField<Config>& f : table) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}={}", f.name, f.get(c));
  }
  return out;
}

/// Overrides the fields of `base` named in "key=value,..." (any subset, any order). Errors name
/// the family, the key and the value.
template <class Config>
Result<Config> parse(std::string_view family, std::span<const ConfigField<Config>> table, const std::string& text,
                     const Config& base) {
  Config c = base;
  const std::string all = trim(text);
  if (all.empty()) return c;
  for (const std::string& item : split(all, ',')) {
    const std::string kv = trim(item);
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) return invalid_argument("{} config item '{}' is not key=value", family, kv);
    const std::string key = trim(kv.substr(0, eq)), value = trim(kv.substr(eq + 1));
    const ConfigField<Config>* field = nullptr;
    for (const ConfigField<Config>& f : table) {
      if (key == f.name) field = &f;
    }
    auto parsed = parse_int(value);
    if (!parsed.ok() || *parsed < INT32_MIN || *parsed > INT32_MAX) {
      return invalid_argument("{} config {}='{}' is not an integer", family, key, value);
    }
    if (field == nullptr) {
      std::string expected;
      for (const ConfigField<Config>& f : table) expected += fmt::format("{}{}", expected.empty() ? "" : ", ", f.name);
      return invalid_argument("unknown {} config key '{}' (expected {})", family, key, expected);
    }
    const int v = static_cast<int>(*parsed);
    if (field->is_bool() && v != 0 && v != 1) {
      return invalid_argument("{} config {}={} must be 0 or 1", family, key, value);
    }
    field->set(c, v);
  }
  return c;
}

/// The first field whose value is not legal on its own: "block_n=48 must be 16, 32, ... or 256".
template <class Config>
Status check(std::span<const ConfigField<Config>> table, const Config& c) {
  for (const ConfigField<Config>& f : table) {
    const int v = f.get(c);
    if (!f.is_legal(v)) return invalid_argument("{}={} must be {}", f.name, v, f.describe_legal());
  }
  return ok_status();
}

/// Writes the compile-time fields (those with a trait) into the traits struct, in table order.
template <class Config>
void add_traits(std::span<const ConfigField<Config>> table, const Config& c, TraitsBuilder& traits) {
  for (const ConfigField<Config>& f : table) {
    if (std::string_view(f.trait).empty()) continue;
    if (f.is_bool()) {
      traits.add_bool(f.trait, f.get(c) != 0, f.help);
    } else {
      traits.add_int(f.trait, f.get(c), f.help);
    }
  }
}

/// The values of `c`, in table order.
template <class Config>
std::vector<int> values(std::span<const ConfigField<Config>> table, const Config& c) {
  std::vector<int> out;
  for (const ConfigField<Config>& f : table) out.push_back(f.get(c));
  return out;
}

/// The struct's defaults with `values` (table order) set.
template <class Config>
Config from_values(std::span<const ConfigField<Config>> table, const std::vector<int>& values) {
  Config c;
  for (size_t i = 0; i < table.size() && i < values.size(); ++i) table[i].set(c, values[i]);
  return c;
}

template <class Config>
std::vector<FieldInfo> info(std::span<const ConfigField<Config>> table) {
  std::vector<FieldInfo> out;
  for (const ConfigField<Config>& f : table) out.push_back({f.name, f.tuned});
  return out;
}

}  // namespace fields
}  // namespace gqaforge::codegen
