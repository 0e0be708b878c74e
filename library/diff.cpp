// Comparing two libraries.
#include "library/diff.h"

#include <map>
#include <tuple>

#include <fmt/format.h>

namespace gqaforge::library {
namespace {

std::map<std::string, std::string> provenance(const LibraryContents& c) {
  const Manifest& m = c.manifest;
  auto ints = [](const std::vector<int>& v) {
    std::string out;
    for (int x : v) out += fmt::format("{}{}", out.empty() ? "" : ",", x);
    return out;
  };
  auto strs = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& x : v) out += (out.empty() ? "" : ",") + x;
    return out;
  };
  return {{"format_version", std::to_string(m.format_version)},
          {"gqaforge_version", m.gqaforge_version},
          {"gqaforge_commit", m.gqaforge_commit},
          {"codegen", fmt::format("v{} {}", m.codegen_version, m.codegen_fingerprint)},
          {"nvrtc_version", m.nvrtc_version},
          {"archs", strs(m.archs)},
          {"gpu", fmt::format("{} ({} SMs, cc {}.{})", m.gpu_name, m.gpu_sm_count, m.gpu_cc_major, m.gpu_cc_minor)},
          {"driver_versions", ints(m.driver_versions)},
          {"env_keys", strs(m.env_keys)},
          {"source", m.source}};
}

using EntryKey = std::tuple<std::string, int64_t, int64_t, int64_t>;

std::map<EntryKey, const Entry*> by_bucket(const LibraryContents& c) {
  std::map<EntryKey, const Entry*> out;
  for (const Entry& e : c.entries) out[{e.class_key, e.batch.lo, e.q_len.lo, e.kv_len.lo}] = &e;
  return out;
}

std::string bucket_label(const Entry& e, bool prefill) {
  std::string out = fmt::format("batch {}", e.batch.label());
  if (prefill) out += fmt::format(", q_len {}", e.q_len.label());
  return out + fmt::format(", kv_len {}", e.kv_len.label());
}

}  // namespace

const char* entry_change_name(EntryChange::Kind kind) {
  switch (kind) {
    case EntryChange::kOnlyA:
      return "only in A";
    case EntryChange::kOnlyB:
      return "only in B";
    case EntryChange::kConfig:
      return "config";
    case EntryChange::kTime:
      return "time";
  }
  return "?";
}

LibraryDiff diff_libraries(const LibraryContents& a, const LibraryContents& b) {
  LibraryDiff d;
  const auto pa = provenance(a), pb = provenance(b);
  for (const auto& [key, va] : pa) {
    if (va != pb.at(key)) d.manifest.push_back({key, va, pb.at(key)});
  }
  std::map<std::string, std::pair<const ClassRow*, const ClassRow*>> classes;
  for (const ClassRow& r : a.classes) classes[r.cls.key()].first = &r;
  for (const ClassRow& r : b.classes) classes[r.cls.key()].second = &r;
  std::map<std::string, std::string> names;
  for (const auto& [key, rows] : classes) {
    const ClassRow* any = rows.first != nullptr ? rows.first : rows.second;
    names[key] = any->cls.name();
    const std::string sa = rows.first ? class_source_name(rows.first->source) : "";
    const std::string sb = rows.second ? class_source_name(rows.second->source) : "";
    const bool default_changed = rows.first && rows.second && sa == "default" && sb == "default" &&
                                 rows.first->default_config != rows.second->default_config;
    if (sa != sb || default_changed) d.classes.push_back({key, any->cls.name(), sa, sb});
  }
  const auto ea = by_bucket(a), eb = by_bucket(b);
  std::map<EntryKey, std::pair<const Entry*, const Entry*>> entries;
  for (const auto& [k, e] : ea) entries[k].first = e;
  for (const auto& [k, e] : eb) entries[k].second = e;
  for (const auto& [k, pair] : entries) {
    const auto [x, y] = pair;
    const Entry& any = x != nullptr ? *x : *y;
    const bool prefill = any.class_key.rfind("phase=prefill", 0) == 0;
    EntryChange c;
    c.class_key = any.class_key;
    c.class_name = names[any.class_key];
    c.bucket = bucket_label(any, prefill);
    if (x != nullptr) {
      const Variant* v = a.variant(x->variant_id);
      c.config_a = v ? v->config : "?";
      c.us_a = x->median_us;
    }
    if (y != nullptr) {
      const Variant* v = b.variant(y->variant_id);
      c.config_b = v ? v->config : "?";
      c.us_b = y->median_us;
    }
    if (x == nullptr) {
      c.kind = EntryChange::kOnlyB;
    } else if (y == nullptr) {
      c.kind = EntryChange::kOnlyA;
    } else if (c.config_a != c.config_b) {
      c.kind = EntryChange::kConfig;
    } else if (c.us_a != c.us_b) {
      c.kind = EntryChange::kTime;
    } else {
      ++d.same_entries;
      continue;
    }
    d.entries.push_back(std::move(c));
  }
  return d;
}

}  // namespace gqaforge::library
