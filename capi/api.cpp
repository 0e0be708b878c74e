// The C functions of include/gqaforge/gqaforge.h: argument checks at the boundary, Status to
// gqaforge_status, the per-thread message, and no exception ever leaving a call.
#include <exception>
#include <new>
#include <string>

#include "capi/state.h"
#include "core/build_info.h"

struct gqaforge_library {
  std::shared_ptr<gqaforge::capi::LibraryState> state;
  // What gqaforge_library_info_get points into.
  std::string gpu_name, created_at;
};

struct gqaforge_plan {
  std::unique_ptr<gqaforge::capi::Plan> plan;
};

namespace gqaforge::capi {
namespace {

thread_local std::string t_last_error;

// The C statuses are the StatusCode values, in the same order: conversion is a cast, and the
// names are status_code_name's.
#define GQF_SAME_CODE(c, code) \
  static_assert(static_cast<int>(GQAFORGE_STATUS_##c) == static_cast<int>(StatusCode::code))
GQF_SAME_CODE(OK, kOk);
GQF_SAME_CODE(INVALID_ARGUMENT, kInvalidArgument);
GQF_SAME_CODE(FAILED_PRECONDITION, kFailedPrecondition);
GQF_SAME_CODE(NOT_FOUND, kNotFound);
GQF_SAME_CODE(RESOURCE_EXHAUSTED, kResourceExhausted);
GQF_SAME_CODE(UNAVAILABLE, kUnavailable);
GQF_SAME_CODE(DATA_LOSS, kDataLoss);
GQF_SAME_CODE(INTERNAL, kInternal);
#undef GQF_SAME_CODE
constexpr int kLastStatus = GQAFORGE_STATUS_INTERNAL;

gqaforge_status to_c(StatusCode code) {
  return static_cast<gqaforge_status>(code);
}

gqaforge_status finish(const Status& status, const char* function) {
  if (status.ok()) {
    t_last_error.clear();
    return GQAFORGE_STATUS_OK;
  }
  t_last_error = std::string(function) + ": " + status.message();
  return to_c(status.code());
}

// Runs `body` (returning Status), mapping any escaping exception to an internal error.
template <class Body>
gqaforge_status guarded(const char* function, Body&& body) noexcept {
  try {
    return finish(body(), function);
  } catch (const std::bad_alloc&) {
    return finish(resource_exhausted("out of host memory"), function);
  } catch (const std::exception& e) {
    return finish(internal_error("unexpected exception: {}", e.what()), function);
  } catch (...) {
    return finish(internal_error("unexpected exception"), function);
  }
}

Status require(const void* ptr, const char* name) {
  if (ptr == nullptr) return invalid_argument("{} must not be null", name);
  return ok_status();
}

}  // namespace

Status check_struct_size(uint32_t given, size_t expected, const char* name, const char* hint) {
  if (given != expected) {
    return invalid_argument("{}.struct_size is {}, this gqaforge expects {} (set it to sizeof({}){})", name, given,
                            expected, name, hint);
  }
  return ok_status();
}

}  // namespace gqaforge::capi

using gqaforge::Status;
using gqaforge::capi::guarded;
using gqaforge::capi::require;

extern "C" {

int gqaforge_version(void) {
  return GQAFORGE_VERSION_MAJOR * 10000 + GQAFORGE_VERSION_MINOR * 100 + GQAFORGE_VERSION_PATCH;
}

const char* gqaforge_version_string(void) {
  static const std::string text =
      std::string(gqaforge::gqaforge_version()) + " (commit " + gqaforge::gqaforge_git_commit() + ")";
  return text.c_str();
}

const char* gqaforge_status_name(gqaforge_status status) {
  const int s = static_cast<int>(status);
  if (s < 0 || s > gqaforge::capi::kLastStatus) return "unknown";
  return gqaforge::status_code_name(static_cast<gqaforge::StatusCode>(s));
}

const char* gqaforge_decision_name(gqaforge_decision decision) {
  switch (decision) {
    case GQAFORGE_DECISION_EXACT:
      return "exact";
    case GQAFORGE_DECISION_NEAREST:
      return "nearest";
    case GQAFORGE_DECISION_DEFAULT:
      return "default";
  }
  return "unknown";
}

const char* gqaforge_last_error(void) {
  return gqaforge::capi::t_last_error.c_str();
}

gqaforge_status gqaforge_library_open(const char* path, const gqaforge_open_options* options, gqaforge_library** out) {
  return guarded("gqaforge_library_open", [&]() -> Status {
    GQF_RETURN_IF_ERROR(require(out, "out"));
    *out = nullptr;
    gqaforge_open_options defaults{};
    defaults.struct_size = sizeof(gqaforge_open_options);
    if (options != nullptr) {
      GQF_RETURN_IF_ERROR(gqaforge::capi::check_struct_size(options->struct_size, sizeof(gqaforge_open_options),
                                                            "gqaforge_open_options"));
      if ((options->flags & ~uint32_t{GQAFORGE_OPEN_FORBID_JIT}) != 0) {
        return gqaforge::invalid_argument("gqaforge_open_options.flags has unknown bits {:#x}",
                                          options->flags & ~uint32_t{GQAFORGE_OPEN_FORBID_JIT});
      }
    }
    GQF_ASSIGN_OR_RETURN(auto state, gqaforge::capi::LibraryState::open(path, options ? *options : defaults));
    auto handle = std::make_unique<gqaforge_library>();
    if (const auto* table = state->table()) {
      handle->gpu_name = table->contents().manifest.gpu_name;
      handle->created_at = table->contents().manifest.created_at;
    }
    handle->state = std::move(state);
    *out = handle.release();
    return gqaforge::ok_status();
  });
}

gqaforge_status gqaforge_library_close(gqaforge_library* library) {
  return guarded("gqaforge_library_close", [&]() -> Status {
    delete library;
    return gqaforge::ok_status();
  });
}

gqaforge_status gqaforge_library_info_get(const gqaforge_library* library, gqaforge_library_info* info) {
  return guarded("gqaforge_library_info_get", [&]() -> Status {
    GQF_RETURN_IF_ERROR(require(library, "library"));
    GQF_RETURN_IF_ERROR(require(info, "info"));
    GQF_RETURN_IF_ERROR(
        gqaforge::capi::check_struct_size(info->struct_size, sizeof(gqaforge_library_info), "gqaforge_library_info"));
    const gqaforge::capi::LibraryState& s = *library->state;
    gqaforge_library_info i{};
    i.struct_size = sizeof(gqaforge_library_info);
    i.jit_allowed = s.allow_jit() ? 1 : 0;
    i.jit_only = s.table() == nullptr ? 1 : 0;
    if (const auto* table = s.table()) {
      const auto& c = table->contents();
      i.format_version = c.manifest.format_version;
      i.classes = static_cast<int64_t>(c.classes.size());
      i.entries = static_cast<int64_t>(c.entries.size());
      i.cubins = static_cast<int64_t>(c.cubins.size());
    }
    i.path = s.path().c_str();
    i.arch = s.arch().c_str();
    i.gpu_name = library->gpu_name.c_str();
    i.created_at = library->created_at.c_str();
    i.refused_reason = s.refused_reason().c_str();
    *info = i;
    return gqaforge::ok_status();
  });
}

gqaforge_problem gqaforge_problem_make(gqaforge_phase phase, gqaforge_dtype dtype, int32_t n_q_heads,
                                       int32_t n_kv_heads, int32_t head_dim, int32_t causal, int64_t max_batch,
                                       int64_t max_q_len, int64_t max_kv_len) {
  gqaforge_problem p{};
  p.struct_size = sizeof(gqaforge_problem);
  p.phase = phase;
  p.dtype = dtype;
  p.n_q_heads = n_q_heads;
  p.n_kv_heads = n_kv_heads;
  p.head_dim = head_dim;
  p.causal = causal;
  p.max_batch = max_batch;
  p.max_q_len = max_q_len;
  p.max_kv_len = max_kv_len;
  return p;
}

gqaforge_status gqaforge_plan_create(gqaforge_library* library, const gqaforge_problem* problem, uint32_t flags,
                                     gqaforge_plan** out) {
  return guarded("gqaforge_plan_create", [&]() -> Status {
    GQF_RETURN_IF_ERROR(require(out, "out"));
    *out = nullptr;
    GQF_RETURN_IF_ERROR(require(library, "library"));
    GQF_RETURN_IF_ERROR(require(problem, "problem"));
    GQF_ASSIGN_OR_RETURN(auto plan, gqaforge::capi::Plan::create(library->state, *problem, flags));
    auto handle = std::make_unique<gqaforge_plan>();
    handle->plan = std::move(plan);
    *out = handle.release();
    return gqaforge::ok_status();
  });
}

gqaforge_status gqaforge_plan_destroy(gqaforge_plan* plan) {
  return guarded("gqaforge_plan_destroy", [&]() -> Status {
    delete plan;
    return gqaforge::ok_status();
  });
}

gqaforge_status gqaforge_plan_workspace_size(const gqaforge_plan* plan, size_t* bytes) {
  return guarded("gqaforge_plan_workspace_size", [&]() -> Status {
    GQF_RETURN_IF_ERROR(require(plan, "plan"));
    GQF_RETURN_IF_ERROR(require(bytes, "bytes"));
    *bytes = plan->plan->workspace_bytes();
    return gqaforge::ok_status();
  });
}

gqaforge_status gqaforge_plan_describe(const gqaforge_plan* plan, gqaforge_plan_info* info) {
  return guarded("gqaforge_plan_describe", [&]() -> Status {
    GQF_RETURN_IF_ERROR(require(plan, "plan"));
    GQF_RETURN_IF_ERROR(require(info, "info"));
    GQF_RETURN_IF_ERROR(
        gqaforge::capi::check_struct_size(info->struct_size, sizeof(gqaforge_plan_info), "gqaforge_plan_info"));
    plan->plan->describe(*info);
    return gqaforge::ok_status();
  });
}

gqaforge_status gqaforge_plan_run(const gqaforge_plan* plan, const gqaforge_run_args* args, void* workspace,
                                  size_t workspace_bytes, void* stream) {
  return guarded("gqaforge_plan_run", [&]() -> Status {
    GQF_RETURN_IF_ERROR(require(plan, "plan"));
    GQF_RETURN_IF_ERROR(require(args, "args"));
    return plan->plan->run(*args, workspace, workspace_bytes, static_cast<CUstream>(stream));
  });
}

}  // extern "C"
