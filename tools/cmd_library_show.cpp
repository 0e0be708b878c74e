// `gqaforge library info` and `library diff`.
#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/strings.h"
#include "core/table.h"
#include "core/units.h"
#include "library/diff.h"
#include "tools/args.h"
#include "tools/json_output.h"
#include "tools/library_show.h"

namespace gqaforge::tools {

using codegen::Phase;

namespace {

std::string ints_text(const std::vector<int>& v) {
  std::string out;
  for (int x : v) out += fmt::format("{}{}", out.empty() ? "" : ", ", x);
  return out.empty() ? "-" : out;
}

Json manifest_json(const library::Manifest& m) {
  Json j = Json::object();
  j["format_version"] = m.format_version;
  j["gqaforge_version"] = m.gqaforge_version;
  j["gqaforge_commit"] = m.gqaforge_commit;
  j["codegen_version"] = m.codegen_version;
  j["codegen_fingerprint"] = m.codegen_fingerprint;
  j["nvrtc_version"] = m.nvrtc_version;
  j["archs"] = m.archs;
  j["gpu_name"] = m.gpu_name;
  j["gpu_sm_count"] = m.gpu_sm_count;
  j["gpu_compute_capability"] = fmt::format("{}.{}", m.gpu_cc_major, m.gpu_cc_minor);
  j["driver_versions"] = m.driver_versions;
  j["env_keys"] = m.env_keys;
  j["measured_codegen_versions"] = m.measured_codegen_versions;
  j["source"] = m.source;
  j["created_at"] = m.created_at;
  return j;
}

Json info_json(const std::string& file, const library::LibraryContents& c, int64_t file_bytes) {
  Json doc = json_document("library info");
  doc["file"] = file;
  doc["file_bytes"] = file_bytes;
  doc["manifest"] = manifest_json(c.manifest);
  Json classes = Json::array();
  for (const library::ClassRow& r : c.classes) {
    Json j = Json::object();
    j["key"] = r.cls.key();
    j["name"] = r.cls.name();
    j["family"] = r.family;
    j["source"] = library::class_source_name(r.source);
    j["default_config"] = r.source == library::ClassSource::kDefault ? Json(r.default_config) : Json();
    classes.push_back(std::move(j));
  }
  doc["classes"] = std::move(classes);
  Json entries = Json::array();
  for (const library::Entry& e : c.entries) {
    Json j = Json::object();
    j["class"] = e.class_key;
    j["batch"] = {e.batch.lo, e.batch.hi};
    j["q_len"] = {e.q_len.lo, e.q_len.hi};
    j["kv_len"] = {e.kv_len.lo, e.kv_len.hi};
    j["tuned_at"] = {{"batch", e.tuned_batch}, {"q_len", e.tuned_q_len}, {"kv_len", e.tuned_kv_len}};
    j["variant"] = e.variant_id;
    const library::Variant* v = c.variant(e.variant_id);
    j["config"] = v != nullptr ? Json(v->config) : Json();
    j["median_us"] = e.median_us;
    j["env_key"] = e.env_key;
    j["source_problem"] = e.source_problem;
    j["kernel_key"] = e.kernel_key;
    j["measured_at"] = e.measured_at;
    j["measured_codegen_version"] = e.measured_codegen_version;
    entries.push_back(std::move(j));
  }
  doc["entries"] = std::move(entries);
  Json cubins = Json::array();
  for (const library::Cubin& b : c.cubins) {
    Json j = Json::object();
    j["variant"] = b.variant_id;
    j["arch"] = b.arch;
    j["bytes"] = b.image.size();
    j["sha256"] = b.sha256;
    j["entry_points"] = b.entry_points;
    cubins.push_back(std::move(j));
  }
  doc["cubins"] = std::move(cubins);
  return doc;
}

std::string dispatch_table(const library::LibraryContents& c, bool wide) {
  TextTable t;
  t.add_column("class", TextTable::kLeft);
  t.add_column("batch");
  t.add_column("q_len");
  t.add_column("kv_len");
  t.add_column("tuned at", TextTable::kLeft);
  t.add_column("time");
  t.add_column("kernel", TextTable::kLeft);
  t.add_column("config", TextTable::kLeft, 2);
  t.add_column("measured", TextTable::kLeft, 1);
  std::map<std::string, std::vector<const library::Entry*>> by_class;
  for (const library::Entry& e : c.entries) by_class[e.class_key].push_back(&e);
  for (const library::ClassRow& r : c.classes) {
    if (r.source == library::ClassSource::kDefault) {
      t.add_row({r.cls.name(), "any", "any", "any", "-", "-", "default, NVRTC", r.default_config,
                 fmt::format("heuristic at b{} kv{}", r.default_batch, format_count(r.default_kv_len))});
      continue;
    }
    for (const library::Entry* e : by_class[r.cls.key()]) {
      const library::Variant* v = c.variant(e->variant_id);
      const bool prefill = r.cls.phase == Phase::kPrefill;
      std::string kernel = fmt::format("v{}", e->variant_id);
      for (const std::string& arch : c.manifest.archs) {
        if (const library::Cubin* b = c.cubin(e->variant_id, arch)) {
          kernel += fmt::format(" {} {}", arch, format_bytes(static_cast<double>(b->image.size())));
        }
      }
      t.add_row({r.cls.name(), e->batch.label(), prefill ? e->q_len.label() : "-", e->kv_len.label(),
                 tuned_point(*e, r.cls.phase), format_time_us(e->median_us), kernel, v ? v->config : "?",
                 fmt::format("{} codegen v{}", e->env_key, e->measured_codegen_version)});
    }
  }
  return t.render(wide ? 0 : kDefaultTableWidth);
}

}  // namespace

std::string bucket_label(const library::Entry& e, Phase phase) {
  std::string out = fmt::format("batch {}", e.batch.label());
  if (phase == Phase::kPrefill) out += fmt::format(", q_len {}", e.q_len.label());
  return out + fmt::format(", kv_len {}", e.kv_len.label());
}

std::string tuned_point(const library::Entry& e, Phase phase) {
  std::string out = fmt::format("b{}", e.tuned_batch);
  if (phase == Phase::kPrefill) out += fmt::format(" q{}", format_count(e.tuned_q_len));
  return out + fmt::format(" kv{}", format_count(e.tuned_kv_len));
}

int run_info(const InfoFlags& f) {
  library::FileFacts facts;
  auto c = library::read_library(f.file, &facts);
  if (!c.ok()) return report_failure(c.status());
  if (f.json) {
    print_json(info_json(f.file, *c, facts.file_bytes));
    return 0;
  }
  const library::Manifest& m = c->manifest;
  int64_t tuned = 0, cubin_bytes = 0;
  for (const library::ClassRow& r : c->classes) tuned += r.source == library::ClassSource::kTuned ? 1 : 0;
  for (const library::Cubin& b : c->cubins) cubin_bytes += static_cast<int64_t>(b.image.size());
  std::printf("library      %s (format %d, %s)\n", f.file.c_str(), m.format_version,
              format_bytes(static_cast<double>(facts.file_bytes)).c_str());
  std::printf("built        %s by gqaforge %s (commit %s) from %s\n", m.created_at.c_str(), m.gqaforge_version.c_str(),
              m.gqaforge_commit.c_str(), m.source.c_str());
  std::printf("kernels      codegen v%d templates %s, NVRTC %s, cubins for %s\n", m.codegen_version,
              m.codegen_fingerprint.c_str(), m.nvrtc_version.c_str(),
              fmt::format("{}", fmt::join(m.archs, ", ")).c_str());
  std::printf("measured on  %s (%d SMs, cc %d.%d), driver %s; environments %s (codegen v%s)\n", m.gpu_name.c_str(),
              m.gpu_sm_count, m.gpu_cc_major, m.gpu_cc_minor, ints_text(m.driver_versions).c_str(),
              fmt::format("{}", fmt::join(m.env_keys, ", ")).c_str(), ints_text(m.measured_codegen_versions).c_str());
  std::printf(
      "contents     %zu classes (%lld tuned, %lld heuristic default), %zu buckets, %zu variants, %zu cubins "
      "(%s)\n\n",
      c->classes.size(), static_cast<long long>(tuned),
      static_cast<long long>(static_cast<int64_t>(c->classes.size()) - tuned), c->entries.size(), c->variants.size(),
      c->cubins.size(), format_bytes(static_cast<double>(cubin_bytes)).c_str());
  std::fputs(dispatch_table(*c, f.wide).c_str(), stdout);
  return 0;
}

int run_diff(const DiffFlags& f) {
  auto a = library::read_library(f.a);
  if (!a.ok()) return report_failure(a.status());
  auto b = library::read_library(f.b);
  if (!b.ok()) return report_failure(b.status());
  const library::LibraryDiff d = library::diff_libraries(*a, *b);
  if (f.json) {
    Json doc = json_document("library diff");
    doc["a"] = f.a;
    doc["b"] = f.b;
    doc["same_dispatch"] = d.same_dispatch();
    doc["same_entries"] = d.same_entries;
    Json manifest = Json::array();
    for (const library::ManifestChange& m : d.manifest) manifest.push_back({{"key", m.key}, {"a", m.a}, {"b", m.b}});
    doc["manifest"] = std::move(manifest);
    Json classes = Json::array();
    for (const library::ClassChange& c : d.classes) {
      classes.push_back(
          {{"class", c.key}, {"a", c.a.empty() ? Json() : Json(c.a)}, {"b", c.b.empty() ? Json() : Json(c.b)}});
    }
    doc["classes"] = std::move(classes);
    Json entries = Json::array();
    for (const library::EntryChange& e : d.entries) {
      Json j = Json::object();
      j["change"] = library::entry_change_name(e.kind);
      j["class"] = e.class_key;
      j["bucket"] = e.bucket;
      j["config_a"] = e.config_a.empty() ? Json() : Json(e.config_a);
      j["config_b"] = e.config_b.empty() ? Json() : Json(e.config_b);
      j["median_us_a"] = e.config_a.empty() ? Json() : Json(e.us_a);
      j["median_us_b"] = e.config_b.empty() ? Json() : Json(e.us_b);
      entries.push_back(std::move(j));
    }
    doc["entries"] = std::move(entries);
    print_json(doc);
    return 0;
  }
  std::printf("A  %s\nB  %s\n", f.a.c_str(), f.b.c_str());
  for (const library::ManifestChange& m : d.manifest) {
    std::printf("%-16s A %s | B %s\n", m.key.c_str(), m.a.c_str(), m.b.c_str());
  }
  for (const library::ClassChange& c : d.classes) {
    std::printf("class %s: A %s, B %s\n", c.name.c_str(), c.a.empty() ? "absent" : c.a.c_str(),
                c.b.empty() ? "absent" : c.b.c_str());
  }
  if (d.same_dispatch()) {
    std::printf("same dispatch: %lld buckets with the same configs and times\n",
                static_cast<long long>(d.same_entries));
    return 0;
  }
  std::printf("%zu buckets differ, %lld the same\n\n", d.entries.size(), static_cast<long long>(d.same_entries));
  if (d.entries.empty()) return 0;
  TextTable t;
  t.add_column("class", TextTable::kLeft);
  t.add_column("bucket", TextTable::kLeft);
  t.add_column("change", TextTable::kLeft);
  t.add_column("time A");
  t.add_column("time B");
  t.add_column("B/A");
  t.add_column("config A", TextTable::kLeft, 1);
  t.add_column("config B", TextTable::kLeft, 1);
  for (const library::EntryChange& e : d.entries) {
    const bool both = !e.config_a.empty() && !e.config_b.empty();
    t.add_row({e.class_name, e.bucket, library::entry_change_name(e.kind),
               e.config_a.empty() ? "-" : format_time_us(e.us_a), e.config_b.empty() ? "-" : format_time_us(e.us_b),
               both ? fmt::format("{:.2f}", e.us_b / e.us_a) : "-", e.config_a.empty() ? "-" : e.config_a,
               e.config_b.empty() ? "-" : e.config_b});
  }
  std::fputs(t.render(f.wide ? 0 : kDefaultTableWidth).c_str(), stdout);
  return 0;
}

}  // namespace gqaforge::tools
