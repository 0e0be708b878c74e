// Opening a library (every check, in order) and dispatching a problem to a kernel.
#include "library/library.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "codegen/source.h"
#include "core/sha256.h"
#include "runtime/nvrtc_compiler.h"

namespace gqaforge::library {

using codegen::AttentionProblem;
using codegen::codegen_fingerprint;
using codegen::kCodegenVersion;
using codegen::Phase;

namespace {

double log_gap(int64_t v, const Range& r) {
  const int64_t clamped = std::clamp(v, r.lo, r.hi);
  return std::fabs(std::log2(static_cast<double>(v)) - std::log2(static_cast<double>(clamped)));
}

double point_distance(const AttentionProblem& p, const Entry& e) {
  auto gap = [](int64_t a, int64_t b) {
    return std::fabs(std::log2(static_cast<double>(a)) - std::log2(static_cast<double>(b)));
  };
  double d = gap(p.batch, e.tuned_batch) + gap(p.kv_len, e.tuned_kv_len);
  if (p.phase == Phase::kPrefill) d += gap(p.q_len, e.tuned_q_len);
  return d;
}

std::string bucket_text(const Entry& e, Phase phase) {
  std::string out = fmt::format("batch {}", e.batch.label());
  if (phase == Phase::kPrefill) out += fmt::format(", q_len {}", e.q_len.label());
  return out + fmt::format(", kv_len {}", e.kv_len.label());
}

// The references between the tables, and every config parsing with its family.
Status check_references(const LibraryContents& c, const std::string& path) {
  for (const ClassRow& r : c.classes) {
    auto family = codegen::find_family(r.family);
    if (!family.ok() || !(*family)->phase() || *(*family)->phase() != r.cls.phase) {
      return data_loss("'{}': class {} names family '{}', which does not serve its phase", path, r.cls.name(),
                       r.family);
    }
    if (r.source == ClassSource::kDefault) {
      auto config = (*family)->parse(r.default_config, (*family)->field_defaults());
      if (!config.ok()) {
        return data_loss("'{}': the default config of class {} does not parse: {}", path, r.cls.name(),
                         config.status().message());
      }
    }
  }
  for (const Variant& v : c.variants) {
    auto family = codegen::find_family(v.family);
    if (!family.ok()) return data_loss("'{}': variant {} names unknown family '{}'", path, v.id, v.family);
    auto config = (*family)->parse(v.config, (*family)->field_defaults());
    if (!config.ok()) {
      return data_loss("'{}': the config of variant {} does not parse: {}", path, v.id, config.status().message());
    }
    for (const std::string& arch : c.manifest.archs) {
      if (c.cubin(v.id, arch) == nullptr) return data_loss("'{}': variant {} has no cubin for {}", path, v.id, arch);
    }
  }
  for (const Entry& e : c.entries) {
    const ClassRow* cls = c.find_class(e.class_key);
    if (cls == nullptr || cls->source != ClassSource::kTuned) {
      return data_loss("'{}': an entry names class '{}', which is not a tuned class of the library", path, e.class_key);
    }
    const Variant* v = c.variant(e.variant_id);
    if (v == nullptr || v->family != cls->family) {
      return data_loss("'{}': an entry of class {} names variant {}, which the library does not hold", path,
                       cls->cls.name(), e.variant_id);
    }
  }
  return ok_status();
}

}  // namespace

const char* decision_name(Decision d) {
  switch (d) {
    case Decision::kExact:
      return "exact";
    case Decision::kNearest:
      return "nearest";
    case Decision::kDefault:
      return "default";
  }
  return "?";
}

double bucket_distance(const AttentionProblem& p, const Entry& e) {
  double d = log_gap(p.batch, e.batch) + log_gap(p.kv_len, e.kv_len);
  if (p.phase == Phase::kPrefill) d += log_gap(p.q_len, e.q_len);
  return d;
}

Status check_cubin(const LibraryContents& c, const Cubin& b, const std::string& path) {
  const std::string actual = sha256_hex(b.image);
  if (actual == b.sha256) return ok_status();
  const Variant* v = c.variant(b.variant_id);
  return data_loss("'{}': the cubin of variant {} ({}) for {} is damaged: its sha256 is {}, the library recorded {}",
                   path, b.variant_id, v == nullptr ? "?" : fmt::format("{} [{}]", v->family, v->config), b.arch,
                   actual, b.sha256);
}

std::vector<Check> verify_contents(const LibraryContents& c, const std::string& path, const OpenOptions& options) {
  std::vector<Check> checks;
  const Manifest& m = c.manifest;
  checks.push_back({"format version", ok_status(),
                    fmt::format("{} (this gqaforge reads up to {})", m.format_version, kFormatVersion)});
  {
    Check k{"kernel templates", ok_status(),
            fmt::format("codegen v{} {} (this gqaforge: v{} {})", m.codegen_version, m.codegen_fingerprint,
                        kCodegenVersion, codegen_fingerprint())};
    const bool same = m.codegen_version == kCodegenVersion && m.codegen_fingerprint == codegen_fingerprint();
    if (!same && options.check_codegen) {
      k.status = failed_precondition(
          "'{}' holds kernels of codegen v{} templates {}, this gqaforge has v{} {}: their parameters may differ; "
          "build the library again with this gqaforge",
          path, m.codegen_version, m.codegen_fingerprint, kCodegenVersion, codegen_fingerprint());
    } else if (!same) {
      k.detail += ": differ (not checked)";
    }
    checks.push_back(std::move(k));
  }
  {
    Check k{"target arch", ok_status(), fmt::format("built for {}", fmt::join(m.archs, ", "))};
    if (!options.device_arch.empty()) {
      auto arch = codegen::normalize_arch(options.device_arch);
      if (!arch.ok()) {
        k.status = arch.status();
      } else if (std::find(m.archs.begin(), m.archs.end(), *arch) == m.archs.end()) {
        k.status = failed_precondition("'{}' is built for {}, not for this device's {}", path, fmt::join(m.archs, ", "),
                                       *arch);
      } else {
        k.detail += fmt::format("; the device is {}", *arch);
      }
    }
    checks.push_back(std::move(k));
  }
  checks.push_back({"nvrtc", ok_status(),
                    fmt::format("cubins by NVRTC {}; run-time compiles by NVRTC {}", m.nvrtc_version,
                                runtime::nvrtc_version_string())});
  checks.push_back(
      {"references", check_references(c, path),
       fmt::format("{} classes, {} entries, {} variants", c.classes.size(), c.entries.size(), c.variants.size())});
  if (!options.verify_cubins) {
    checks.push_back(
        {"cubins", ok_status(), fmt::format("{} cubins, each checked before its first use", c.cubins.size())});
    return checks;
  }
  for (const Cubin& b : c.cubins) {
    checks.push_back({fmt::format("cubin {} {}", b.variant_id, b.arch), check_cubin(c, b, path),
                      fmt::format("{} bytes, sha256 {}", b.image.size(), b.sha256)});
  }
  return checks;
}

Result<Library> Library::open(const std::string& path, const OpenOptions& options) {
  GQF_ASSIGN_OR_RETURN(LibraryContents contents, read_library(path));
  for (const Check& k : verify_contents(contents, path, options)) GQF_RETURN_IF_ERROR(k.status);
  Library lib;
  lib.path_ = path;
  lib.options_ = options;
  lib.arch_ =
      options.device_arch.empty() ? contents.manifest.archs.front() : *codegen::normalize_arch(options.device_arch);
  auto limits = codegen::DeviceLimits::for_arch(lib.arch_);
  if (!limits.ok()) return limits.status().with_context(fmt::format("'{}'", path));
  lib.limits_ = *limits;
  lib.contents_ = std::make_unique<const LibraryContents>(std::move(contents));
  for (const Entry& e : lib.contents_->entries) lib.by_class_[e.class_key].push_back(&e);
  for (const Variant& v : lib.contents_->variants) {
    const codegen::KernelFamily* family = *codegen::find_family(v.family);  // checked by verify_contents
    lib.configs_.emplace(v.id, *family->parse(v.config, family->field_defaults()));
  }
  return lib;
}

Result<Selection> Library::select(const AttentionProblem& asked) const {
  GQF_RETURN_IF_ERROR(asked.validate());
  // One query row per step sees every key with or without the mask, and the tuner times decode
  // as causal: such a problem is the causal class's.
  AttentionProblem problem = asked;
  if (problem.phase == Phase::kDecode && problem.q_len == 1) problem.causal = true;
  Selection s;
  s.class_key = problem.static_key();
  s.class_name = KernelClass::of(problem).name();
  s.family = &family_for(problem);

  // Buckets of the class, nearest first.
  std::vector<const Entry*> ranked;
  if (auto it = by_class_.find(s.class_key); it != by_class_.end()) ranked = it->second;
  std::stable_sort(ranked.begin(), ranked.end(), [&](const Entry* a, const Entry* b) {
    const double da = bucket_distance(problem, *a), db = bucket_distance(problem, *b);
    if (da != db) return da < db;
    return point_distance(problem, *a) < point_distance(problem, *b);
  });
  std::string passed_over;
  for (const Entry* e : ranked) {
    const codegen::KernelConfig& config = configs_.at(e->variant_id);
    if (Status v = s.family->validate(problem, config, limits_); !v.ok()) {
      passed_over += fmt::format("; bucket {} passed over: {}", bucket_text(*e, problem.phase), v.message());
      continue;
    }
    s.entry = e;
    s.distance = bucket_distance(problem, *e);
    s.decision = s.distance == 0 ? Decision::kExact : Decision::kNearest;
    s.config = config;
    s.config_text = s.family->canonical(config);
    s.measured_us = e->median_us;
    s.cubin = contents_->cubin(e->variant_id, arch_);
    s.reason =
        s.decision == Decision::kExact
            ? fmt::format("tuned bucket {} holds the shape", bucket_text(*e, problem.phase))
            : fmt::format("nearest tuned bucket {} (log2 distance {:.2f})", bucket_text(*e, problem.phase), s.distance);
    s.reason += passed_over;
    return s;
  }

  const ClassRow* cls = contents_->find_class(s.class_key);
  std::string why = cls == nullptr                         ? "the library has no such class"
                    : cls->source == ClassSource::kDefault ? "the class is covered by its heuristic default only"
                                                           : "no tuned bucket of the class is legal for the shape";
  if (!options_.allow_jit) {
    return failed_precondition("'{}' has no tuned kernel for {} ({}{}) and JIT compilation is forbidden", path_,
                               problem.name(), why, passed_over);
  }
  s.decision = Decision::kDefault;
  s.config = s.family->default_config(problem, limits_);
  s.config_text = s.family->canonical(s.config);
  s.reason = fmt::format("{}: heuristic default, compiled through NVRTC{}", why, passed_over);
  return s;
}

}  // namespace gqaforge::library
