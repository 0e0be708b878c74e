/* A C consumer of gqaforge's C API (C11, libgqaforge.so): opens a tuned kernel library, plans a
 * small table of decode and prefill problems, prints why each got its kernel, and runs it.
 *
 *   gqaforge_c_example LIBRARY.gqalib
 *
 * With a GPU the tensors are allocated with the CUDA runtime and every output is checked: V holds
 * one value everywhere, so whatever the attention weights, O must hold it too. Without a GPU
 * planning works the same, and run reports GQAFORGE_STATUS_UNAVAILABLE. Exit status 0 when every
 * step did what the machine allows. */
#include <gqaforge/gqaforge.h>

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct example_problem {
  gqaforge_phase phase;
  int32_t n_q_heads, n_kv_heads, head_dim, causal;
  int64_t batch, q_len, kv_len;
} example_problem;

/* Heads 8:1 at head dim 64, the classes a library built with `--heads 8:1 --head-dim 64` has
 * tuned, and one it has not (prefill 8:1 d128, served by the heuristic default). */
static const example_problem kProblems[] = {
    {GQAFORGE_PHASE_DECODE, 8, 1, 64, 1, 1, 1, 4096},    {GQAFORGE_PHASE_DECODE, 8, 1, 64, 1, 8, 1, 32768},
    {GQAFORGE_PHASE_DECODE, 8, 1, 64, 1, 4, 1, 300000},  {GQAFORGE_PHASE_PREFILL, 8, 1, 64, 1, 1, 2048, 2048},
    {GQAFORGE_PHASE_PREFILL, 8, 1, 128, 1, 2, 512, 512},
};

static const uint16_t kBf16Half = 0x3F00; /* 0.5 in bf16 */

/* Without a GPU there is no device memory to pass. run checks its arguments before it looks for
 * the kernel, so the tensors and the workspace are stand-in addresses (non-null, aligned, never
 * touched): the run then reports the missing GPU, not a null pointer. */
static _Alignas(16) unsigned char stand_in[16];

/* Prints a failed gqaforge call; returns 1 when `status` is OK. */
static int ok(gqaforge_status status, const char* call) {
  if (status == GQAFORGE_STATUS_OK) return 1;
  fprintf(stderr, "%s: %s: %s\n", call, gqaforge_status_name(status), gqaforge_last_error());
  return 0;
}

static int cuda_ok(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return 1;
  fprintf(stderr, "%s: %s\n", call, cudaGetErrorString(err));
  return 0;
}

/* Device buffers of one problem, contiguous [batch, tokens, heads, head_dim] bf16. */
typedef struct tensors {
  void *q, *k, *v, *o, *workspace;
  size_t q_elems, kv_elems;
} tensors;

static void free_tensors(tensors* t) {
  cudaFree(t->q);
  cudaFree(t->k);
  cudaFree(t->v);
  cudaFree(t->o);
  cudaFree(t->workspace);
  memset(t, 0, sizeof(*t));
}

static uint16_t bf16_from_float(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof(bits));
  return (uint16_t)(bits >> 16); /* truncation: exact enough for test data */
}

/* Q and K get a fixed pseudo-random pattern in [-1, 1), V the constant 0.5. */
static int upload(void* dst, size_t elems, int constant) {
  uint16_t* host = (uint16_t*)malloc(elems * sizeof(uint16_t));
  if (host == NULL) return 0;
  uint32_t x = 12345u;
  for (size_t i = 0; i < elems; ++i) {
    x = x * 1664525u + 1013904223u;
    host[i] = constant ? kBf16Half : bf16_from_float((float)(x >> 16) / 32768.0f - 1.0f);
  }
  int good = cuda_ok(cudaMemcpy(dst, host, elems * sizeof(uint16_t), cudaMemcpyHostToDevice), "cudaMemcpy");
  free(host);
  return good;
}

static int alloc_tensors(const example_problem* p, size_t workspace_bytes, tensors* t) {
  memset(t, 0, sizeof(*t));
  t->q_elems = (size_t)(p->batch * p->q_len * p->n_q_heads * p->head_dim);
  t->kv_elems = (size_t)(p->batch * p->kv_len * p->n_kv_heads * p->head_dim);
  const size_t q_bytes = t->q_elems * 2, kv_bytes = t->kv_elems * 2;
  if (!cuda_ok(cudaMalloc(&t->q, q_bytes), "cudaMalloc") || !cuda_ok(cudaMalloc(&t->k, kv_bytes), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&t->v, kv_bytes), "cudaMalloc") || !cuda_ok(cudaMalloc(&t->o, q_bytes), "cudaMalloc") ||
      (workspace_bytes > 0 && !cuda_ok(cudaMalloc(&t->workspace, workspace_bytes), "cudaMalloc"))) {
    return 0;
  }
  return upload(t->q, t->q_elems, 0) && upload(t->k, t->kv_elems, 0) && upload(t->v, t->kv_elems, 1);
}

/* Every element of O must be the 0.5 of V (bf16 rounding aside). */
static int check_output(const tensors* t) {
  uint16_t* host = (uint16_t*)malloc(t->q_elems * sizeof(uint16_t));
  if (host == NULL) return 0;
  int good = cuda_ok(cudaMemcpy(host, t->o, t->q_elems * sizeof(uint16_t), cudaMemcpyDeviceToHost), "cudaMemcpy");
  size_t bad = 0;
  for (size_t i = 0; good && i < t->q_elems; ++i) {
    if (host[i] < kBf16Half - 1 || host[i] > kBf16Half + 1) ++bad;
  }
  free(host);
  if (good && bad > 0) fprintf(stderr, "%zu of %zu output elements differ from 0.5\n", bad, t->q_elems);
  return good && bad == 0;
}

/* Plans, describes and runs one problem; returns 1 when it went as the machine allows. */
static int run_problem(gqaforge_library* library, const example_problem* p, int have_gpu, cudaStream_t stream) {
  gqaforge_problem problem = gqaforge_problem_make(p->phase, GQAFORGE_DTYPE_BF16, p->n_q_heads, p->n_kv_heads,
                                                   p->head_dim, p->causal, p->batch, p->q_len, p->kv_len);
  gqaforge_plan* plan = NULL;
  if (!ok(gqaforge_plan_create(library, &problem, 0, &plan), "gqaforge_plan_create")) return 0;

  gqaforge_plan_info info;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (!ok(gqaforge_plan_describe(plan, &info), "gqaforge_plan_describe")) {
    gqaforge_plan_destroy(plan);
    return 0;
  }
  printf("%s, batch %lld, q_len %lld, kv_len %lld\n", info.kernel_class, (long long)p->batch, (long long)p->q_len,
         (long long)p->kv_len);
  printf("  decision   %s", gqaforge_decision_name(info.decision));
  if (info.decision != GQAFORGE_DECISION_DEFAULT) {
    printf(" (bucket batch %lld-%lld", (long long)info.bucket_batch_lo, (long long)info.bucket_batch_hi);
    if (p->phase == GQAFORGE_PHASE_PREFILL) {
      printf(", q_len %lld-%lld", (long long)info.bucket_q_len_lo, (long long)info.bucket_q_len_hi);
    }
    printf(", kv_len %lld-%lld, measured %.1f us)", (long long)info.bucket_kv_len_lo, (long long)info.bucket_kv_len_hi,
           info.measured_us);
  }
  printf("\n  config     %s\n  reason     %s\n  workspace  %zu bytes\n", info.config, info.reason,
         info.workspace_bytes);

  int good = 1;
  tensors t;
  memset(&t, 0, sizeof(t));
  if (have_gpu) {
    good = alloc_tensors(p, info.workspace_bytes, &t);
  } else {
    t.q = t.k = t.v = t.o = t.workspace = stand_in;
  }
  if (good) {
    gqaforge_run_args args;
    memset(&args, 0, sizeof(args));
    args.struct_size = sizeof(args);
    args.batch = p->batch;
    args.q_len = p->q_len;
    args.kv_len = p->kv_len;
    args.q = t.q;
    args.k = t.k;
    args.v = t.v;
    args.o = t.o;
    const gqaforge_status s = gqaforge_plan_run(plan, &args, t.workspace, info.workspace_bytes, stream);
    if (s == GQAFORGE_STATUS_OK) {
      good = cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize") && check_output(&t);
      printf("  run        %s\n", good ? "ok, output checked" : "FAILED");
    } else {
      printf("  run        %s: %s\n", gqaforge_status_name(s), gqaforge_last_error());
      /* Without a GPU this is the expected answer; with one, any failure is an error. */
      good = !have_gpu && s == GQAFORGE_STATUS_UNAVAILABLE;
    }
  }
  if (have_gpu) free_tensors(&t);
  gqaforge_plan_destroy(plan);
  return good;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s LIBRARY.gqalib\n", argv[0]);
    return 2;
  }
  const int header_version = GQAFORGE_VERSION_MAJOR * 10000 + GQAFORGE_VERSION_MINOR * 100 + GQAFORGE_VERSION_PATCH;
  printf("gqaforge %s (header %d, library %d)\n", gqaforge_version_string(), header_version, gqaforge_version());
  if (gqaforge_version() != header_version) {
    fprintf(stderr, "libgqaforge is not the version of the header this program was built with\n");
    return 1;
  }

  /* The CUDA runtime loads the driver itself: without one, this program still starts. */
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  const int have_gpu = err == cudaSuccess && devices > 0;
  cudaStream_t stream = NULL;
  if (have_gpu) {
    struct cudaDeviceProp prop;
    /* Device 0's primary context becomes current: the plans load their kernels into it. */
    if (!cuda_ok(cudaSetDevice(0), "cudaSetDevice") ||
        !cuda_ok(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties") ||
        !cuda_ok(cudaStreamCreate(&stream), "cudaStreamCreate")) {
      return 1;
    }
    printf("device     %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  } else {
    printf("device     none (%s)\n", err == cudaSuccess ? "no CUDA device" : cudaGetErrorString(err));
  }

  gqaforge_library* library = NULL;
  if (!ok(gqaforge_library_open(argv[1], NULL, &library), "gqaforge_library_open")) return 1;
  gqaforge_library_info info;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (!ok(gqaforge_library_info_get(library, &info), "gqaforge_library_info_get")) return 1;
  printf("library    %s: format %d, %s, %lld classes, %lld tuned buckets, %lld cubins, measured on %s\n", info.path,
         info.format_version, info.arch, (long long)info.classes, (long long)info.entries, (long long)info.cubins,
         info.gpu_name);
  if (info.jit_only) printf("           refused, JIT only: %s\n", info.refused_reason);

  int failures = 0;
  for (size_t i = 0; i < sizeof(kProblems) / sizeof(kProblems[0]); ++i) {
    printf("\n");
    if (!run_problem(library, &kProblems[i], have_gpu, stream)) ++failures;
  }
  gqaforge_library_close(library);
  if (stream != NULL) cudaStreamDestroy(stream);
  printf("\n%d of %d problems failed\n", failures, (int)(sizeof(kProblems) / sizeof(kProblems[0])));
  return failures == 0 ? 0 : 1;
}
