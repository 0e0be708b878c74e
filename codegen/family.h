// The kernel-family registry. A family (decode, prefill, reference) is one object that owns its
// config type and field table, heuristic default, validation, emitter and launch geometry; it
// is found by name (the CLI's --family, the database, the worker pipe) or by a problem's phase.
// The tuner attaches its search space and predictor per family (autotune/family_space.h) and
// the runtime launches any family through its launch plan (runtime/attention_op.h).
//
// Adding a family: codegen/<name>_config.{h,cpp} (the config struct with kFamily, its field
// table, validate, heuristic and geometry), codegen/<name>_family.cpp (the KernelFamily), the
// kernel template codegen/kernels/<name>.cuh, and its alternative in KernelConfig plus one line
// in kernel_families() (codegen/family.cpp); for tuning, autotune/<name>_tuning.cpp and one
// line in tuning_families() (autotune/family_space.cpp). docs/kernel-contract.md has the rest.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codegen/config_fields.h"
#include "codegen/cpu_config.h"
#include "codegen/decode_config.h"
#include "codegen/device_limits.h"
#include "codegen/kernels/params.h"
#include "codegen/prefill_config.h"
#include "codegen/problem.h"
#include "codegen/source.h"

namespace gqaforge::codegen {

/// The GPU reference kernel (the oracle) has nothing to tune.
struct ReferenceConfig {
  static constexpr const char* kFamily = "reference";
  static std::span<const ConfigField<ReferenceConfig>> fields() { return {}; }
  Status validate(const AttentionProblem& problem, const DeviceLimits&) const { return problem.validate(); }
  bool operator==(const ReferenceConfig&) const = default;
};

/// A config of any family, typed. Text only at the CLI, the worker pipe and the database.
using KernelConfig = std::variant<ReferenceConfig, DecodeConfig, PrefillConfig, CpuDecodeConfig, CpuPrefillConfig>;

/// What a family's kernels run on: CUDA GPUs (NVRTC, the driver) or the host CPU (the CPU
/// backend's LLVM ORC JIT, backends/cpu/).
enum class Target { kCuda, kCpu };

/// How one entry point of a call is launched.
struct LaunchShape {
  std::string entry;  // "gqaforge_decode"
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  int dynamic_shared_bytes = 0;
  // Programmatic dependent launch (sm_90+): the grid may start while the launch before it in
  // the stream still runs; the kernel itself waits (griddepcontrol.wait) before reading that
  // launch's results, so its start-up overlaps the previous kernel's tail.
  bool programmatic = false;
  // > 0: the kernel's second argument is the K and V tensor maps (KvTensorMaps of
  // kernels/params.h), encoded per call from the call's GqaParams with boxes of 64 head-dim
  // columns x kv_map_rows keys (runtime::encode_kv_maps).
  int kv_map_rows = 0;
  int threads() const { return static_cast<int>(block[0] * block[1] * block[2]); }
};

/// Device scratch memory shared by the launches of a call (split-KV partials), kept across
/// calls and prepared again only when `layout` changes or more bytes are needed.
struct WorkspacePlan {
  size_t bytes = 0;               // 0 = none
  size_t o_partial_offset = 0;    // GqaParams::o_partial = workspace + this
  size_t lse_partial_offset = 0;  // GqaParams::lse_partial = workspace + this
  size_t zero_offset = 0;         // bytes zeroed once per layout (the fused combine's counters,
  size_t zero_bytes = 0;          // which every launch leaves zero again)
  std::string layout;
};

/// Everything the runtime does for one call: launches in order, all with the same GqaParams.
struct LaunchPlan {
  std::vector<LaunchShape> launches;
  int num_splits = 0;  // > 0: GqaParams::num_splits and split_len are set to these
  int split_len = 0;
  WorkspacePlan workspace;
};

class KernelFamily {
 public:
  virtual ~KernelFamily() = default;

  /// "decode": the key in the database, the worker pipe and --family; the template's name.
  virtual const char* name() const = 0;
  /// The phase whose problems get this family by default (family_for); nullopt for a family
  /// that takes any phase and is only chosen by name (the reference).
  virtual std::optional<Phase> phase() const = 0;
  /// What its kernels run on.
  virtual Target target() const { return Target::kCuda; }
  /// Memory-bound kernels report TB/s of K+V read besides TFLOP/s, and rank by it.
  virtual bool memory_bound() const { return false; }
  /// The kernels load 16-byte vectors: pointers and strides must be aligned for them.
  virtual bool vector_access() const { return true; }

  /// The config's fields, in table order (the autotuner's axes).
  virtual std::vector<FieldInfo> fields() const = 0;
  /// The config struct's own field defaults (what rows recorded before a field existed ran with).
  virtual KernelConfig field_defaults() const = 0;
  /// Field values in table order, and back (unlisted fields keep the struct's defaults).
  virtual std::vector<int> values(const KernelConfig& config) const = 0;
  virtual KernelConfig from_values(const std::vector<int>& values) const = 0;

  /// The untuned heuristic for a problem on a device.
  virtual KernelConfig default_config(const AttentionProblem& problem, const DeviceLimits& limits) const = 0;
  /// Overrides the fields of `base` named in "key=value,..."; errors name the key and value.
  virtual Result<KernelConfig> parse(const std::string& text, const KernelConfig& base) const = 0;
  /// The canonical text (every field, table order): database keys depend on it.
  virtual std::string canonical(const KernelConfig& config) const = 0;
  /// can_implement: the config is this family's and legal for the problem and device.
  virtual Status validate(const AttentionProblem& problem, const KernelConfig& config,
                          const DeviceLimits& limits) const = 0;
  /// The generated source (traits above the family's template).
  virtual KernelSource emit(const AttentionProblem& problem, const KernelConfig& config) const = 0;

  /// The problem a call's launch is sized by, from the tensors it is given (prefill: the
  /// longest sequence of a varlen batch); the problem itself by default.
  virtual AttentionProblem launch_problem(const AttentionProblem& problem, const GqaParams& params) const;
  /// Launch geometry for `problem` (as launch_problem gives it); fails with validate()'s status.
  virtual Result<LaunchPlan> launch_plan(const AttentionProblem& problem, const KernelConfig& config,
                                         const DeviceLimits& limits) const = 0;
  /// The config with the choices its launch makes fixed, so that another shape launches the
  /// same way (decode: num_splits 0 becomes the split count the launch picks for `problem`).
  virtual Result<KernelConfig> resolve(const AttentionProblem& problem, const KernelConfig& config,
                                       const DeviceLimits& limits) const;

  /// `text` over the heuristic default, validated: how the CLI gets a config.
  Result<KernelConfig> configure(const AttentionProblem& problem, const std::string& text,
                                 const DeviceLimits& limits) const;
};

/// Every family, in registry order.
std::span<const KernelFamily* const> kernel_families();
/// The family named `name`; the error names the value and lists the known ones.
Result<const KernelFamily*> find_family(std::string_view name);
/// The family that serves a phase by default on a target (decode or prefill; CUDA unless asked).
const KernelFamily& family_for(Phase phase, Target target = Target::kCuda);
inline const KernelFamily& family_for(const AttentionProblem& problem, Target target = Target::kCuda) {
  return family_for(problem.phase, target);
}

/// The common part of a family over its config struct `Config` (kFamily, fields(), validate()).
template <class Config>
class TypedFamily : public KernelFamily {
 public:
  const char* name() const override { return Config::kFamily; }
  std::vector<FieldInfo> fields() const override { return fields::info(Config::fields()); }
  KernelConfig field_defaults() const override { return Config{}; }
  std::vector<int> values(const KernelConfig& config) const override {
    return fields::values(Config::fields(), of(config));
  }
  KernelConfig from_values(const std::vector<int>& values) const override {
    return fields::from_values(Config::fields(), values);
  }
  KernelConfig default_config(const AttentionProblem& problem, const DeviceLimits& limits) const override {
    return heuristic(problem, limits);
  }
  Result<KernelConfig> parse(const std::string& text, const KernelConfig& base) const override {
    const Config* b = std::get_if<Config>(&base);
    if (b == nullptr) return invalid_argument("the {} family cannot parse over another family's config", name());
    GQF_ASSIGN_OR_RETURN(Config c, fields::parse(name(), Config::fields(), text, *b));
    return KernelConfig(c);
  }
  std::string canonical(const KernelConfig& config) const override {
    return fields::canonical(Config::fields(), of(config));
  }
  Status validate(const AttentionProblem& problem, const KernelConfig& config,
                  const DeviceLimits& limits) const override {
    const Config* c = std::get_if<Config>(&config);
    if (c == nullptr) return invalid_argument("the {} family was given another family's config", name());
    return c->validate(problem, limits);
  }
  KernelSource emit(const AttentionProblem& problem, const KernelConfig& config) const override {
    return emit_source(problem, of(config));
  }
  Result<LaunchPlan> launch_plan(const AttentionProblem& problem, const KernelConfig& config,
                                 const DeviceLimits& limits) const override {
    const Config* c = std::get_if<Config>(&config);
    if (c == nullptr) return invalid_argument("the {} family was given another family's config", name());
    return plan(problem, *c, limits);
  }

 protected:
  /// The typed config; asking a family about another family's config is a programmer error.
  static const Config& of(const KernelConfig& config) { return std::get<Config>(config); }

  virtual Config heuristic(const AttentionProblem& problem, const DeviceLimits& limits) const = 0;
  virtual KernelSource emit_source(const AttentionProblem& problem, const Config& config) const = 0;
  virtual Result<LaunchPlan> plan(const AttentionProblem& problem, const Config& config,
                                  const DeviceLimits& limits) const = 0;
};

/// A launch shape from a family's geometry arrays.
LaunchShape launch_shape(const char* entry, const unsigned* grid, const unsigned* block, int shared_bytes);

}  // namespace gqaforge::codegen
