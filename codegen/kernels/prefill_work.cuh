// Prefill family, both generations: the work of one CTA. Which sequence (fixed length or packed
// varlen) its index names and where that sequence's tokens start, which query token and head
// each of its rows is, and which K/V tiles those rows may see.
#pragma once

#include "common.cuh"

namespace gqf {
namespace prefill {

/// Extents and base offsets (in elements) of one sequence for one CTA.
struct SeqInfo {
  int q_len;         // query tokens of this sequence
  int kv_len;        // keys of this sequence
  long long q_tok0;  // first token index (varlen offset, else 0)
  long long k_tok0;
  long long q_base, k_base, v_base, o_base;  // batch offsets (0 for varlen)
  long long lse_row0;                        // first LSE row of this sequence ([rows, n_q] layout)
};

__device__ __forceinline__ SeqInfo seq_info(const GqaParams& p, int b) {
  SeqInfo s;
  s.q_len = p.q_len;
  s.kv_len = p.kv_len;
  s.q_tok0 = 0;
  s.k_tok0 = 0;
  s.q_base = b * p.q_stride_b;
  s.o_base = b * p.o_stride_b;
  s.k_base = b * p.k_stride_b;
  s.v_base = b * p.v_stride_b;
  s.lse_row0 = static_cast<long long>(b) * p.q_len;
  if (p.cu_seqlens_q != nullptr) {
    // Packed tokens: the batch stride is unused and LSE is [total_q, n_q].
    s.q_tok0 = p.cu_seqlens_q[b];
    s.q_len = p.cu_seqlens_q[b + 1] - p.cu_seqlens_q[b];
    s.q_base = 0;
    s.o_base = 0;
    s.lse_row0 = s.q_tok0;
  }
  if (p.cu_seqlens_k != nullptr) {
    s.k_tok0 = p.cu_seqlens_k[b];
    s.kv_len = p.cu_seqlens_k[b + 1] - p.cu_seqlens_k[b];
    s.k_base = 0;
    s.v_base = 0;
  } else if (p.kv_lens != nullptr) {
    s.kv_len = p.kv_lens[b];
  }
  return s;
}

/// Maps a CTA row (0..kBlockM) to its query token and query head.
template <typename L>
struct RowMap {
  int row0;  // first global (packed) row of the CTA
  int head;  // KV head when packing, else query head
  __device__ __forceinline__ int token(int r) const {
    int g = row0 + r;
    return L::kPackGqa ? g / L::kGroup : g;
  }
  __device__ __forceinline__ int q_head(int r) const {
    return L::kPackGqa ? head * L::kGroup + (row0 + r) % L::kGroup : head;
  }
};

/// The work of one CTA: which (sequence, head, row block) its index names, and which K/V tiles
/// its rows see.
template <typename L>
struct CtaWork {
  SeqInfo s;
  RowMap<L> rows;
  int kv_head;
  int n_tiles;  // tiles with any key a row of the CTA may see
  int n_full;   // leading tiles that no row needs masked
  int diag;     // bottom-right causal offset: token t sees keys j <= t + diag

  /// Decodes blockIdx.x; false when the CTA's rows lie past its sequence's end (varlen).
  /// Launch order. Causal: heaviest work first: heads (and then sequences) vary fastest, row
  /// blocks slowest and reversed, so the long causal row blocks of every head start in the first
  /// wave and the short ones fill the tail. Non-causal (every block costs the same): row blocks
  /// vary fastest, so the CTAs resident at once share the K/V of one or two heads in L2 instead
  /// of each streaming a different head's K/V from memory.
  __device__ __forceinline__ bool init(const GqaParams& p) {
    const int heads = L::kPackGqa ? p.n_kv_heads : p.n_q_heads;
    const int rows_per_seq = L::kPackGqa ? p.q_len * L::kGroup : p.q_len;
    const int m_blocks = (rows_per_seq + L::kBlockM - 1) / L::kBlockM;
    const unsigned bid = blockIdx.x;
    const unsigned head_seqs = static_cast<unsigned>(heads) * static_cast<unsigned>(p.batch);
    const unsigned head_seq = L::kCausal ? bid % head_seqs : bid / static_cast<unsigned>(m_blocks);
    const int head = static_cast<int>(head_seq % static_cast<unsigned>(heads));
    const int b = static_cast<int>(head_seq / static_cast<unsigned>(heads));
    const int m_block = L::kCausal ? m_blocks - 1 - static_cast<int>(bid / head_seqs)
                                   : static_cast<int>(bid % static_cast<unsigned>(m_blocks));
    s = seq_info(p, b);
    rows.row0 = m_block * L::kBlockM;
    rows.head = head;
    const int seq_rows = L::kPackGqa ? s.q_len * L::kGroup : s.q_len;
    if (rows.row0 >= seq_rows) return false;
    kv_head = L::kPackGqa ? head : head / L::kGroup;
    diag = s.kv_len - s.q_len;
    // Key bounds (exclusive) of the first and last token of the CTA.
    const int t_first = rows.token(0);
    const int t_last = imin(s.q_len - 1, rows.token(L::kBlockM - 1));
    int lim_lo = s.kv_len, lim_hi = s.kv_len;
    if (L::kCausal) {
      lim_lo = imax(0, imin(s.kv_len, t_first + 1 + diag));
      lim_hi = imax(0, imin(s.kv_len, t_last + 1 + diag));
    }
    n_tiles = (lim_hi + L::kBlockN - 1) / L::kBlockN;
    n_full = lim_lo / L::kBlockN;
    return true;
  }

  /// First K and V element of this CTA's sequence and KV head.
  __device__ __forceinline__ const typename L::Element* k_rows(const GqaParams& p) const {
    return static_cast<const typename L::Element*>(p.k) + s.k_base + s.k_tok0 * p.k_stride_s +
           static_cast<long long>(kv_head) * p.k_stride_h;
  }
  __device__ __forceinline__ const typename L::Element* v_rows(const GqaParams& p) const {
    return static_cast<const typename L::Element*>(p.v) + s.v_base + s.k_tok0 * p.v_stride_s +
           static_cast<long long>(kv_head) * p.v_stride_h;
  }
};

}  // namespace prefill
}  // namespace gqf
