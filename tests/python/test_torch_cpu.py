"""The PyTorch layer without a GPU (CTest `python_torch`, label python): the custom ops exist,
their fake implementations propagate shapes (on meta tensors, and under torch.compile with
fullgraph=True), describe() plans from meta tensors, CPU tensors run on the CPU backend and match
an fp32 reference, and bad arguments raise TypeError or ValueError naming the value before the C
API is reached. Skipped where PyTorch is not installed.
"""

import math
import unittest

try:
    import torch
except ImportError:  # the whole module skips, with the reason
    torch = None

import gqaforge

NO_TORCH = "PyTorch is not installed (the torch layer's CPU tests need it; the GPU machine runs them)"


def meta(*shape, dtype=None):
    return torch.empty(*shape, dtype=dtype or torch.bfloat16, device="meta")


@unittest.skipIf(torch is None, NO_TORCH)
class FakeShapesTest(unittest.TestCase):
    def test_ops_are_registered(self):
        for name in ("attention", "attention_varlen", "attention_with_kvcache"):
            self.assertTrue(hasattr(torch.ops.gqaforge, name), name)

    def test_attention_shapes(self):
        q, k = meta(2, 100, 8, 128), meta(2, 300, 2, 128)
        o = gqaforge.attention(q, k, k, causal=True)
        self.assertEqual(tuple(o.shape), (2, 100, 8, 128))
        self.assertEqual(o.dtype, torch.bfloat16)
        o, lse = gqaforge.attention(q, k, k, return_lse=True)
        self.assertEqual(tuple(lse.shape), (2, 8, 100))
        self.assertEqual(lse.dtype, torch.float32)

    def test_kvcache_and_varlen_shapes(self):
        q = meta(3, 1, 16, 64, dtype=torch.float16)
        cache = meta(3, 2, 4096, 64, dtype=torch.float16).transpose(1, 2)  # head-major cache
        lens = torch.empty(3, dtype=torch.int32, device="meta")
        o, lse = gqaforge.attention_with_kvcache(q, cache, cache, lens, max_seqlen_k=1000, return_lse=True)
        self.assertEqual(tuple(o.shape), (3, 1, 16, 64))
        self.assertEqual(tuple(lse.shape), (3, 16, 1))
        qp, kp = meta(1000, 12, 128), meta(900, 4, 128)
        cu = torch.empty(6, dtype=torch.int32, device="meta")
        o, lse = gqaforge.attention_varlen(qp, kp, kp, cu, cu, 700, 600, causal=True, return_lse=True)
        self.assertEqual(tuple(o.shape), (1000, 12, 128))
        self.assertEqual(tuple(lse.shape), (12, 1000))

    def test_sdpa_layout(self):
        q, k = meta(2, 8, 100, 64), meta(2, 2, 100, 64)
        o = gqaforge.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=True)
        self.assertEqual(tuple(o.shape), (2, 8, 100, 64))

    def test_fake_tensor_mode(self):
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode():
            try:
                q = torch.empty(2, 5, 8, 64, dtype=torch.bfloat16, device="cuda")
                k = torch.empty(2, 77, 1, 64, dtype=torch.bfloat16, device="cuda")
            except (RuntimeError, AssertionError) as e:
                self.skipTest(f"this PyTorch makes no fake CUDA tensors without a GPU: {e}")
            o = torch.ops.gqaforge.attention(q, k, k, True, 0.0, False)[0]
            self.assertEqual(tuple(o.shape), (2, 5, 8, 64))
            self.assertEqual(o.device.type, "cuda")

    def test_compile_fullgraph_traces_the_ops(self):
        def step(q, k, v, cache, lens):
            a = gqaforge.attention(q, k, v, causal=True)
            b = gqaforge.attention_with_kvcache(q[:, -1:], cache, cache, lens)
            return a, b

        compiled = torch.compile(step, backend="eager", fullgraph=True)
        q, k = meta(2, 16, 8, 64), meta(2, 64, 2, 64)
        cache = meta(2, 256, 2, 64)
        lens = torch.empty(2, dtype=torch.int32, device="meta")
        a, b = compiled(q, k, k, cache, lens)
        self.assertEqual(tuple(a.shape), (2, 16, 8, 64))
        self.assertEqual(tuple(b.shape), (2, 1, 8, 64))


@unittest.skipIf(torch is None, NO_TORCH)
class ValidationTest(unittest.TestCase):
    def assert_raises(self, cls, text, fn, *args, **kw):
        with self.assertRaises(cls) as cm:
            fn(*args, **kw)
        self.assertIn(text, str(cm.exception))

    def test_dtype_and_device(self):
        q = torch.zeros(1, 4, 8, 64, dtype=torch.float32)
        self.assert_raises(TypeError, "q has dtype torch.float32: gqaforge takes torch.bfloat16 or torch.float16",
                           gqaforge.attention, q, q, q)
        qb, kh = q.bfloat16(), q.half()
        self.assert_raises(TypeError, "k has dtype torch.float16, q has torch.bfloat16", gqaforge.attention, qb, kh,
                           kh)
        self.assert_raises(ValueError, "k is on meta, q on cpu: they must be on one device", gqaforge.attention, qb,
                           qb.to("meta"), qb)
        self.assert_raises(TypeError, "k must be a torch.Tensor, got list", gqaforge.attention, qb, [1], qb)

    def test_shapes_via_describe(self):
        q, k = meta(2, 100, 8, 80), meta(2, 300, 2, 80)
        self.assert_raises(ValueError, "head dim 80 is not supported", gqaforge.describe, q, k, k)
        self.assert_raises(ValueError, "8 query heads and 3 key/value heads", gqaforge.describe, meta(1, 4, 8, 64),
                           meta(1, 4, 3, 64), meta(1, 4, 3, 64))
        self.assert_raises(ValueError, "q must have a contiguous head dim", gqaforge.describe,
                           meta(1, 4, 64, 8).transpose(2, 3), meta(1, 4, 8, 64), meta(1, 4, 8, 64))
        lens64 = torch.empty(1, dtype=torch.int64, device="meta")
        self.assert_raises(TypeError, "cache_seqlens has dtype torch.int64: it must be torch.int32", gqaforge.describe,
                           meta(1, 1, 8, 64), meta(1, 64, 8, 64), meta(1, 64, 8, 64), cache_seqlens=lens64)
        self.assert_raises(ValueError, "softmax_scale -2", gqaforge.attention, meta(1, 4, 8, 64), meta(1, 4, 8, 64),
                           meta(1, 4, 8, 64), softmax_scale=-2)

    def test_sdpa_wrapper_checks(self):
        q, k = meta(2, 8, 100, 64), meta(2, 2, 100, 64)
        self.assert_raises(ValueError, "pass enable_gqa=True", gqaforge.scaled_dot_product_attention, q, k, k)
        self.assert_raises(ValueError, "is_causal with L 100 != S 50", gqaforge.scaled_dot_product_attention, q,
                           meta(2, 8, 50, 64), meta(2, 8, 50, 64), is_causal=True)
        self.assert_raises(ValueError, "attn_mask is not supported", gqaforge.scaled_dot_product_attention, q, q, q,
                           attn_mask=q)

    def test_describe_from_meta_tensors(self):
        gqaforge.load_library(None)
        d = gqaforge.describe(meta(2, 1, 32, 128), meta(2, 4096, 8, 128), meta(2, 4096, 8, 128), causal=True)
        self.assertEqual(d["family"], "decode")
        self.assertEqual(d["decision"], "default")
        self.assertEqual(d["problem"]["phase"], "decode")
        self.assertEqual(d["run"], {"batch": 2, "q_len": 1, "kv_len": 4096})
        d = gqaforge.describe(meta(2, 512, 32, 128), meta(2, 512, 8, 128), meta(2, 512, 8, 128), causal=True)
        self.assertEqual(d["family"], "prefill")
        self.assertEqual(d["kernel_class"], "prefill 32:8 d128 bf16 causal")



def reference(q, k, v, causal, kv_len=None):
    """fp32 attention on [batch, seq, heads, dim] tensors, bottom-right causal, GQA by repetition."""
    kv_len = k.shape[1] if kv_len is None else kv_len
    k, v = k[:, :kv_len], v[:, :kv_len]
    g = q.shape[2] // k.shape[2]
    qf, kf, vf = (t.float().transpose(1, 2) for t in (q, k, v))
    kf, vf = kf.repeat_interleave(g, 1), vf.repeat_interleave(g, 1)
    s = qf @ kf.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        sq, sk = q.shape[1], kv_len
        s = s.masked_fill(torch.arange(sk)[None, :] > torch.arange(sq)[:, None] + sk - sq, float("-inf"))
    return (torch.softmax(s, -1) @ vf).transpose(1, 2)


@unittest.skipIf(torch is None, NO_TORCH)
class CpuTensorsTest(unittest.TestCase):
    """CPU tensors run through the C API's CPU target (kernels generated with LLVM for this host)."""

    def rand(self, *shape, seed):
        return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)

    def assert_close(self, o, r):
        # bf16 output: half an ulp of values below 4 is 2^-7; two roundings apart at most.
        self.assertEqual(o.device.type, "cpu")
        self.assertLess(float((o.float() - r).abs().max()), 2.0 ** -6)

    def test_dense_decode_and_prefill(self):
        for b, sq, sk, hq, hkv, d, causal in ((2, 1, 300, 8, 1, 128, True), (1, 100, 100, 8, 2, 64, True),
                                              (2, 5, 77, 6, 2, 96, False), (1, 3, 1000, 32, 8, 128, True)):
            with self.subTest(shape=(b, sq, sk, hq, hkv, d, causal)):
                q = self.rand(b, sq, hq, d, seed=1)
                k, v = self.rand(b, sk, hkv, d, seed=2), self.rand(b, sk, hkv, d, seed=3)
                o, lse = gqaforge.attention(q, k, v, causal=causal, return_lse=True)
                self.assert_close(o, reference(q, k, v, causal))
                self.assertEqual(tuple(lse.shape), (b, hq, sq))
                self.assertEqual(gqaforge.describe(q, k, v, causal=causal)["family"],
                                 "cpu_decode" if sq <= 16 else "cpu_prefill")

    def test_kvcache_with_per_sequence_lengths(self):
        q = self.rand(2, 1, 8, 128, seed=4)
        kc, vc = self.rand(2, 512, 1, 128, seed=5), self.rand(2, 512, 1, 128, seed=6)
        o = gqaforge.attention_with_kvcache(q, kc, vc, torch.tensor([100, 512], dtype=torch.int32))
        self.assert_close(o[:1], reference(q[:1], kc[:1], vc[:1], True, kv_len=100))
        self.assert_close(o[1:], reference(q[1:], kc[1:], vc[1:], True))

    def test_sdpa_entry_point(self):
        q = self.rand(1, 8, 64, 64, seed=7)  # [batch, heads, seq, dim]
        k, v = self.rand(1, 2, 64, 64, seed=8), self.rand(1, 2, 64, 64, seed=9)
        o = gqaforge.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        self.assert_close(o.transpose(1, 2), reference(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), True))


if __name__ == "__main__":
    unittest.main()
