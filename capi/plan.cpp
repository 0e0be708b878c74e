// Plan: checking a problem, dispatching it, loading its kernel, and the run path.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "capi/state.h"
#include "runtime/attention_op.h"

namespace gqaforge::capi {

using codegen::AttentionProblem;
using codegen::DeviceLimits;
using codegen::DType;
using codegen::family_for;
using codegen::KernelConfig;
using codegen::KernelFamily;
using codegen::KernelSource;
using codegen::LaunchPlan;
using codegen::LaunchShape;
using codegen::make_problem;
using codegen::Phase;

namespace {

constexpr double kLog2e = 1.4426950408889634;

struct Extent {
  const char* name;
  int64_t stride;
  int64_t extent;
};

// Fills `out` with the strides of a [batch, tokens, heads, head_dim] tensor: all zero means
// contiguous. Given strides must be positive multiples of 8 elements (the kernels load 16-byte
// vectors) and must not make two elements share an address.
Status resolve_strides(const char* tensor, const gqaforge_strides& given, int64_t batch, int64_t tokens, int64_t heads,
                       int head_dim, bool varlen, gqaforge_strides& out) {
  if (given.batch == 0 && given.token == 0 && given.head == 0) {
    out.head = head_dim;
    out.token = heads * head_dim;
    out.batch = varlen ? 0 : tokens * heads * head_dim;
    return ok_status();
  }
  out = given;
  if (varlen) out.batch = 0;  // packed sequences: the batch stride is unused
  const auto text = [&] { return fmt::format("batch {}, token {}, head {}", given.batch, given.token, given.head); };
  std::vector<Extent> dims = {{"token", out.token, varlen ? 1 : tokens}, {"head", out.head, heads}};
  if (!varlen) dims.push_back({"batch", out.batch, batch});
  for (const Extent& d : dims) {
    if (d.stride <= 0 || d.stride % 8 != 0) {
      return invalid_argument("{} strides ({}): the {} stride {} must be a positive multiple of 8 elements", tensor,
                              text(), d.name, d.stride);
    }
  }
  // Sorted by stride, each dim must step over the whole block of the dims inside it (the
  // contiguous head dim first), or two indices reach one element.
  std::sort(dims.begin(), dims.end(), [](const Extent& a, const Extent& b) { return a.stride < b.stride; });
  Extent inner{"head_dim", 1, head_dim};
  for (const Extent& d : dims) {
    if (d.extent > 1 && d.stride < inner.stride * inner.extent) {
      return invalid_argument(
          "{} strides ({}) overlap: the {} stride {} is below the {} {} x {} elements it must step over", tensor,
          text(), d.name, d.stride, inner.name, inner.extent, inner.stride);
    }
    if (d.extent > 1) inner = d;
  }
  return ok_status();
}

Status check_problem(const gqaforge_problem& p) {
  GQF_RETURN_IF_ERROR(
      check_struct_size(p.struct_size, sizeof(gqaforge_problem), "gqaforge_problem", ", or use gqaforge_problem_make"));
  constexpr uint32_t known = GQAFORGE_PROBLEM_VARLEN | GQAFORGE_PROBLEM_KV_LENS | GQAFORGE_PROBLEM_LSE;
  if ((p.flags & ~known) != 0)
    return invalid_argument("gqaforge_problem.flags has unknown bits {:#x}", p.flags & ~known);
  if (p.phase != GQAFORGE_PHASE_PREFILL && p.phase != GQAFORGE_PHASE_DECODE) {
    return invalid_argument("gqaforge_problem.phase {} is not GQAFORGE_PHASE_PREFILL or GQAFORGE_PHASE_DECODE",
                            static_cast<int>(p.phase));
  }
  if (p.dtype != GQAFORGE_DTYPE_BF16 && p.dtype != GQAFORGE_DTYPE_FP16) {
    return invalid_argument("gqaforge_problem.dtype {} is not GQAFORGE_DTYPE_BF16 or GQAFORGE_DTYPE_FP16",
                            static_cast<int>(p.dtype));
  }
  if (p.causal != 0 && p.causal != 1) return invalid_argument("gqaforge_problem.causal {} is not 0 or 1", p.causal);
  if ((p.flags & GQAFORGE_PROBLEM_VARLEN) != 0) {
    if (p.phase == GQAFORGE_PHASE_DECODE) {
      return invalid_argument(
          "GQAFORGE_PROBLEM_VARLEN is for prefill; decode takes per-sequence key counts "
          "(GQAFORGE_PROBLEM_KV_LENS)");
    }
    if ((p.flags & GQAFORGE_PROBLEM_KV_LENS) != 0) {
      return invalid_argument(
          "GQAFORGE_PROBLEM_VARLEN and GQAFORGE_PROBLEM_KV_LENS exclude each other: packed "
          "sequences take their key counts from cu_seqlens_k");
    }
  }
  if (!(std::isfinite(p.softmax_scale) && p.softmax_scale >= 0)) {
    return invalid_argument("gqaforge_problem.softmax_scale {} must be positive (or 0 for 1/sqrt(head_dim))",
                            p.softmax_scale);
  }
  return ok_status();
}

AttentionProblem to_problem(const gqaforge_problem& p) {
  return make_problem(p.phase == GQAFORGE_PHASE_DECODE ? Phase::kDecode : Phase::kPrefill, p.n_q_heads, p.n_kv_heads,
                      p.head_dim, p.dtype == GQAFORGE_DTYPE_FP16 ? DType::kFP16 : DType::kBF16, p.causal != 0,
                      p.max_batch, p.max_q_len, p.max_kv_len);
}

bool aligned16(const void* ptr) {
  return reinterpret_cast<uintptr_t>(ptr) % 16 == 0;
}

}  // namespace

Result<std::unique_ptr<Plan>> Plan::create(std::shared_ptr<LibraryState> library, const gqaforge_problem& p,
                                           uint32_t flags) {
  GQF_RETURN_IF_ERROR(check_problem(p));
  if ((flags & ~uint32_t{GQAFORGE_PLAN_HEURISTIC_DEFAULT}) != 0) {
    return invalid_argument("gqaforge_plan_create: unknown flag bits {:#x}",
                            flags & ~uint32_t{GQAFORGE_PLAN_HEURISTIC_DEFAULT});
  }
  std::unique_ptr<Plan> plan(new Plan());
  Plan& s = *plan;
  s.library_ = std::move(library);
  s.flags_ = p.flags;
  s.problem_ = to_problem(p);
  GQF_RETURN_IF_ERROR(s.problem_.validate());
  const int64_t kv_capacity = p.kv_capacity == 0 ? p.max_kv_len : p.kv_capacity;
  if (kv_capacity < p.max_kv_len) {
    return invalid_argument("gqaforge_problem.kv_capacity {} is below max_kv_len {}", p.kv_capacity, p.max_kv_len);
  }

  const bool varlen = (p.flags & GQAFORGE_PROBLEM_VARLEN) != 0;
  GqaParams& bp = s.base_params_;
  gqaforge_strides q{}, k{}, v{}, o{};
  GQF_RETURN_IF_ERROR(resolve_strides("Q", p.q, p.max_batch, p.max_q_len, p.n_q_heads, p.head_dim, varlen, q));
  GQF_RETURN_IF_ERROR(resolve_strides("K", p.k, p.max_batch, kv_capacity, p.n_kv_heads, p.head_dim, varlen, k));
  GQF_RETURN_IF_ERROR(resolve_strides("V", p.v, p.max_batch, kv_capacity, p.n_kv_heads, p.head_dim, varlen, v));
  GQF_RETURN_IF_ERROR(resolve_strides("O", p.o, p.max_batch, p.max_q_len, p.n_q_heads, p.head_dim, varlen, o));
  bp.q_stride_b = q.batch, bp.q_stride_s = q.token, bp.q_stride_h = q.head;
  bp.k_stride_b = k.batch, bp.k_stride_s = k.token, bp.k_stride_h = k.head;
  bp.v_stride_b = v.batch, bp.v_stride_s = v.token, bp.v_stride_h = v.head;
  bp.o_stride_b = o.batch, bp.o_stride_s = o.token, bp.o_stride_h = o.head;
  bp.n_q_heads = p.n_q_heads;
  bp.n_kv_heads = p.n_kv_heads;
  const double scale = p.softmax_scale > 0 ? p.softmax_scale : 1.0 / std::sqrt(static_cast<double>(p.head_dim));
  bp.scale_log2 = static_cast<float>(scale * kLog2e);

  // Dispatch.
  const LibraryState& lib = *s.library_;
  const bool heuristic = (flags & GQAFORGE_PLAN_HEURISTIC_DEFAULT) != 0;
  KernelConfig config;
  if (lib.cpu() != nullptr) {
    s.family_ = &family_for(s.problem_, codegen::Target::kCpu);
    config = s.family_->default_config(s.problem_, lib.limits());
    s.decision_ = GQAFORGE_DECISION_DEFAULT;
    s.class_name_ = library::KernelClass::of(s.problem_).name();
    s.reason_ = "the CPU target: the cpu_* heuristic default, compiled through the CPU module (LLVM ORC JIT)";
  } else if (lib.table() != nullptr && !heuristic) {
    GQF_ASSIGN_OR_RETURN(library::Selection sel, lib.table()->select(s.problem_));
    s.family_ = sel.family;
    config = sel.config;
    s.decision_ = static_cast<gqaforge_decision>(static_cast<int>(sel.decision));
    s.reason_ = sel.reason;
    s.class_name_ = sel.class_name;
    s.cubin_ = sel.cubin;
    if (s.cubin_ != nullptr) {
      if (Status check = s.library_->check_cubin(*s.cubin_); !check.ok()) {
        // A damaged image is never loaded: the same config compiled here, or the error.
        if (!lib.allow_jit()) return check;
        s.cubin_ = nullptr;
        s.reason_ += fmt::format("; its cubin was refused ({}): the config compiled through NVRTC", check.message());
      }
    }
    if (sel.entry != nullptr) {
      s.measured_us_ = sel.measured_us;
      s.distance_ = sel.distance;
      s.bucket_batch_ = sel.entry->batch;
      s.bucket_q_len_ = sel.entry->q_len;
      s.bucket_kv_len_ = sel.entry->kv_len;
    }
  } else {
    if (!lib.allow_jit()) {
      return failed_precondition(
          "GQAFORGE_PLAN_HEURISTIC_DEFAULT asks for a kernel compiled through NVRTC, and the "
          "library forbids JIT compilation");
    }
    s.family_ = &family_for(s.problem_);
    config = s.family_->default_config(s.problem_, lib.limits());
    s.decision_ = GQAFORGE_DECISION_DEFAULT;
    s.class_name_ = library::KernelClass::of(s.problem_).name();
    s.reason_ = heuristic            ? "GQAFORGE_PLAN_HEURISTIC_DEFAULT: heuristic default, compiled through NVRTC"
                : lib.path().empty() ? "no library: heuristic default, compiled through NVRTC"
                                     : fmt::format(
                                           "the library was refused ({}): heuristic default, compiled "
                                           "through NVRTC",
                                           lib.refused_reason());
  }
  // Fixed at the plan's largest shape (decode: the split count), so that every run's workspace
  // fits the one the plan asks for.
  GQF_ASSIGN_OR_RETURN(s.config_, s.family_->resolve(s.problem_, config, lib.limits()));
  s.family_name_ = s.family_->name();
  s.config_text_ = s.family_->canonical(s.config_);
  GqaParams max_params = bp;
  max_params.batch = static_cast<int>(p.max_batch);
  max_params.q_len = static_cast<int>(p.max_q_len);
  max_params.kv_len = static_cast<int>(p.max_kv_len);
  GQF_ASSIGN_OR_RETURN(LaunchPlan lp, s.family_->launch_plan(s.family_->launch_problem(s.problem_, max_params),
                                                             s.config_, lib.limits()));
  s.workspace_bytes_ = lp.workspace.bytes;
  GQF_RETURN_IF_ERROR(s.load(lp));
  return plan;
}

Status Plan::load(const LaunchPlan& at_max) {
  if (cpu::CpuKernels* k = library_->cpu()) {
    GQF_ASSIGN_OR_RETURN(cpu::CompiledCpuKernel compiled, k->compile(problem_, *family_, config_));
    cpu_fn_ = compiled.fn;
    return ok_status();
  }
  auto api = runtime::driver();
  if (!api.ok()) {
    not_loaded_ = api.status().message();
    return ok_status();
  }
  if (!runtime::gpu_available()) {
    not_loaded_ = "no CUDA device is present";
    return ok_status();
  }
  GQF_CU_CHECK(*api, cuCtxGetCurrent(&ctx_));
  if (ctx_ == nullptr) {
    GQF_CU_CHECK(*api, cuDeviceGet(&retained_device_, 0));
    GQF_CU_CHECK(*api, cuDevicePrimaryCtxRetain(&ctx_, retained_device_));
  }
  LibraryState& lib = *library_;
  if (cubin_ != nullptr) {
    GQF_ASSIGN_OR_RETURN(module_, lib.module(ctx_, cubin_->compile_key, cubin_->image, cubin_->entry_points));
  } else {
    KernelSource source = family_->emit(problem_, config_);
    GQF_ASSIGN_OR_RETURN(runtime::CompiledKernel compiled, lib.compile(source));
    GQF_ASSIGN_OR_RETURN(module_, lib.module(ctx_, compiled.key, compiled.cubin, source.entry_points));
  }
  for (const LaunchShape& l : at_max.launches) {
    auto f = module_->functions.find(l.entry);
    if (f == module_->functions.end()) return internal_error("the kernel has no entry point {}", l.entry);
    if (l.dynamic_shared_bytes > 48 * 1024) {
      GQF_CU_CHECK(
          *api, cuFuncSetAttribute(f->second, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, l.dynamic_shared_bytes));
    }
  }
  return ok_status();
}

Plan::~Plan() {
  if (retained_device_ < 0) return;
  if (auto api = runtime::driver(); api.ok()) (*api)->cuDevicePrimaryCtxRelease_v2(retained_device_);
}

void Plan::describe(gqaforge_plan_info& info) const {
  const uint32_t size = info.struct_size;
  info = gqaforge_plan_info{};
  info.struct_size = size;
  info.decision = decision_;
  info.loaded = module_ != nullptr || cpu_fn_ != nullptr ? 1 : 0;
  info.from_cubin = cubin_ != nullptr ? 1 : 0;
  info.measured_us = measured_us_;
  info.distance = distance_;
  info.bucket_batch_lo = bucket_batch_.lo, info.bucket_batch_hi = bucket_batch_.hi;
  info.bucket_q_len_lo = bucket_q_len_.lo, info.bucket_q_len_hi = bucket_q_len_.hi;
  info.bucket_kv_len_lo = bucket_kv_len_.lo, info.bucket_kv_len_hi = bucket_kv_len_.hi;
  info.workspace_bytes = workspace_bytes_;
  info.family = family_name_.c_str();
  info.kernel_class = class_name_.c_str();
  info.config = config_text_.c_str();
  info.reason = reason_.c_str();
  info.not_loaded = not_loaded_.c_str();
}

Status Plan::check_args(const gqaforge_run_args& a, void* workspace, size_t workspace_bytes) const {
  GQF_RETURN_IF_ERROR(check_struct_size(a.struct_size, sizeof(gqaforge_run_args), "gqaforge_run_args"));
  if (a.q == nullptr || a.k == nullptr || a.v == nullptr || a.o == nullptr) {
    return invalid_argument("Q, K, V and O must not be null (q={}, k={}, v={}, o={})", a.q, a.k, a.v,
                            static_cast<const void*>(a.o));
  }
  if (a.batch < 1 || a.batch > problem_.batch) {
    return invalid_argument("batch {} is outside the plan's 1..{}", a.batch, problem_.batch);
  }
  if (problem_.phase == Phase::kDecode) {
    if (a.q_len != problem_.q_len) {
      return invalid_argument("q_len {} is not the plan's {} (decode's query tokens per step are a static dim)",
                              a.q_len, problem_.q_len);
    }
  } else if (a.q_len < 1 || a.q_len > problem_.q_len) {
    return invalid_argument("q_len {} is outside the plan's 1..{}", a.q_len, problem_.q_len);
  }
  if (a.kv_len < 1 || a.kv_len > problem_.kv_len) {
    return invalid_argument("kv_len {} is outside the plan's 1..{}", a.kv_len, problem_.kv_len);
  }
  const auto expect = [](bool wanted, const void* ptr, const char* name, const char* flag) -> Status {
    if (wanted && ptr == nullptr) return invalid_argument("{} is null, and the plan's problem has {}", name, flag);
    if (!wanted && ptr != nullptr) return invalid_argument("{} is set, and the plan's problem lacks {}", name, flag);
    return ok_status();
  };
  GQF_RETURN_IF_ERROR(expect((flags_ & GQAFORGE_PROBLEM_LSE) != 0, a.lse, "lse", "GQAFORGE_PROBLEM_LSE"));
  GQF_RETURN_IF_ERROR(
      expect((flags_ & GQAFORGE_PROBLEM_KV_LENS) != 0, a.kv_lens, "kv_lens", "GQAFORGE_PROBLEM_KV_LENS"));
  GQF_RETURN_IF_ERROR(
      expect((flags_ & GQAFORGE_PROBLEM_VARLEN) != 0, a.cu_seqlens_q, "cu_seqlens_q", "GQAFORGE_PROBLEM_VARLEN"));
  GQF_RETURN_IF_ERROR(
      expect((flags_ & GQAFORGE_PROBLEM_VARLEN) != 0, a.cu_seqlens_k, "cu_seqlens_k", "GQAFORGE_PROBLEM_VARLEN"));
  if (workspace_bytes_ > 0) {
    if (workspace == nullptr || workspace_bytes < workspace_bytes_) {
      return invalid_argument("the plan needs a workspace of {} bytes (gqaforge_plan_workspace_size), got {} at {}",
                              workspace_bytes_, workspace_bytes, workspace);
    }
    if (!aligned16(workspace)) return invalid_argument("the workspace {} must be 16-byte aligned", workspace);
  }
  return ok_status();
}

Result<ShapeLaunch> Plan::shape_launch(const AttentionProblem& problem, const GqaParams& params) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  for (const ShapeLaunch& c : cache_) {
    if (c.batch == problem.batch && c.q_len == problem.q_len && c.kv_len == problem.kv_len) return c;
  }
  const DeviceLimits& limits = library_->limits();
  GQF_ASSIGN_OR_RETURN(LaunchPlan lp, family_->launch_plan(family_->launch_problem(problem, params), config_, limits));
  if (lp.workspace.bytes > workspace_bytes_ || lp.launches.size() > 2) {
    return internal_error("{} [{}] at {} needs {} workspace bytes over {} launches; the plan reserved {}", family_name_,
                          config_text_, problem.name(), lp.workspace.bytes, lp.launches.size(), workspace_bytes_);
  }
  ShapeLaunch s;
  s.batch = problem.batch, s.q_len = problem.q_len, s.kv_len = problem.kv_len;
  s.launch_count = static_cast<int>(lp.launches.size());
  for (size_t i = 0; i < lp.launches.size(); ++i) {
    const LaunchShape& l = lp.launches[i];
    auto f = module_->functions.find(l.entry);
    if (f == module_->functions.end()) return internal_error("the kernel has no entry point {}", l.entry);
    BoundLaunch& b = s.launches[i];
    b.function = f->second;
    std::copy(std::begin(l.grid), std::end(l.grid), b.grid);
    std::copy(std::begin(l.block), std::end(l.block), b.block);
    b.shared_bytes = static_cast<unsigned>(l.dynamic_shared_bytes);
    b.programmatic = l.programmatic;
    b.kv_map_rows = l.kv_map_rows;
  }
  s.num_splits = lp.num_splits, s.split_len = lp.split_len;
  s.o_partial_offset = lp.workspace.o_partial_offset, s.lse_partial_offset = lp.workspace.lse_partial_offset;
  s.zero_offset = lp.workspace.zero_offset, s.zero_bytes = lp.workspace.zero_bytes;
  s.workspace_bytes = lp.workspace.bytes;
  cache_[cache_next_] = s;
  cache_next_ = (cache_next_ + 1) % cache_.size();
  return s;
}

Status Plan::run(const gqaforge_run_args& a, void* workspace, size_t workspace_bytes, CUstream stream) const {
  GQF_RETURN_IF_ERROR(check_args(a, workspace, workspace_bytes));
  GqaParams params = base_params_;
  params.q = a.q, params.k = a.k, params.v = a.v, params.o = a.o, params.lse = a.lse;
  params.kv_lens = a.kv_lens, params.cu_seqlens_q = a.cu_seqlens_q, params.cu_seqlens_k = a.cu_seqlens_k;
  params.batch = static_cast<int>(a.batch);
  params.q_len = static_cast<int>(a.q_len);
  params.kv_len = static_cast<int>(a.kv_len);
  if (cpu_fn_ != nullptr) return run_cpu(params, a, workspace, stream);
  // The strides were checked at plan creation; the pointers are this run's.
  GQF_RETURN_IF_ERROR(runtime::check_vector_alignment(params));
  if (module_ == nullptr) return unavailable("the plan's kernel is not loaded: {}", not_loaded_);
  GQF_ASSIGN_OR_RETURN(const runtime::DriverApi* api, runtime::driver());
  CUcontext current = nullptr;
  GQF_CU_CHECK(api, cuCtxGetCurrent(&current));
  if (current != ctx_) {
    if (current == nullptr) {
      return failed_precondition(
          "no CUDA context is current on this thread; the plan's kernel is loaded in context "
          "{} (make it current, e.g. cudaSetDevice)",
          fmt::ptr(ctx_));
    }
    return failed_precondition("the current CUDA context {} is not the plan's {}: make a plan in each context",
                               fmt::ptr(current), fmt::ptr(ctx_));
  }

  AttentionProblem shape = problem_;
  shape.batch = a.batch, shape.q_len = a.q_len, shape.kv_len = a.kv_len;
  GQF_ASSIGN_OR_RETURN(ShapeLaunch s, shape_launch(shape, params));
  if (s.num_splits > 0) {
    params.num_splits = s.num_splits;
    params.split_len = s.split_len;
  }
  const auto ws = reinterpret_cast<CUdeviceptr>(workspace);
  if (s.workspace_bytes > 0) {
    params.o_partial = reinterpret_cast<float*>(ws + s.o_partial_offset);
    params.lse_partial = reinterpret_cast<float*>(ws + s.lse_partial_offset);
  }
  // The fused combine counts finished splits in the workspace; the kernel leaves the counters
  // zero, but the caller's workspace may hold anything (another plan's partials, a fresh
  // allocation), so they are zeroed on the stream before every run.
  if (s.zero_bytes > 0) GQF_CU_CHECK(api, cuMemsetD8Async(ws + s.zero_offset, 0, s.zero_bytes, stream));
  // TMA kernels take the K/V tensor maps of this call's tensors as their second argument (a
  // kernel without it reads only the first).
  KvTensorMaps maps;
  void* kernel_args[] = {&params, &maps};
  for (int i = 0; i < s.launch_count; ++i) {
    const BoundLaunch& l = s.launches[static_cast<size_t>(i)];
    if (l.kv_map_rows > 0) GQF_RETURN_IF_ERROR(kv_maps_.get(*api, params, problem_.head_dim, l.kv_map_rows, &maps));
    GQF_RETURN_IF_ERROR(
        runtime::launch_kernel(*api, l.function, l.grid, l.block, l.shared_bytes, stream, kernel_args, l.programmatic));
  }
  return ok_status();
}

Status Plan::run_cpu(const GqaParams& params, const gqaforge_run_args& a, void* workspace, CUstream stream) const {
  if (stream != nullptr) {
    return invalid_argument(
        "the CPU target runs on the calling thread and its pointers are host memory: pass stream "
        "NULL, not {}",
        fmt::ptr(stream));
  }
  AttentionProblem shape = problem_;
  shape.batch = a.batch, shape.q_len = a.q_len, shape.kv_len = a.kv_len;
  const AttentionProblem launch = family_->launch_problem(shape, params);
  GQF_ASSIGN_OR_RETURN(LaunchPlan lp, family_->launch_plan(launch, config_, library_->limits()));
  if (lp.workspace.bytes > workspace_bytes_) {
    return internal_error("{} [{}] at {} needs {} workspace bytes; the plan reserved {}", family_name_, config_text_,
                          shape.name(), lp.workspace.bytes, workspace_bytes_);
  }
  return library_->cpu()->run_compiled(cpu_fn_, launch, lp, params, workspace);
}

}  // namespace gqaforge::capi
