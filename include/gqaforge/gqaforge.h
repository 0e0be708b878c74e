/* gqaforge C API: tuned grouped-query attention kernels for serving code.
 *
 * The flow is the one of cuBLASLt / cuDNN plans and FlashInfer's plan/run:
 *
 *   gqaforge_library_open   a tuned kernel library (.gqalib), or none (JIT only)
 *   gqaforge_plan_create    pick the kernel for a problem (heads, head dim, dtype, mask, the
 *                           largest batch and lengths, tensor strides) and load it
 *   gqaforge_plan_workspace_size
 *   gqaforge_plan_run       launch on caller-owned device memory and stream: allocates
 *                           nothing, never synchronizes, can be captured in a CUDA graph
 *   gqaforge_plan_destroy, gqaforge_library_close
 *
 * Every call returns a gqaforge_status. A failed call also leaves a message naming the value
 * at fault and why; gqaforge_last_error() returns it (per thread). No C++ exception crosses
 * this boundary. Library handles are thread-safe; a plan may be run from several threads at
 * once (on different streams, each with its own workspace).
 *
 * Tensors are 16-bit (bf16 or fp16) with the head dim contiguous and strides in elements:
 *   Q, O  [batch, q_len, n_q_heads, head_dim]      (varlen: [total_q_tokens, n_q_heads, head_dim])
 *   K, V  [batch, capacity, n_kv_heads, head_dim]  (varlen: [total_kv_tokens, ...]); any layout
 *         whose strides are given, e.g. [batch, n_kv_heads, capacity, head_dim] of a KV cache
 *   LSE   fp32 [batch, q_len, n_q_heads] (varlen: [total_q_tokens, n_q_heads]), natural log,
 *         optional
 * Causal masks are bottom-right aligned: query i of a sequence with q queries and k keys sees
 * the keys j <= i + (k - q).
 */
#ifndef GQAFORGE_GQAFORGE_H_
#define GQAFORGE_GQAFORGE_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define GQAFORGE_API
#else
#define GQAFORGE_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------------------- */

#define GQAFORGE_VERSION_MAJOR 0
#define GQAFORGE_VERSION_MINOR 1
#define GQAFORGE_VERSION_PATCH 0

/* The version of the loaded library: (major * 10000 + minor * 100 + patch). Compare it with
 * the GQAFORGE_VERSION_* of the header a program was built with. */
GQAFORGE_API int gqaforge_version(void);
/* "0.1.0 (commit abc1234)". Static storage. */
GQAFORGE_API const char* gqaforge_version_string(void);

/* ---- status -------------------------------------------------------------------------- */

typedef enum gqaforge_status {
  GQAFORGE_STATUS_OK = 0,
  GQAFORGE_STATUS_INVALID_ARGUMENT = 1,    /* a bad value: null pointer, head dim, stride, length */
  GQAFORGE_STATUS_FAILED_PRECONDITION = 2, /* e.g. no tuned kernel and JIT forbidden; wrong context */
  GQAFORGE_STATUS_NOT_FOUND = 3,           /* the library file does not exist */
  GQAFORGE_STATUS_RESOURCE_EXHAUSTED = 4,  /* device memory, workspace too small */
  GQAFORGE_STATUS_UNAVAILABLE = 5,         /* no CUDA driver or no GPU; NVRTC cannot be loaded */
  GQAFORGE_STATUS_DATA_LOSS = 6,           /* a damaged or truncated library file */
  GQAFORGE_STATUS_INTERNAL = 7             /* a bug, or a CUDA call failing unexpectedly */
} gqaforge_status;

/* "ok", "invalid_argument", ... Static storage; "unknown" for a value not listed above. */
GQAFORGE_API const char* gqaforge_status_name(gqaforge_status status);
/* The message of the last call on this thread that failed ("" if none failed since the last
 * successful call). Valid until the next gqaforge call on this thread. */
GQAFORGE_API const char* gqaforge_last_error(void);

/* ---- library ------------------------------------------------------------------------- */

typedef struct gqaforge_library gqaforge_library;

enum {
  /* Shapes that no tuned bucket serves get an error instead of the heuristic default compiled
   * through NVRTC; a library file that fails a check is an error instead of JIT-only. */
  GQAFORGE_OPEN_FORBID_JIT = 1u << 0
};

typedef struct gqaforge_open_options {
  uint32_t struct_size; /* sizeof(gqaforge_open_options): lets the struct grow */
  uint32_t flags;       /* GQAFORGE_OPEN_* */
  /* The target the kernels run on ("sm_90a"). NULL: the current CUDA device's (or, with no
   * GPU, the library's first target: planning works, running does not). "cpu": the host CPU,
   * kernels generated for it and compiled by the CPU backend module (libgqaforge_cpu.so, next
   * to this library in gqaforge/); runs take host memory and stream NULL and return when done;
   * a library file holds CUDA kernels only, so every CPU shape gets the heuristic default. */
  const char* arch;
  /* The persistent NVRTC compile cache for JIT kernels. NULL: $GQAFORGE_CACHE_DIR, else
   * $XDG_CACHE_HOME/gqaforge, else ~/.cache/gqaforge. */
  const char* cache_dir;
} gqaforge_open_options;

/* Opens `path`, checking its format, kernel templates and target; each cubin's sha256 is checked
 * when a plan first chooses it (a damaged one is never loaded: with JIT allowed that plan
 * compiles the same config through NVRTC and its reason says so, else plan creation fails).
 * `path` NULL opens no file: every shape gets the heuristic default through NVRTC.
 * A file that fails a check is refused with a message naming it and why; with JIT allowed
 * the library is then opened JIT-only (gqaforge_library_info says so), with JIT forbidden
 * the call fails. `options` may be NULL (defaults). */
GQAFORGE_API gqaforge_status gqaforge_library_open(const char* path, const gqaforge_open_options* options,
                                                   gqaforge_library** out);
/* Unloads the library's modules once its last plan is destroyed. NULL is a no-op. */
GQAFORGE_API gqaforge_status gqaforge_library_close(gqaforge_library* library);

typedef struct gqaforge_library_info {
  uint32_t struct_size;       /* sizeof(gqaforge_library_info), set by the caller */
  int32_t format_version;     /* 0 when no file is open */
  int32_t jit_allowed;        /* 1 or 0 */
  int32_t jit_only;           /* 1: no tuned table (no file, or the file was refused) */
  int64_t classes;            /* kernel classes the library serves */
  int64_t entries;            /* tuned buckets */
  int64_t cubins;             /* compiled kernels */
  const char* path;           /* "" when no file */
  const char* arch;           /* the target plans load kernels for */
  const char* gpu_name;       /* the GPU the rows were measured on ("" when none) */
  const char* created_at;     /* ISO-8601 UTC ("" when none) */
  const char* refused_reason; /* why the file was refused ("" when it was not) */
} gqaforge_library_info;

/* Fills `info`; its strings live as long as the library. */
GQAFORGE_API gqaforge_status gqaforge_library_info_get(const gqaforge_library* library, gqaforge_library_info* info);

/* ---- problem and plan ---------------------------------------------------------------- */

typedef enum gqaforge_phase { GQAFORGE_PHASE_PREFILL = 0, GQAFORGE_PHASE_DECODE = 1 } gqaforge_phase;
typedef enum gqaforge_dtype { GQAFORGE_DTYPE_BF16 = 0, GQAFORGE_DTYPE_FP16 = 1 } gqaforge_dtype;

/* Element strides of a 4-D tensor (head dim contiguous). All zero: contiguous
 * [batch, tokens, heads, head_dim] (varlen: batch stride unused). */
typedef struct gqaforge_strides {
  int64_t batch, token, head;
} gqaforge_strides;

enum {
  /* Prefill: packed sequences of different lengths, described at run time by cu_seqlens_q and
   * cu_seqlens_k ([batch + 1] prefix sums, device memory). */
  GQAFORGE_PROBLEM_VARLEN = 1u << 0,
  /* Per-sequence key counts at run time (kv_lens, [batch] device memory), each at most the
   * run's kv_len: a KV cache whose sequences have different lengths. */
  GQAFORGE_PROBLEM_KV_LENS = 1u << 1,
  /* run writes LSE. */
  GQAFORGE_PROBLEM_LSE = 1u << 2
};

typedef struct gqaforge_problem {
  uint32_t struct_size; /* sizeof(gqaforge_problem) */
  uint32_t flags;       /* GQAFORGE_PROBLEM_* */
  gqaforge_phase phase;
  gqaforge_dtype dtype;
  int32_t n_q_heads;  /* query heads */
  int32_t n_kv_heads; /* key/value heads; divides n_q_heads */
  int32_t head_dim;   /* 64, 96, 128 or 256 */
  int32_t causal;     /* 1: bottom-right causal mask */
  /* The largest shapes a run of the plan may pass. The plan is tuned for this shape; smaller
   * runs are correct, and as fast as the bucket allows. Decode: q_len is the query tokens
   * per step (1-16), a static dim: every run passes exactly this q_len. */
  int64_t max_batch;
  int64_t max_q_len;
  int64_t max_kv_len;  /* keys per sequence (the longest) */
  int64_t kv_capacity; /* tokens K and V hold per sequence (>= max_kv_len; 0 = max_kv_len) */
  gqaforge_strides q, k, v, o;
  float softmax_scale; /* 0: 1/sqrt(head_dim) */
} gqaforge_problem;

/* A problem with contiguous tensors, every flag off and the scale 1/sqrt(head_dim). */
GQAFORGE_API gqaforge_problem gqaforge_problem_make(gqaforge_phase phase, gqaforge_dtype dtype, int32_t n_q_heads,
                                                    int32_t n_kv_heads, int32_t head_dim, int32_t causal,
                                                    int64_t max_batch, int64_t max_q_len, int64_t max_kv_len);

typedef struct gqaforge_plan gqaforge_plan;

enum {
  /* Ignore the tuned table: the heuristic default through NVRTC (for comparisons). */
  GQAFORGE_PLAN_HEURISTIC_DEFAULT = 1u << 0
};

/* Chooses the kernel for `problem` and, when a GPU is present, loads it into the CUDA context
 * current on the calling thread (or device 0's primary context when none is current); the
 * plan's runs must happen in that context. Without a GPU the plan is made (describe shows the
 * choice) and run fails with GQAFORGE_STATUS_UNAVAILABLE. Dispatch: the tuned bucket holding
 * the shape; else the nearest tuned bucket of the kernel class; else the heuristic default
 * compiled through NVRTC (an error when the library forbids JIT). */
GQAFORGE_API gqaforge_status gqaforge_plan_create(gqaforge_library* library, const gqaforge_problem* problem,
                                                  uint32_t flags, gqaforge_plan** out);
/* NULL is a no-op. The plan must not be running on any stream (the kernels it enqueued may
 * still be executing: the modules stay loaded until the library is closed). */
GQAFORGE_API gqaforge_status gqaforge_plan_destroy(gqaforge_plan* plan);

/* Bytes of device workspace every run of the plan needs (0: none; pass NULL). */
GQAFORGE_API gqaforge_status gqaforge_plan_workspace_size(const gqaforge_plan* plan, size_t* bytes);

typedef enum gqaforge_decision {
  GQAFORGE_DECISION_EXACT = 0,   /* a tuned bucket holds the shape */
  GQAFORGE_DECISION_NEAREST = 1, /* the nearest tuned bucket of the class */
  GQAFORGE_DECISION_DEFAULT = 2  /* the heuristic default, compiled through NVRTC */
} gqaforge_decision;

typedef struct gqaforge_plan_info {
  uint32_t struct_size; /* sizeof(gqaforge_plan_info), set by the caller */
  gqaforge_decision decision;
  int32_t loaded;                           /* 1: the kernel is loaded and run can launch it */
  int32_t from_cubin;                       /* 1: the library's cubin; 0: compiled through NVRTC */
  double measured_us;                       /* the tuned bucket's measured time (0 for the default) */
  double distance;                          /* log2 distance to the bucket (0 inside it) */
  int64_t bucket_batch_lo, bucket_batch_hi; /* the bucket's ranges (0 for the default) */
  int64_t bucket_q_len_lo, bucket_q_len_hi;
  int64_t bucket_kv_len_lo, bucket_kv_len_hi;
  size_t workspace_bytes;
  const char* family;       /* "decode" | "prefill" */
  const char* kernel_class; /* "decode 32:8 d128 bf16 causal q1" */
  const char* config;       /* the config, canonical "key=value,..." */
  const char* reason;       /* one line: why this kernel */
  const char* not_loaded;   /* why the kernel is not loaded ("" when it is) */
} gqaforge_plan_info;

/* "exact", "nearest", "default". Static storage; "unknown" for a value not listed above. */
GQAFORGE_API const char* gqaforge_decision_name(gqaforge_decision decision);

/* Fills `info`; its strings live as long as the plan. */
GQAFORGE_API gqaforge_status gqaforge_plan_describe(const gqaforge_plan* plan, gqaforge_plan_info* info);

/* The tensors of one run. Pointers are device memory, 16-byte aligned. */
typedef struct gqaforge_run_args {
  uint32_t struct_size; /* sizeof(gqaforge_run_args) */
  int64_t batch;        /* <= max_batch */
  int64_t q_len;        /* <= max_q_len (decode: == q_len); varlen: the longest sequence */
  int64_t kv_len;       /* <= max_kv_len; with kv_lens or varlen: the longest sequence */
  const void* q;
  const void* k;
  const void* v;
  void* o;
  float* lse;                  /* with GQAFORGE_PROBLEM_LSE, else NULL */
  const int32_t* kv_lens;      /* with GQAFORGE_PROBLEM_KV_LENS, else NULL */
  const int32_t* cu_seqlens_q; /* with GQAFORGE_PROBLEM_VARLEN, else NULL */
  const int32_t* cu_seqlens_k;
} gqaforge_run_args;

/* Enqueues the attention on `stream` (a CUstream; NULL = the legacy default stream).
 * `workspace` holds gqaforge_plan_workspace_size() bytes of device memory (any contents) that
 * no other work uses until this run completes. Allocates nothing, never synchronizes; can be
 * captured in a CUDA graph (the graph then holds these pointers). */
GQAFORGE_API gqaforge_status gqaforge_plan_run(const gqaforge_plan* plan, const gqaforge_run_args* args,
                                               void* workspace, size_t workspace_bytes, void* stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GQAFORGE_GQAFORGE_H_ */
