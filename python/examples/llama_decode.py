"""A Llama-style decoding loop (a few layers, random weights) whose attention runs through
gqaforge, checked against torch.nn.functional.scaled_dot_product_attention (its flash and its
cuDNN backend, a run each), with tokens/s for all three. Needs PyTorch and a CUDA GPU.

    python python/examples/llama_decode.py [--library h200.gqalib] [--layers 4] [--batch 4]

The model: RMSNorm, rotary embeddings, grouped-query attention (32 query heads, 8 KV heads, head
dim 128), SwiGLU MLP. The prompt is prefilled with gqaforge.attention(causal=True); every new
token attends to a static KV cache [batch, capacity, n_kv_heads, head_dim] through
gqaforge.attention_with_kvcache. The SDPA runs feed the tokens gqaforge chose (teacher forcing),
so the logits of each step compare one to one (the check is against the flash run).
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

import gqaforge


class Config:
    def __init__(self, layers, dim=4096, n_heads=32, n_kv_heads=8, ffn=11008, vocab=32000):
        self.layers, self.dim, self.n_heads, self.n_kv_heads = layers, dim, n_heads, n_kv_heads
        self.head_dim, self.ffn, self.vocab = dim // n_heads, ffn, vocab


def make_weights(cfg, device, dtype, seed=0):
    g = torch.Generator(device=device).manual_seed(seed)

    def w(*shape, scale):
        return (torch.randn(*shape, generator=g, device=device) * scale).to(dtype)

    d, hd = cfg.dim, cfg.head_dim
    layers = []
    for _ in range(cfg.layers):
        layers.append({
            "wqkv": w(d, (cfg.n_heads + 2 * cfg.n_kv_heads) * hd, scale=d**-0.5),
            "wo": w(cfg.n_heads * hd, d, scale=(cfg.n_heads * hd)**-0.5),
            "w13": w(d, 2 * cfg.ffn, scale=d**-0.5),
            "w2": w(cfg.ffn, d, scale=cfg.ffn**-0.5),
        })
    return {"embed": w(cfg.vocab, d, scale=1.0), "out": w(d, cfg.vocab, scale=d**-0.5), "layers": layers}


def rms_norm(x, eps=1e-5):
    return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def rope(x, pos):
    """x [batch, seq, heads, head_dim]; pos [seq] absolute positions."""
    hd = x.shape[-1]
    freqs = 1.0 / (10000.0**(torch.arange(0, hd, 2, device=x.device).float() / hd))
    angles = pos.float()[:, None] * freqs[None, :]
    cos, sin = angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]
    x1, x2 = x.float()[..., 0::2], x.float()[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)
    return out.to(x.dtype)


class Model:
    def __init__(self, cfg, weights, batch, capacity, backend):
        self.cfg, self.w, self.backend = cfg, weights, backend
        dev, dt = weights["embed"].device, weights["embed"].dtype
        shape = (batch, capacity, cfg.n_kv_heads, cfg.head_dim)
        self.k_cache = [torch.zeros(shape, device=dev, dtype=dt) for _ in range(cfg.layers)]
        self.v_cache = [torch.zeros(shape, device=dev, dtype=dt) for _ in range(cfg.layers)]
        self.seqlens = torch.zeros(batch, dtype=torch.int32, device=dev)

    def attend(self, layer, q, start):
        """q [batch, seq, n_heads, head_dim] at positions start.. start+seq-1 (their keys are in the
        cache already)."""
        n = start + q.shape[1]
        kc, vc = self.k_cache[layer], self.v_cache[layer]
        if self.backend == "gqaforge":
            if start == 0:
                return gqaforge.attention(q, kc[:, :n], vc[:, :n], causal=True)
            return gqaforge.attention_with_kvcache(q, kc, vc, self.seqlens, causal=True, max_seqlen_k=n)
        with sdpa_kernel(SDPA_BACKENDS[self.backend]):
            o = F.scaled_dot_product_attention(q.transpose(1, 2), kc[:, :n].transpose(1, 2),
                                               vc[:, :n].transpose(1, 2), is_causal=start == 0, enable_gqa=True)
        return o.transpose(1, 2)

    def forward(self, tokens, start):
        """tokens [batch, seq] at positions start..: the logits of the last position."""
        cfg = self.cfg
        b, s = tokens.shape
        pos = torch.arange(start, start + s, device=tokens.device)
        self.seqlens.fill_(start + s)
        x = self.w["embed"][tokens]
        for i, lw in enumerate(self.w["layers"]):
            qkv = rms_norm(x) @ lw["wqkv"]
            q, k, v = qkv.split([cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim,
                                 cfg.n_kv_heads * cfg.head_dim], dim=-1)
            q = rope(q.view(b, s, cfg.n_heads, cfg.head_dim), pos)
            k = rope(k.view(b, s, cfg.n_kv_heads, cfg.head_dim), pos)
            self.k_cache[i][:, start:start + s] = k
            self.v_cache[i][:, start:start + s] = v.view(b, s, cfg.n_kv_heads, cfg.head_dim)
            x = x + self.attend(i, q, start).reshape(b, s, -1) @ lw["wo"]
            gate, up = (rms_norm(x) @ lw["w13"]).chunk(2, dim=-1)
            x = x + (F.silu(gate) * up) @ lw["w2"]
        return (rms_norm(x[:, -1]) @ self.w["out"]).float()


# SDPA's backends, each a run of its own. The cache length grows by one every step, and SDPA's
# cuDNN backend pays for every new length (see the tokens/s it reaches).
SDPA_BACKENDS = {"sdpa-flash": SDPBackend.FLASH_ATTENTION, "sdpa-cudnn": SDPBackend.CUDNN_ATTENTION}


def generate(cfg, weights, prompt, steps, backend, forced=None):
    """Greedy decoding (or, with `forced`, feeding those tokens): (tokens, logits per step, s)."""
    batch, plen = prompt.shape
    model = Model(cfg, weights, batch, plen + steps + 1, backend)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    logits = [model.forward(prompt, 0)]
    tokens = []
    for step in range(steps):
        nxt = forced[:, step] if forced is not None else logits[-1].argmax(-1)
        tokens.append(nxt)
        logits.append(model.forward(nxt[:, None], plen + step))
    torch.cuda.synchronize()
    return torch.stack(tokens, 1), logits, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", help="a tuned .gqalib (default: JIT only)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--dtype", choices=("bf16", "fp16"), default="bf16")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("llama_decode: needs a CUDA GPU")
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    if args.library:
        gqaforge.load_library(args.library)
    cfg = Config(args.layers)
    weights = make_weights(cfg, "cuda", dtype)
    prompt = torch.randint(0, cfg.vocab, (args.batch, args.prompt), device="cuda",
                           generator=torch.Generator(device="cuda").manual_seed(1))
    # Warm-up (plans, NVRTC compiles, cuBLAS heuristics) on a short run of each backend.
    generate(cfg, weights, prompt, 4, "gqaforge")
    for name in SDPA_BACKENDS:
        generate(cfg, weights, prompt, 4, name)
    tokens, ours, t_ours = generate(cfg, weights, prompt, args.steps, "gqaforge")
    _, theirs, t_sdpa = generate(cfg, weights, prompt, args.steps, "sdpa-flash", forced=tokens)
    _, theirs_cudnn, t_cudnn = generate(cfg, weights, prompt, args.steps, "sdpa-cudnn", forced=tokens)
    worst = max(((a - b).abs().max() / b.abs().max().clamp(min=1e-6)).item() for a, b in zip(ours, theirs))
    agree = sum(int((a.argmax(-1) == b.argmax(-1)).all()) for a, b in zip(ours, theirs))
    n_tokens = args.batch * args.steps
    print(f"model: {cfg.layers} layers, dim {cfg.dim}, heads {cfg.n_heads}:{cfg.n_kv_heads} d{cfg.head_dim}, "
          f"{args.dtype}; batch {args.batch}, prompt {args.prompt}, {args.steps} steps")
    print(f"library: {gqaforge.library().info()['path'] or '(JIT only)'}")
    print(f"gqaforge   {n_tokens / t_ours:9.1f} tokens/s  ({t_ours * 1e3:.1f} ms)")
    print(f"sdpa flash {n_tokens / t_sdpa:9.1f} tokens/s  ({t_sdpa * 1e3:.1f} ms)")
    print(f"sdpa cudnn {n_tokens / t_cudnn:9.1f} tokens/s  ({t_cudnn * 1e3:.1f} ms)")
    print(f"check: largest logit difference {worst:.2e} of the logits' range; greedy tokens agree on "
          f"{agree}/{len(ours)} steps")
    if worst > 5e-2:
        raise SystemExit("llama_decode: FAIL: gqaforge's logits differ from SDPA's")
    print("ok")


if __name__ == "__main__":
    main()
