"""gqaforge._C and the torch-free layer on the CPU (CTest `python_binding`, label python).

The tuned library is built from the bundled H200 measurements with the build tree's CLI, as the
package test does (heads 8:1, head dim 64: decode and causal prefill tuned, the rest JIT).
Environment (set by tests/python/CMakeLists.txt): GQAFORGE_CLI, GQAFORGE_SOURCE_DIR,
GQAFORGE_TEST_WORK, GQAFORGE_CACHE_DIR.
"""

import os
import shutil
import subprocess
import unittest

import gqaforge
from gqaforge import _C, _plans

WORK = os.environ.get("GQAFORGE_TEST_WORK", "")
CLI = os.environ.get("GQAFORGE_CLI", "")
SOURCE = os.environ.get("GQAFORGE_SOURCE_DIR", "")
_built = {}


def tuned_library_path():
    """The small tuned library, built once per run (None when the environment lacks the CLI)."""
    if not (WORK and CLI and SOURCE):
        return None
    if "path" not in _built:
        os.makedirs(WORK, exist_ok=True)
        path = os.path.join(WORK, "h200-8-1-d64.gqalib")
        subprocess.run([CLI, "library", "build", "--db", os.path.join(SOURCE, "tests", "data", "h200-sample.tsv"), "--heads",
                        "8:1", "--head-dim", "64", "--allow-older-codegen", "-o", path], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _built["path"] = path
    return _built["path"]


def gpu_present(plan):
    return plan.describe()["loaded"]


def decode_plan(lib, batch=1, kv=4096, **kw):
    return _C.Plan(lib, "decode", "bf16", 8, 1, 64, True, batch, 1, kv, **kw)


class ModuleTest(unittest.TestCase):
    def test_version_matches_the_header(self):
        self.assertEqual(_C.version(), _C.HEADER_VERSION)
        self.assertTrue(gqaforge.version().startswith("0.1.0 (commit "), gqaforge.version())

    def test_error_classes(self):
        for cls in (gqaforge.InvalidArgumentError, gqaforge.FailedPreconditionError, gqaforge.NotFoundError,
                    gqaforge.ResourceExhaustedError, gqaforge.UnavailableError, gqaforge.DataLossError,
                    gqaforge.InternalError):
            self.assertTrue(issubclass(cls, gqaforge.Error), cls)
            self.assertTrue(issubclass(cls, RuntimeError), cls)
        self.assertTrue(issubclass(gqaforge.InvalidArgumentError, ValueError))
        self.assertTrue(issubclass(gqaforge.NotFoundError, FileNotFoundError))

    def test_torch_names_say_why_without_torch(self):
        if gqaforge._torch_import_error is None:
            self.skipTest("PyTorch is installed: the torch API is present")
        with self.assertRaisesRegex(ImportError, "gqaforge.attention needs PyTorch"):
            gqaforge.attention  # noqa: B018


class LibraryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = tuned_library_path()
        if cls.path is None:
            raise unittest.SkipTest("GQAFORGE_CLI / GQAFORGE_SOURCE_DIR / GQAFORGE_TEST_WORK are not set (run "
                                    "through ctest)")
        cls.lib = _C.Library(cls.path)

    def test_info(self):
        info = self.lib.info()
        self.assertEqual(info["format_version"], 1)
        self.assertFalse(info["jit_only"])
        self.assertTrue(info["jit_allowed"])
        self.assertEqual((info["classes"], info["entries"], info["cubins"]), (2, 8, 5))
        self.assertEqual(info["path"], self.path)
        self.assertEqual(info["arch"], "sm_90a")
        self.assertIn("H200", info["gpu_name"])
        self.assertEqual(info["refused_reason"], "")

    def test_exact_bucket(self):
        d = decode_plan(self.lib, batch=1, kv=4096).describe()
        self.assertEqual(d["decision"], "exact", d)
        self.assertTrue(d["from_cubin"])
        self.assertEqual(d["family"], "decode")
        self.assertEqual(d["kernel_class"], "decode 8:1 d64 bf16 causal q1")
        self.assertEqual(d["bucket_kv_len"], (1025, 4096))
        self.assertEqual(d["bucket_batch"], (1, 1))
        self.assertAlmostEqual(d["measured_us"], 7.26, delta=0.01)
        self.assertEqual(d["distance"], 0.0)
        self.assertIn("num_splits=", d["config"])

    def test_nearest_bucket(self):
        d = decode_plan(self.lib, batch=3, kv=50000).describe()
        self.assertEqual(d["decision"], "nearest", d)
        self.assertGreater(d["distance"], 0.0)
        self.assertTrue(d["reason"], d)

    def test_untuned_class_gets_the_default(self):
        p = _C.Plan(self.lib, "prefill", "bf16", 8, 1, 128, True, 2, 512, 512)
        d = p.describe()
        self.assertEqual(d["decision"], "default", d)
        self.assertFalse(d["from_cubin"])
        self.assertEqual(d["kernel_class"], "prefill 8:1 d128 bf16 causal")

    def test_heuristic_default_flag(self):
        d = decode_plan(self.lib, plan_flags=_C.PLAN_HEURISTIC_DEFAULT).describe()
        self.assertEqual(d["decision"], "default")
        self.assertIn("GQAFORGE_PLAN_HEURISTIC_DEFAULT", d["reason"])

    def test_forbidden_jit_refuses_untuned_classes(self):
        lib = _C.Library(self.path, allow_jit=False)
        self.assertFalse(lib.info()["jit_allowed"])
        self.assertEqual(decode_plan(lib).describe()["decision"], "exact")
        with self.assertRaises(gqaforge.FailedPreconditionError) as cm:
            _C.Plan(lib, "prefill", "bf16", 32, 8, 128, True, 1, 512, 512)
        self.assertEqual(cm.exception.status, "failed_precondition")
        self.assertTrue(str(cm.exception).startswith("gqaforge_plan_create: "), str(cm.exception))

    def test_damaged_file(self):
        damaged = os.path.join(WORK, "damaged.gqalib")
        shutil.copyfile(self.path, damaged)
        with open(damaged, "r+b") as f:
            f.truncate(os.path.getsize(damaged) // 2)
        with self.assertRaises(gqaforge.DataLossError) as cm:
            _C.Library(damaged, allow_jit=False)
        self.assertIn("damaged.gqalib", str(cm.exception))
        self.assertEqual(cm.exception.code, 6)
        # With JIT allowed the library opens JIT-only and says why.
        info = _C.Library(damaged).info()
        self.assertTrue(info["jit_only"])
        self.assertIn("damaged.gqalib", info["refused_reason"])

    def test_not_a_library(self):
        junk = os.path.join(WORK, "junk.gqalib")
        with open(junk, "w") as f:
            f.write("not sqlite\n" * 100)
        with self.assertRaises(gqaforge.InvalidArgumentError):
            _C.Library(junk, allow_jit=False)
        with self.assertRaisesRegex(gqaforge.NotFoundError, "no such file"):
            _C.Library(os.path.join(WORK, "missing.gqalib"), allow_jit=False)


class PlanErrorTest(unittest.TestCase):
    """Bad arguments reach the C API and come back with its message."""

    @classmethod
    def setUpClass(cls):
        cls.lib = _C.Library(None)

    def assert_refused(self, cls, text, fn, *args, **kw):
        with self.assertRaises(cls) as cm:
            fn(*args, **kw)
        self.assertIn(text, str(cm.exception))
        return cm.exception

    def test_jit_only_library(self):
        info = self.lib.info()
        self.assertTrue(info["jit_only"])
        self.assertEqual(info["path"], "")
        d = decode_plan(self.lib).describe()
        self.assertEqual(d["decision"], "default")
        self.assertEqual(d["reason"], "no library: heuristic default, compiled through NVRTC")

    def test_bad_problems(self):
        e = self.assert_refused(gqaforge.InvalidArgumentError, "head dim 80 is not supported", _C.Plan, self.lib,
                                "decode", "bf16", 8, 1, 80, True, 1, 1, 4096)
        self.assertEqual(e.status, "invalid_argument")
        self.assert_refused(gqaforge.InvalidArgumentError, "heads 7:2: query heads are not divisible", _C.Plan,
                            self.lib, "prefill", "fp16", 7, 2, 64, False, 1, 64, 64)
        self.assert_refused(gqaforge.InvalidArgumentError, "kv_capacity 100 is below max_kv_len 4096", decode_plan,
                            self.lib, kv_capacity=100)
        self.assert_refused(gqaforge.InvalidArgumentError, "decode q_len 17 exceeds 16", _C.Plan, self.lib, "decode",
                            "bf16", 8, 1, 64, True, 1, 17, 4096)
        self.assert_refused(ValueError, "phase 'both' is not", _C.Plan, self.lib, "both", "bf16", 8, 1, 64, True, 1,
                            1, 4096)
        self.assert_refused(ValueError, "dtype 'fp32' is not", _C.Plan, self.lib, "decode", "fp32", 8, 1, 64, True,
                            1, 1, 4096)

    def test_overlapping_strides(self):
        # K [batch 2, 4096 tokens, 1 head, 64]: a token stride of 32 makes tokens overlap.
        self.assert_refused(gqaforge.InvalidArgumentError, "K strides (batch 262144, token 32, head 64) overlap",
                            decode_plan, self.lib, batch=2, k_strides=(262144, 32, 64))
        self.assert_refused(gqaforge.InvalidArgumentError, "the token stride 12 must be a positive multiple of 8",
                            decode_plan, self.lib, batch=2, v_strides=(262144, 12, 64))

    def test_run_arguments(self):
        p = decode_plan(self.lib, batch=4, kv=4096)
        ws = p.workspace_size
        ptr = 1 << 20  # aligned, never dereferenced: every check comes before a launch

        def run(batch=1, q_len=1, kv_len=4096, q=ptr, workspace=ptr, workspace_bytes=ws, lse=0, kv_lens=0):
            p.run(batch, q_len, kv_len, q, ptr, ptr, ptr, lse, kv_lens, 0, 0, workspace, workspace_bytes, 0)

        self.assert_refused(gqaforge.InvalidArgumentError, "Q, K, V and O must not be null (q=0x0", run, q=0)
        self.assert_refused(gqaforge.InvalidArgumentError, "must be 16-byte aligned", run, q=ptr + 2)
        self.assert_refused(gqaforge.InvalidArgumentError, "batch 5 is outside the plan's 1..4", run, batch=5)
        self.assert_refused(gqaforge.InvalidArgumentError, "kv_len 4097 is outside the plan's 1..4096", run,
                            kv_len=4097)
        self.assert_refused(gqaforge.InvalidArgumentError, "q_len 2 is not the plan's 1", run, q_len=2)
        self.assert_refused(gqaforge.InvalidArgumentError, "lse is set, and the plan's problem lacks", run, lse=ptr)
        self.assert_refused(gqaforge.InvalidArgumentError, "kv_lens is set", run, kv_lens=ptr)
        if ws > 0:
            self.assert_refused(gqaforge.InvalidArgumentError, f"the plan needs a workspace of {ws} bytes", run,
                                workspace=0, workspace_bytes=0)
        if gpu_present(p):
            self.skipTest("a GPU is present: a run of fake pointers would launch")
        e = self.assert_refused(gqaforge.UnavailableError, "the plan's kernel is not loaded", run)
        self.assertEqual(e.status, "unavailable")
        self.assertEqual(e.code, 5)


class PythonLayerTest(unittest.TestCase):
    """gqaforge._plans: the checks and problems of the torch functions, on plain shapes."""

    def dense(self, q=(2, 100, 8, 64), k=(2, 300, 2, 64), v=None, dtype="bf16", causal=True, scale=0.0, lse=False,
              q_stride=None, k_stride=None):
        v = v or k

        def contiguous(shape):
            strides, step = [], 1
            for n in reversed(shape):
                strides.insert(0, step)
                step *= n
            return tuple(strides)

        return _plans.dense_spec(q, q_stride or contiguous(q), k, k_stride or contiguous(k), v, contiguous(v),
                                 dtype, causal, scale, lse)

    def test_dense_prefill(self):
        spec, run = self.dense()
        self.assertEqual(spec.phase, "prefill")
        self.assertEqual((spec.n_q_heads, spec.n_kv_heads, spec.head_dim), (8, 2, 64))
        self.assertEqual((spec.max_batch, spec.max_q_len, spec.max_kv_len), (2, 100, 300))
        self.assertEqual(spec.q_strides, (100 * 8 * 64, 8 * 64, 64))
        self.assertEqual(run, (2, 100, 300))
        self.assertEqual(spec.problem_flags, 0)
        self.assertEqual(self.dense(lse=True)[0].problem_flags, _C.PROBLEM_LSE)

    def test_short_queries_are_decode(self):
        self.assertEqual(self.dense(q=(2, 4, 8, 64))[0].phase, "decode")
        self.assertEqual(self.dense(q=(2, 16, 8, 64))[0].phase, "decode")
        self.assertEqual(self.dense(q=(2, 17, 8, 64))[0].phase, "prefill")
        # More queries than keys: prefill (rows that see no key).
        self.assertEqual(self.dense(q=(1, 8, 8, 64), k=(1, 4, 2, 64))[0].phase, "prefill")

    def test_size_one_dims_get_contiguous_strides(self):
        # Batch 1 and one KV head: their strides are never used, whatever the view says.
        spec, _ = self.dense(q=(1, 100, 8, 64), k=(1, 300, 1, 64), q_stride=(3, 512, 64, 1),
                             k_stride=(5, 64, 7, 1))
        self.assertEqual(spec.q_strides, (100 * 512, 512, 64))
        self.assertEqual(spec.k_strides, (300 * 64, 64, 64))

    def test_dense_errors(self):
        cases = [
            (dict(dtype="fp32"), TypeError, "dtype fp32 is not supported"),
            (dict(q=(2, 100, 8, 80), k=(2, 300, 2, 80)), ValueError, "head dim 80 is not supported"),
            (dict(q=(2, 100, 8, 64), k=(2, 300, 3, 64)), ValueError, "8 query heads and 3 key/value heads"),
            (dict(k=(3, 300, 2, 64)), ValueError, "k has batch 3, q has 2"),
            (dict(k=(2, 300, 2, 128)), ValueError, "k has head dim 128, q has 64"),
            (dict(v=(2, 299, 2, 64)), ValueError, "v has shape (2, 299, 2, 64), k has (2, 300, 2, 64)"),
            (dict(q=(2, 100, 512)), ValueError, "q must be 4-D [batch, seq, heads, head_dim], got shape (2, 100, 512)"),
            (dict(q_stride=(51200, 512, 1, 8)), ValueError, "q must have a contiguous head dim (stride 1)"),
            (dict(k=(2, 0, 2, 64)), ValueError, "at least 1 key"),
            (dict(scale=-1.0), ValueError, "softmax_scale -1.0"),
        ]
        for kw, cls, text in cases:
            with self.subTest(kw=kw):
                with self.assertRaises(cls) as cm:
                    self.dense(**kw)
                self.assertIn(text, str(cm.exception))

    def test_kvcache(self):
        q, qs = (3, 1, 16, 128), (2048, 2048, 128, 1)
        # A [batch, n_kv_heads, capacity, head_dim] cache seen as [batch, capacity, heads, dim].
        cache, cs = (3, 8192, 2, 128), (2 * 8192 * 128, 128, 8192 * 128, 1)
        spec, run = _plans.kvcache_spec(q, qs, cache, cs, cache, cs, (3,), "fp16", True, 0.0, 0, False)
        self.assertEqual(spec.phase, "decode")
        self.assertEqual((spec.max_kv_len, spec.kv_capacity), (8192, 8192))
        self.assertEqual(spec.k_strides, (2 * 8192 * 128, 128, 8192 * 128))
        self.assertEqual(spec.problem_flags, _C.PROBLEM_KV_LENS)
        self.assertEqual(run, (3, 1, 8192))
        # A host-side bound rounds up to a power of two: one plan while the caches grow from 1025 to 2048.
        a, ra = _plans.kvcache_spec(q, qs, cache, cs, cache, cs, (3,), "fp16", True, 0.0, 1025, True)
        b, _ = _plans.kvcache_spec(q, qs, cache, cs, cache, cs, (3,), "fp16", True, 0.0, 2048, True)
        self.assertEqual(a, b)
        self.assertEqual((a.max_kv_len, a.kv_capacity, ra.kv_len), (2048, 8192, 2048))
        self.assertEqual(a.problem_flags, _C.PROBLEM_KV_LENS | _C.PROBLEM_LSE)
        with self.assertRaisesRegex(ValueError, r"max_seqlen_k 9000 is outside 1..8192"):
            _plans.kvcache_spec(q, qs, cache, cs, cache, cs, (3,), "fp16", True, 0.0, 9000, False)
        with self.assertRaisesRegex(ValueError, r"cache_seqlens has shape \(4,\), expected \(3,\)"):
            _plans.kvcache_spec(q, qs, cache, cs, cache, cs, (4,), "fp16", True, 0.0, 0, False)
        spec, _ = _plans.kvcache_spec((3, 32, 16, 128), (65536, 2048, 128, 1), cache, cs, cache, cs, (3,), "fp16",
                                      True, 0.0, 0, False)
        self.assertEqual(spec.phase, "prefill")

    def test_kv_bound(self):
        # The per-call cache key of attention_with_kvcache: bounds that round alike share an entry.
        self.assertEqual([_plans.kv_bound(n, 8192) for n in (1, 600, 1024, 1025, 2048, 5000, 8192, 0)],
                         [1, 1024, 1024, 2048, 2048, 8192, 8192, 8192])
        self.assertEqual(_plans.kv_bound(700, 1000), 1000)  # capped at the capacity
        with self.assertRaisesRegex(ValueError, r"max_seqlen_k 1001 is outside 1..1000"):
            _plans.kv_bound(1001, 1000)

    def test_varlen(self):
        spec, run = _plans.varlen_spec((1000, 12, 128), (1536, 128, 1), (900, 4, 128), (512, 128, 1),
                                       (900, 4, 128), (512, 128, 1), (6,), (6,), 700, 600, "bf16", True, 0.0, False)
        self.assertEqual(spec.problem_flags, _C.PROBLEM_VARLEN)
        self.assertEqual((spec.max_batch, spec.max_q_len, spec.max_kv_len), (5, 1024, 1024))
        self.assertEqual(spec.q_strides, (0, 1536, 128))
        self.assertEqual(run, (5, 700, 600))
        with self.assertRaisesRegex(ValueError, "cu_seqlens_k has shape"):
            _plans.varlen_spec((1000, 12, 128), (1536, 128, 1), (900, 4, 128), (512, 128, 1), (900, 4, 128),
                               (512, 128, 1), (6,), (5,), 700, 600, "bf16", True, 0.0, False)

    def test_specs_make_plans(self):
        # What the torch layer plans is a valid C API problem, for every spec kind.
        _plans.load_library(None)
        for spec, run in (self.dense(), self.dense(q=(2, 4, 8, 64), lse=True),
                          _plans.kvcache_spec((3, 1, 16, 128), (2048, 2048, 128, 1), (3, 8192, 2, 128),
                                              (2097152, 128, 1048576, 1), (3, 8192, 2, 128),
                                              (2097152, 128, 1048576, 1), (3,), "fp16", True, 0.0, 1000, False),
                          _plans.varlen_spec((1000, 12, 128), (1536, 128, 1), (900, 4, 128), (512, 128, 1),
                                             (900, 4, 128), (512, 128, 1), (6,), (6,), 700, 600, "bf16", True, 0.0,
                                             True)):
            with self.subTest(spec=spec):
                plan = _plans.plan_for(spec)
                self.assertIs(_plans.plan_for(spec), plan)
                self.assertEqual(plan.describe()["decision"], "default")

    def test_cpu_specs_plan_on_the_cpu_library(self):
        # CPU tensors' plans: the C API's CPU target (the LLVM module), apart from the CUDA plans.
        spec, _ = self.dense()
        plan = _plans.plan_for(spec, "cpu")
        self.assertIs(_plans.plan_for(spec, "cpu"), plan)
        self.assertIsNot(_plans.plan_for(spec), plan)
        self.assertEqual(_plans.cpu_library().info()["arch"], "cpu")
        d = plan.describe()
        self.assertEqual(d["decision"], "default")
        self.assertEqual(d["family"], "cpu_prefill")

    def test_process_library(self):
        _plans.load_library(None)
        self.assertTrue(gqaforge.library().info()["jit_only"])
        spec, _ = self.dense()
        plan = _plans.plan_for(spec)
        path = tuned_library_path()
        if path is None:
            self.skipTest("no tuned library (run through ctest)")
        lib = gqaforge.load_library(path)
        self.assertIs(gqaforge.library(), lib)
        self.assertIsNot(_plans.plan_for(spec), plan, "load_library must drop the plans of the previous library")
        gqaforge.load_library(None)


if __name__ == "__main__":
    unittest.main()
