"""The PyTorch layer on a GPU (CTest `python_gpu`, label gpu): outputs against
torch.nn.functional.scaled_dot_product_attention in fp32 on the same inputs over the coverage
matrix of docs/testing.md (group sizes, head dims, both dtypes, causal bottom-right, odd
lengths, varlen with an empty sequence, decode with unequal cache lengths and a capacity above
them, non-contiguous inputs), torch.compile(fullgraph=True), and CUDA-graph capture and replay.
Skipped without PyTorch or a CUDA device.

Tolerance: |O - ref| <= 2^-5 (bf16) or 2^-8 (fp16) times max(1, max|ref|), over the rows that
see at least one key (rows that see none must be finite); LSE within 1e-3 x max(1, |ref|),
-inf where the reference has -inf.
"""

import math
import os
import unittest

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

import gqaforge

if torch is None:
    SKIP = "PyTorch is not installed"
elif not torch.cuda.is_available():
    SKIP = "no CUDA device"
else:
    SKIP = None

TOL = {"bf16": 2.0**-5, "fp16": 2.0**-8}


def reference(q, k, v, causal, scale=None):
    """fp32 SDPA on [batch, seq, heads, dim] inputs: O [b, sq, hq, d], LSE [b, hq, sq] and the
    rows that see a key ([sq] bool)."""
    b, sq, hq, d = q.shape
    sk, hkv = k.shape[1], k.shape[2]
    g = hq // hkv
    qf = q.float().transpose(1, 2)
    kf = k.float().repeat_interleave(g, dim=2).transpose(1, 2)
    vf = v.float().repeat_interleave(g, dim=2).transpose(1, 2)
    scale = scale or 1.0 / math.sqrt(d)
    i = torch.arange(sq, device=q.device)[:, None]
    j = torch.arange(sk, device=q.device)[None, :]
    mask = (j <= i + (sk - sq)) if causal else torch.ones(sq, sk, dtype=torch.bool, device=q.device)
    visible = mask.any(-1)
    safe = mask | ~visible[:, None]  # SDPA gives NaN for a row that sees nothing
    out = F.scaled_dot_product_attention(qf, kf, vf, attn_mask=safe, scale=scale).transpose(1, 2)
    scores = (qf @ kf.transpose(-1, -2)) * scale
    lse = torch.logsumexp(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return out, lse, visible


def rand(*shape, dtype, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(*shape, generator=g, device="cuda", dtype=torch.float32).to(dtype)


def dtype_name(dtype):
    return "bf16" if dtype == torch.bfloat16 else "fp16"


@unittest.skipIf(SKIP is not None, SKIP or "")
class GpuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        gqaforge.load_library(os.environ.get("GQAFORGE_TEST_LIBRARY") or None)

    def check_o(self, out, ref, visible, dtype, what):
        out = out.float()
        self.assertTrue(torch.isfinite(out).all().item(), f"{what}: non-finite output")
        tol = TOL[dtype_name(dtype)] * max(1.0, ref.abs().max().item())
        err = (out[:, visible] - ref[:, visible]).abs().max().item()
        self.assertLessEqual(err, tol, f"{what}: max |O - ref| {err:.3g} > {tol:.3g}")

    def check_lse(self, lse, ref, what):
        inf = torch.isinf(ref)
        self.assertTrue(torch.equal(torch.isneginf(lse), inf), f"{what}: -inf LSE where the reference has none")
        if (~inf).any():
            err = ((lse - ref).abs() / ref.abs().clamp(min=1.0))[~inf].max().item()
            self.assertLessEqual(err, 1e-3, f"{what}: LSE relative error {err:.3g}")

    def dense_case(self, b, sq, sk, hq, hkv, d, dtype, causal, seed, lse=False, scale=None):
        what = f"b{b} q{sq} k{sk} {hq}:{hkv} d{d} {dtype_name(dtype)} {'causal' if causal else 'full'}"
        q = rand(b, sq, hq, d, dtype=dtype, seed=seed)
        k = rand(b, sk, hkv, d, dtype=dtype, seed=seed + 1)
        v = rand(b, sk, hkv, d, dtype=dtype, seed=seed + 2)
        ref, ref_lse, visible = reference(q, k, v, causal, scale)
        if lse:
            out, out_lse = gqaforge.attention(q, k, v, causal=causal, softmax_scale=scale, return_lse=True)
            self.assertEqual(tuple(out_lse.shape), (b, hq, sq))
            self.check_lse(out_lse, ref_lse, what)
        else:
            out = gqaforge.attention(q, k, v, causal=causal, softmax_scale=scale)
        self.assertEqual(tuple(out.shape), (b, sq, hq, d))
        self.check_o(out, ref, visible, dtype, what)

    def test_head_dims_and_dtypes(self):
        seed = 100
        for d in (64, 96, 128, 256):
            for dtype in (torch.bfloat16, torch.float16):
                for args in ((3, 1, 799, 32, 8, True), (2, 4, 1023, 20, 4, True), (2, 131, 257, 8, 2, True),
                             (1, 97, 33, 7, 1, False), (2, 255, 255, 8, 2, True)):
                    with self.subTest(d=d, dtype=dtype, args=args):
                        self.dense_case(*args[:5], d, dtype, args[5], seed, lse=(seed % 3 == 0))
                    seed += 3

    def test_group_sizes(self):
        for i, (hq, hkv) in enumerate(((8, 8), (12, 4), (6, 2), (5, 1), (7, 1), (16, 2), (32, 1))):
            with self.subTest(hq=hq, hkv=hkv):
                self.dense_case(2, 200, 200, hq, hkv, 128, torch.bfloat16, True, 300 + i)
                self.dense_case(2, 1, 1000, hq, hkv, 128, torch.bfloat16, True, 400 + i)

    def test_causal_rows_that_see_nothing(self):
        # More queries than keys, bottom-right: the first 236 rows see no key.
        self.dense_case(1, 239, 3, 5, 1, 256, torch.float16, True, 500, lse=True)
        self.dense_case(1, 1, 1, 8, 8, 64, torch.float16, True, 501)

    def test_softmax_scale(self):
        self.dense_case(2, 64, 300, 8, 2, 64, torch.bfloat16, False, 600, scale=0.3, lse=True)

    def test_non_contiguous_inputs(self):
        b, s, hq, hkv, d = 2, 333, 8, 2, 128
        qkv = rand(b, s, hq + 2 * hkv, d, dtype=torch.bfloat16, seed=700)  # a fused QKV projection
        q, k, v = qkv[:, :, :hq], qkv[:, :, hq:hq + hkv], qkv[:, :, hq + hkv:]
        self.assertFalse(q.is_contiguous())
        ref, _, visible = reference(q, k, v, True)
        self.check_o(gqaforge.attention(q, k, v, causal=True), ref, visible, torch.bfloat16, "fused qkv")
        # SDPA's [batch, heads, seq, dim]: transposed views, no copies.
        qt, kt, vt = (rand(b, h, s, d, dtype=torch.float16, seed=710 + h) for h in (hq, hkv, hkv))
        out = gqaforge.scaled_dot_product_attention(qt, kt, vt, is_causal=True, enable_gqa=True)
        want = F.scaled_dot_product_attention(qt.float(), kt.float().repeat_interleave(4, 1),
                                              vt.float().repeat_interleave(4, 1), is_causal=True)
        self.assertEqual(tuple(out.shape), (b, hq, s, d))
        self.check_o(out.transpose(1, 2), want.transpose(1, 2), torch.ones(s, dtype=torch.bool, device="cuda"),
                     torch.float16, "sdpa layout")

    def test_varlen_with_an_empty_sequence(self):
        q_lens, k_lens = [97, 0, 700, 5, 113], [113, 0, 900, 3, 97]
        hq, hkv, d, dtype = 12, 4, 128, torch.bfloat16
        q = rand(sum(q_lens), hq, d, dtype=dtype, seed=800)
        k = rand(sum(k_lens), hkv, d, dtype=dtype, seed=801)
        v = rand(sum(k_lens), hkv, d, dtype=dtype, seed=802)
        cu_q = torch.tensor([0] + list(torch.tensor(q_lens).cumsum(0)), dtype=torch.int32, device="cuda")
        cu_k = torch.tensor([0] + list(torch.tensor(k_lens).cumsum(0)), dtype=torch.int32, device="cuda")
        out, lse = gqaforge.attention_varlen(q, k, v, cu_q, cu_k, max(q_lens), max(k_lens), causal=True,
                                             return_lse=True)
        self.assertEqual(tuple(lse.shape), (hq, sum(q_lens)))
        qo = ko = 0
        for i, (ql, kl) in enumerate(zip(q_lens, k_lens)):
            if ql > 0:
                ref, ref_lse, visible = reference(q[None, qo:qo + ql], k[None, ko:ko + kl], v[None, ko:ko + kl], True)
                self.check_o(out[None, qo:qo + ql], ref, visible, dtype, f"varlen sequence {i}")
                self.check_lse(lse[None, :, qo:qo + ql], ref_lse, f"varlen sequence {i}")
            qo, ko = qo + ql, ko + kl

    def kvcache_case(self, b, sq, cap, lens, hq, hkv, d, dtype, seed, head_major=False, bound=None):
        what = f"kvcache b{b} q{sq} cap{cap} lens{lens} {hq}:{hkv} d{d}{' head-major' if head_major else ''}"
        q = rand(b, sq, hq, d, dtype=dtype, seed=seed)
        if head_major:  # [batch, n_kv_heads, capacity, dim] storage
            kc = rand(b, hkv, cap, d, dtype=dtype, seed=seed + 1).transpose(1, 2)
            vc = rand(b, hkv, cap, d, dtype=dtype, seed=seed + 2).transpose(1, 2)
        else:
            kc = rand(b, cap, hkv, d, dtype=dtype, seed=seed + 1)
            vc = rand(b, cap, hkv, d, dtype=dtype, seed=seed + 2)
        seqlens = torch.tensor(lens, dtype=torch.int32, device="cuda")
        out = gqaforge.attention_with_kvcache(q, kc, vc, seqlens, causal=True, max_seqlen_k=bound)
        for i, n in enumerate(lens):
            ref, _, visible = reference(q[i:i + 1], kc[i:i + 1, :n], vc[i:i + 1, :n], True)
            self.check_o(out[i:i + 1], ref, visible, dtype, f"{what} sequence {i}")

    def test_decode_with_a_kv_cache(self):
        self.kvcache_case(4, 1, 6000, [5000, 17, 1, 2500], 16, 2, 128, torch.bfloat16, 900)
        self.kvcache_case(3, 1, 9000, [9000, 1, 4500], 8, 1, 128, torch.bfloat16, 910, head_major=True)
        self.kvcache_case(2, 4, 2048, [1023, 239], 20, 4, 64, torch.float16, 920, bound=1100)
        self.kvcache_case(1, 16, 200, [113], 28, 4, 256, torch.bfloat16, 930)
        self.kvcache_case(2, 32, 1024, [700, 40], 8, 2, 96, torch.float16, 940)  # 32 queries: prefill
        # An int length: every sequence has it.
        q = rand(2, 1, 8, 8, 64, dtype=torch.bfloat16, seed=950)[:, :, 0]
        kc = rand(2, 512, 8, 64, dtype=torch.bfloat16, seed=951)
        out = gqaforge.attention_with_kvcache(q, kc, kc, 300)
        ref, _, visible = reference(q, kc[:, :300], kc[:, :300], True)
        self.check_o(out, ref, visible, torch.bfloat16, "int cache_seqlens")

    def test_repeated_calls_reuse_the_plan(self):
        q = rand(2, 1, 32, 128, dtype=torch.bfloat16, seed=1000)
        k = rand(2, 4096, 8, 128, dtype=torch.bfloat16, seed=1001)
        gqaforge.attention(q, k, k, causal=True)
        from gqaforge import _plans

        calls, plans = len(_plans.calls), len(_plans._plans)
        for _ in range(3):
            gqaforge.attention(q, k, k, causal=True)
        self.assertEqual((len(_plans.calls), len(_plans._plans)), (calls, plans))
        d = gqaforge.describe(q, k, k, causal=True)
        self.assertTrue(d["loaded"], d)

    def test_errors_on_the_device(self):
        q = rand(1, 1, 8, 64, dtype=torch.bfloat16, seed=1100)
        kc = rand(1, 64, 8, 64, dtype=torch.bfloat16, seed=1101)
        with self.assertRaisesRegex(TypeError, "cache_seqlens has dtype torch.int64"):
            gqaforge.attention_with_kvcache(q, kc, kc, torch.ones(1, dtype=torch.int64, device="cuda"))
        with self.assertRaisesRegex(ValueError, "k is on cpu, q on cuda:0: they must be on one device"):
            gqaforge.attention(q, kc.cpu(), kc.cpu())
        # A stride the kernels cannot take reaches the C API and comes back with its message.
        odd = rand(1, 64, 8 * 64 + 4, dtype=torch.bfloat16, seed=1102)[:, :, :512].view(1, 64, 8, 64)
        with self.assertRaisesRegex(gqaforge.InvalidArgumentError, "must be a positive multiple of 8"):
            gqaforge.attention(odd, odd, odd)

    def test_torch_compile_fullgraph(self):
        def layer(q, k, v, kc, vc, lens):
            a = gqaforge.attention(q, k, v, causal=True)
            b = gqaforge.attention_with_kvcache(q[:, -1:], kc, vc, lens)
            c = gqaforge.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                      is_causal=True, enable_gqa=True)
            return a, b, c

        q = rand(2, 64, 16, 128, dtype=torch.bfloat16, seed=1200)
        k = rand(2, 64, 4, 128, dtype=torch.bfloat16, seed=1201)
        kc = rand(2, 1024, 4, 128, dtype=torch.bfloat16, seed=1202)
        lens = torch.tensor([1000, 64], dtype=torch.int32, device="cuda")
        eager = layer(q, k, k, kc, kc, lens)
        compiled = torch.compile(layer, fullgraph=True)(q, k, k, kc, kc, lens)
        for e, c in zip(eager, compiled):
            self.assertTrue(torch.equal(e, c))

    def test_cuda_graph_capture_and_replay(self):
        q = rand(2, 1, 16, 128, dtype=torch.bfloat16, seed=1300)
        kc = rand(2, 70000, 2, 128, dtype=torch.bfloat16, seed=1301)
        lens = torch.tensor([70000, 1234], dtype=torch.int32, device="cuda")
        qp = rand(2, 777, 8, 128, dtype=torch.bfloat16, seed=1302)
        kp = rand(2, 999, 2, 128, dtype=torch.bfloat16, seed=1303)

        def step():
            return (gqaforge.attention_with_kvcache(q, kc, kc, lens), gqaforge.attention(qp, kp, kp, causal=True))

        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up: the plans are made before capture
            step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outs = step()
        for trial in range(2):
            q.copy_(rand(2, 1, 16, 128, dtype=torch.bfloat16, seed=1310 + trial))
            lens.copy_(torch.tensor([5000 + trial, 1], dtype=torch.int32))
            for o in outs:
                o.fill_(float("nan"))
            graph.replay()
            want = step()
            for o, w in zip(outs, want):
                self.assertTrue(torch.equal(o, w), f"replay {trial} differs from a direct run")


if __name__ == "__main__":
    unittest.main()
