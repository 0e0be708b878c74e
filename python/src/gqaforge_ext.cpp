// gqaforge._C: the C API (include/gqaforge/gqaforge.h) for Python, handle for handle. Library
// and Plan own a gqaforge_library / gqaforge_plan; every non-OK status raises the exception of
// its status (a subclass of gqaforge.Error) with the C API's message. Device memory and streams
// cross as integers (data_ptr(), cuda_stream), so the module needs no PyTorch and no CUDA header.
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include "gqaforge/gqaforge.h"

namespace nb = nanobind;

namespace {

constexpr int kStatusCount = GQAFORGE_STATUS_INTERNAL + 1;

// The exception classes, indexed by gqaforge_status (0, ok, holds the base class Error).
PyObject* g_errors[kStatusCount] = {};

// Raises the exception of `status` with gqaforge_last_error() as its message, carrying
// `status` (the name, "invalid_argument") and `code` (the enum value).
[[noreturn]] void raise_status(gqaforge_status status) {
  const int index = static_cast<int>(status);
  PyObject* type = index > 0 && index < kStatusCount ? g_errors[index] : g_errors[0];
  nb::object error = nb::borrow(type)(nb::str(gqaforge_last_error()));
  error.attr("status") = nb::str(gqaforge_status_name(status));
  error.attr("code") = index;
  PyErr_SetObject(type, error.ptr());
  throw nb::python_error();
}

void check(gqaforge_status status) {
  if (status != GQAFORGE_STATUS_OK) raise_status(status);
}

const void* as_ptr(uintptr_t address) {
  return reinterpret_cast<const void*>(address);
}

class Library {
 public:
  Library(std::optional<std::string> path, bool allow_jit, std::optional<std::string> arch,
          std::optional<std::string> cache_dir) {
    gqaforge_open_options options{};
    options.struct_size = sizeof(options);
    options.flags = allow_jit ? 0u : uint32_t{GQAFORGE_OPEN_FORBID_JIT};
    options.arch = arch ? arch->c_str() : nullptr;
    options.cache_dir = cache_dir ? cache_dir->c_str() : nullptr;
    gqaforge_status status;
    {
      // Opening checks the file (and may compile nothing); other Python threads may run.
      nb::gil_scoped_release release;
      status = gqaforge_library_open(path ? path->c_str() : nullptr, &options, &handle_);
    }
    check(status);
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  ~Library() { gqaforge_library_close(handle_); }

  gqaforge_library* handle() const { return handle_; }

  nb::dict info() const {
    gqaforge_library_info i{};
    i.struct_size = sizeof(i);
    check(gqaforge_library_info_get(handle_, &i));
    nb::dict d;
    d["format_version"] = i.format_version;
    d["jit_allowed"] = i.jit_allowed != 0;
    d["jit_only"] = i.jit_only != 0;
    d["classes"] = i.classes;
    d["entries"] = i.entries;
    d["cubins"] = i.cubins;
    d["path"] = i.path;
    d["arch"] = i.arch;
    d["gpu_name"] = i.gpu_name;
    d["created_at"] = i.created_at;
    d["refused_reason"] = i.refused_reason;
    return d;
  }

 private:
  gqaforge_library* handle_ = nullptr;
};

using Strides = std::tuple<int64_t, int64_t, int64_t>;

gqaforge_strides to_c(const Strides& s) {
  return {std::get<0>(s), std::get<1>(s), std::get<2>(s)};
}

gqaforge_phase phase_of(const std::string& name) {
  if (name == "prefill") return GQAFORGE_PHASE_PREFILL;
  if (name == "decode") return GQAFORGE_PHASE_DECODE;
  throw nb::value_error(("phase '" + name + "' is not 'prefill' or 'decode'").c_str());
}

gqaforge_dtype dtype_of(const std::string& name) {
  if (name == "bf16") return GQAFORGE_DTYPE_BF16;
  if (name == "fp16") return GQAFORGE_DTYPE_FP16;
  throw nb::value_error(("dtype '" + name + "' is not 'bf16' or 'fp16'").c_str());
}

class Plan {
 public:
  // The fields of gqaforge_problem, by name; strides are (batch, token, head) in elements.
  Plan(const Library& library, const std::string& phase, const std::string& dtype, int32_t n_q_heads,
       int32_t n_kv_heads, int32_t head_dim, bool causal, int64_t max_batch, int64_t max_q_len, int64_t max_kv_len,
       int64_t kv_capacity, const Strides& q, const Strides& k, const Strides& v, const Strides& o, float softmax_scale,
       uint32_t problem_flags, uint32_t plan_flags) {
    gqaforge_problem p = gqaforge_problem_make(phase_of(phase), dtype_of(dtype), n_q_heads, n_kv_heads, head_dim,
                                               causal ? 1 : 0, max_batch, max_q_len, max_kv_len);
    p.flags = problem_flags;
    p.kv_capacity = kv_capacity;
    p.q = to_c(q), p.k = to_c(k), p.v = to_c(v), p.o = to_c(o);
    p.softmax_scale = softmax_scale;
    gqaforge_status status;
    {
      // Creation may compile through NVRTC (seconds): let other Python threads run.
      nb::gil_scoped_release release;
      status = gqaforge_plan_create(library.handle(), &p, plan_flags, &handle_);
    }
    check(status);
    check(gqaforge_plan_workspace_size(handle_, &workspace_size_));
  }
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() { gqaforge_plan_destroy(handle_); }

  size_t workspace_size() const { return workspace_size_; }

  nb::dict describe() const {
    gqaforge_plan_info i{};
    i.struct_size = sizeof(i);
    check(gqaforge_plan_describe(handle_, &i));
    static const char* const kDecisions[] = {"exact", "nearest", "default"};
    const int decision = static_cast<int>(i.decision);
    nb::dict d;
    d["decision"] = decision >= 0 && decision < 3 ? kDecisions[decision] : "unknown";
    d["loaded"] = i.loaded != 0;
    d["from_cubin"] = i.from_cubin != 0;
    d["measured_us"] = i.measured_us;
    d["distance"] = i.distance;
    d["bucket_batch"] = nb::make_tuple(i.bucket_batch_lo, i.bucket_batch_hi);
    d["bucket_q_len"] = nb::make_tuple(i.bucket_q_len_lo, i.bucket_q_len_hi);
    d["bucket_kv_len"] = nb::make_tuple(i.bucket_kv_len_lo, i.bucket_kv_len_hi);
    d["workspace_bytes"] = i.workspace_bytes;
    d["family"] = i.family;
    d["kernel_class"] = i.kernel_class;
    d["config"] = i.config;
    d["reason"] = i.reason;
    d["not_loaded"] = i.not_loaded;
    return d;
  }

  // One gqaforge_plan_run. Positional and integer-only: this is the per-call path. The GIL is
  // kept (the call only enqueues work, a few microseconds).
  void run(int64_t batch, int64_t q_len, int64_t kv_len, uintptr_t q, uintptr_t k, uintptr_t v, uintptr_t o,
           uintptr_t lse, uintptr_t kv_lens, uintptr_t cu_seqlens_q, uintptr_t cu_seqlens_k, uintptr_t workspace,
           size_t workspace_bytes, uintptr_t stream) const {
    gqaforge_run_args a{};
    a.struct_size = sizeof(a);
    a.batch = batch, a.q_len = q_len, a.kv_len = kv_len;
    a.q = as_ptr(q), a.k = as_ptr(k), a.v = as_ptr(v);
    a.o = reinterpret_cast<void*>(o);
    a.lse = reinterpret_cast<float*>(lse);
    a.kv_lens = reinterpret_cast<const int32_t*>(kv_lens);
    a.cu_seqlens_q = reinterpret_cast<const int32_t*>(cu_seqlens_q);
    a.cu_seqlens_k = reinterpret_cast<const int32_t*>(cu_seqlens_k);
    check(gqaforge_plan_run(handle_, &a, reinterpret_cast<void*>(workspace), workspace_bytes,
                            reinterpret_cast<void*>(stream)));
  }

 private:
  gqaforge_plan* handle_ = nullptr;
  size_t workspace_size_ = 0;
};

// gqaforge.Error and one subclass per status; invalid_argument is a ValueError too, not_found a
// FileNotFoundError, so that generic handlers catch them.
void define_errors(nb::module_& m) {
  PyObject* base = PyErr_NewExceptionWithDoc("gqaforge.Error",
                                             "A gqaforge C API call failed; `status` names the "
                                             "gqaforge_status, the message is the C API's.",
                                             PyExc_RuntimeError, nullptr);
  if (base == nullptr) throw nb::python_error();
  g_errors[0] = base;
  m.attr("Error") = nb::handle(base);
  struct Sub {
    gqaforge_status status;
    const char* name;
    PyObject* also;
  };
  const Sub subs[] = {
      {GQAFORGE_STATUS_INVALID_ARGUMENT, "InvalidArgumentError", PyExc_ValueError},
      {GQAFORGE_STATUS_FAILED_PRECONDITION, "FailedPreconditionError", nullptr},
      {GQAFORGE_STATUS_NOT_FOUND, "NotFoundError", PyExc_FileNotFoundError},
      {GQAFORGE_STATUS_RESOURCE_EXHAUSTED, "ResourceExhaustedError", nullptr},
      {GQAFORGE_STATUS_UNAVAILABLE, "UnavailableError", nullptr},
      {GQAFORGE_STATUS_DATA_LOSS, "DataLossError", nullptr},
      {GQAFORGE_STATUS_INTERNAL, "InternalError", nullptr},
  };
  for (const Sub& s : subs) {
    nb::object bases =
        s.also != nullptr ? nb::make_tuple(nb::handle(base), nb::handle(s.also)) : nb::make_tuple(nb::handle(base));
    const std::string qualified = std::string("gqaforge.") + s.name;
    PyObject* type = PyErr_NewException(qualified.c_str(), bases.ptr(), nullptr);
    if (type == nullptr) throw nb::python_error();
    g_errors[static_cast<int>(s.status)] = type;
    m.attr(s.name) = nb::handle(type);
  }
}

}  // namespace

NB_MODULE(_C, m) {
  m.doc() = "gqaforge's C API, handle for handle (see include/gqaforge/gqaforge.h)";
  define_errors(m);
  m.def("version", &gqaforge_version);
  m.def("version_string", [] { return std::string(gqaforge_version_string()); });
  m.attr("HEADER_VERSION") = GQAFORGE_VERSION_MAJOR * 10000 + GQAFORGE_VERSION_MINOR * 100 + GQAFORGE_VERSION_PATCH;
  m.attr("PROBLEM_VARLEN") = static_cast<uint32_t>(GQAFORGE_PROBLEM_VARLEN);
  m.attr("PROBLEM_KV_LENS") = static_cast<uint32_t>(GQAFORGE_PROBLEM_KV_LENS);
  m.attr("PROBLEM_LSE") = static_cast<uint32_t>(GQAFORGE_PROBLEM_LSE);
  m.attr("PLAN_HEURISTIC_DEFAULT") = static_cast<uint32_t>(GQAFORGE_PLAN_HEURISTIC_DEFAULT);

  nb::class_<Library>(m, "Library", "An open gqaforge_library (a .gqalib file, or None: JIT only)")
      .def(nb::init<std::optional<std::string>, bool, std::optional<std::string>, std::optional<std::string>>(),
           nb::arg("path").none(), nb::arg("allow_jit") = true, nb::arg("arch").none() = nb::none(),
           nb::arg("cache_dir").none() = nb::none())
      .def("info", &Library::info, "gqaforge_library_info_get as a dict");

  nb::class_<Plan>(m, "Plan", "A gqaforge_plan: one problem's kernel, chosen and loaded")
      .def(nb::init<const Library&, const std::string&, const std::string&, int32_t, int32_t, int32_t, bool, int64_t,
                    int64_t, int64_t, int64_t, const Strides&, const Strides&, const Strides&, const Strides&, float,
                    uint32_t, uint32_t>(),
           nb::arg("library"), nb::arg("phase"), nb::arg("dtype"), nb::arg("n_q_heads"), nb::arg("n_kv_heads"),
           nb::arg("head_dim"), nb::arg("causal"), nb::arg("max_batch"), nb::arg("max_q_len"), nb::arg("max_kv_len"),
           nb::arg("kv_capacity") = 0, nb::arg("q_strides") = Strides{0, 0, 0}, nb::arg("k_strides") = Strides{0, 0, 0},
           nb::arg("v_strides") = Strides{0, 0, 0}, nb::arg("o_strides") = Strides{0, 0, 0},
           nb::arg("softmax_scale") = 0.0f, nb::arg("problem_flags") = 0u, nb::arg("plan_flags") = 0u)
      .def_prop_ro("workspace_size", &Plan::workspace_size)
      .def("describe", &Plan::describe, "gqaforge_plan_describe as a dict")
      .def("run", &Plan::run, nb::arg("batch"), nb::arg("q_len"), nb::arg("kv_len"), nb::arg("q"), nb::arg("k"),
           nb::arg("v"), nb::arg("o"), nb::arg("lse"), nb::arg("kv_lens"), nb::arg("cu_seqlens_q"),
           nb::arg("cu_seqlens_k"), nb::arg("workspace"), nb::arg("workspace_bytes"), nb::arg("stream"),
           "gqaforge_plan_run; pointers and the stream are integers (0 = NULL)");
}
