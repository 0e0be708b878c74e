// The CPU code generator (ir_gen.h). Loops are emitted with phi induction variables; values
// carried across iterations live in entry-block allocas, which the -O3 pipeline promotes to
// registers (SROA), so the generator stays a straight transcription of the algorithm.
#include "backends/cpu/ir_gen.h"

#include <functional>
#include <string>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

namespace gqaforge::cpu {
namespace {

using codegen::CpuKernelSpec;
using llvm::BasicBlock;
using llvm::Type;
using llvm::Value;

// GqaParams fields, in declaration order (codegen/kernels/params.h).
enum Field {
  kQ,
  kK,
  kV,
  kO,
  kLse,
  kOPartial,
  kLsePartial,
  kKvLens,
  kCuQ,
  kCuK,
  kQsb,
  kQss,
  kQsh,
  kKsb,
  kKss,
  kKsh,
  kVsb,
  kVss,
  kVsh,
  kOsb,
  kOss,
  kOsh,
  kBatch,
  kQLen,
  kKvLen,
  kNQ,
  kNKv,
  kNumSplits,
  kSplitLen,
  kScaleLog2,
};

class Gen {
 public:
  Gen(llvm::LLVMContext& ctx, const CpuKernelSpec& spec) : ctx_(ctx), s_(spec), b_(ctx) {
    f32_ = b_.getFloatTy();
    i16_ = b_.getInt16Ty();
    i32_ = b_.getInt32Ty();
    i64_ = b_.getInt64Ty();
    lanes_ = static_cast<unsigned>(s_.vec);
    vf_ = llvm::FixedVectorType::get(f32_, lanes_);
    vi16_ = llvm::FixedVectorType::get(i16_, lanes_);
    vi32_ = llvm::FixedVectorType::get(i32_, lanes_);
    nv_ = s_.head_dim / s_.vec;
  }

  std::unique_ptr<llvm::Module> run() {
    auto m = std::make_unique<llvm::Module>(s_.symbol(), ctx_);
    Type* ptr8 = b_.getInt8PtrTy();
    Type* ptrf = llvm::PointerType::getUnqual(f32_);
    Type* ptri = llvm::PointerType::getUnqual(i32_);
    std::vector<Type*> fields = {ptr8, ptr8, ptr8, ptr8, ptrf, ptrf, ptrf, ptri, ptri, ptri};
    for (int i = 0; i < 12; ++i) fields.push_back(i64_);
    for (int i = 0; i < 7; ++i) fields.push_back(i32_);
    fields.push_back(f32_);
    params_ty_ = llvm::StructType::create(ctx_, fields, "GqaParams");
    auto* fn_ty =
        llvm::FunctionType::get(b_.getVoidTy(), {llvm::PointerType::getUnqual(params_ty_), i64_, i64_}, false);
    fn_ = llvm::Function::Create(fn_ty, llvm::Function::ExternalLinkage, s_.symbol(), m.get());
    const std::string bits = std::to_string(32 * s_.vec);
    fn_->addFnAttr("min-legal-vector-width", bits);
    fn_->addFnAttr("prefer-vector-width", bits);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract();
    fmf.setNoSignedZeros();
    // Inputs are finite and masking uses -inf, never NaN: max/min need no NaN checks.
    fmf.setNoNaNs();
    b_.setFastMathFlags(fmf);

    entry_ = BasicBlock::Create(ctx_, "entry", fn_);
    b_.SetInsertPoint(entry_);
    p_ = fn_->getArg(0);
    const int rows = s_.rows();
    qf_ = b_.CreateAlloca(f32_, i64c(int64_t{rows} * s_.head_dim), "qf");
    of_ = b_.CreateAlloca(f32_, i64c(int64_t{rows} * s_.head_dim), "of");
    mr_ = b_.CreateAlloca(f32_, i64c(rows), "m");
    lr_ = b_.CreateAlloca(f32_, i64c(rows), "l");
    kt_ = b_.CreateAlloca(f32_, i64c(int64_t{s_.block_n} * s_.head_dim), "kt");
    vf_buf_ = b_.CreateAlloca(f32_, i64c(int64_t{s_.block_n} * s_.head_dim), "vf");
    // Rows per pass over a tile: with the 32 vector registers of AVX-512, up to four rows of one
    // token share each K and V load; their accumulators are blocked to 16 vectors (a share of
    // the tile's chunks at a time), so the loads per FMA halve from one row pair to four rows.
    // Without AVX-512, one row at a time.
    rows_per_pass_ = s_.vec != 16 ? 1 : (s_.head_block >= 4 ? 4 : (s_.head_block >= 2 ? 2 : 1));
    sr_ = b_.CreateAlloca(f32_, i64c(int64_t{rows_per_pass_} * s_.block_n), "s");
    for (int c = 0; c < rows_per_pass_ * nv_; ++c) acc_.push_back(b_.CreateAlloca(vf_, nullptr, "acc"));
    for (int c = 0; c < rows_per_pass_ * s_.block_n / s_.vec; ++c) {
      sacc_.push_back(b_.CreateAlloca(vf_, nullptr, "sacc"));
    }
    for (auto* a : {qf_, of_, kt_, vf_buf_, sr_}) a->setAlignment(llvm::Align(64));

    loop(fn_->getArg(1), fn_->getArg(2), [&](Value* item) { item_body(item); });
    b_.CreateRetVoid();
    return m;
  }

 private:
  // ---- small helpers -------------------------------------------------------------------------
  Value* field(Field f) {
    Type* t = params_ty_->getElementType(static_cast<unsigned>(f));
    return b_.CreateLoad(t, b_.CreateStructGEP(params_ty_, p_, static_cast<unsigned>(f)));
  }
  Value* i64c(int64_t v) { return llvm::ConstantInt::getSigned(i64_, v); }
  Value* f32c(double v) { return llvm::ConstantFP::get(f32_, v); }
  Value* splat(Value* x) { return b_.CreateVectorSplat(lanes_, x); }
  Value* sext(Value* v) { return b_.CreateSExt(v, i64_); }
  Value* min64(Value* a, Value* c) { return b_.CreateSelect(b_.CreateICmpSLT(a, c), a, c); }
  Value* max64(Value* a, Value* c) { return b_.CreateSelect(b_.CreateICmpSGT(a, c), a, c); }
  Value* neg_inf() { return llvm::ConstantFP::getInfinity(f32_, true); }

  /// for (i = begin; i < end; i += step) body(i)
  void loop(Value* begin, Value* end, const std::function<void(Value*)>& body, int64_t step = 1) {
    BasicBlock* pre = b_.GetInsertBlock();
    BasicBlock* head = BasicBlock::Create(ctx_, "loop", fn_);
    BasicBlock* inner = BasicBlock::Create(ctx_, "body", fn_);
    BasicBlock* exit = BasicBlock::Create(ctx_, "exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode* i = b_.CreatePHI(begin->getType(), 2);
    i->addIncoming(begin, pre);
    b_.CreateCondBr(b_.CreateICmpSLT(i, end), inner, exit);
    b_.SetInsertPoint(inner);
    body(i);
    Value* next = b_.CreateAdd(i, llvm::ConstantInt::getSigned(llvm::cast<llvm::IntegerType>(begin->getType()), step));
    i->addIncoming(next, b_.GetInsertBlock());
    b_.CreateBr(head);
    b_.SetInsertPoint(exit);
  }

  /// if (cond) then()
  void when(Value* cond, const std::function<void()>& then) {
    BasicBlock* yes = BasicBlock::Create(ctx_, "then", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, "endif", fn_);
    b_.CreateCondBr(cond, yes, done);
    b_.SetInsertPoint(yes);
    then();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
  }

  Value* f32_vec_ptr(Value* base, Value* index) {
    Value* p = b_.CreateInBoundsGEP(f32_, base, index);
    return b_.CreateBitCast(p, llvm::PointerType::getUnqual(vf_));
  }
  Value* load_fvec(Value* base, Value* index) {
    return b_.CreateAlignedLoad(vf_, f32_vec_ptr(base, index), llvm::Align(4));
  }
  void store_fvec(Value* v, Value* base, Value* index) {
    b_.CreateAlignedStore(v, f32_vec_ptr(base, index), llvm::Align(4));
  }

  /// vec 16-bit elements at element `index` of `base` (an i8* tensor), as fp32.
  Value* load_16(Value* base, Value* index) {
    Value* p = b_.CreateInBoundsGEP(i16_, b_.CreateBitCast(base, llvm::PointerType::getUnqual(i16_)), index);
    Value* raw = b_.CreateAlignedLoad(vi16_, b_.CreateBitCast(p, llvm::PointerType::getUnqual(vi16_)), llvm::Align(2));
    if (s_.dtype == codegen::DType::kFP16) {
      return b_.CreateFPExt(b_.CreateBitCast(raw, llvm::FixedVectorType::get(b_.getHalfTy(), lanes_)), vf_);
    }
    Value* wide = b_.CreateShl(b_.CreateZExt(raw, vi32_), llvm::ConstantInt::get(vi32_, 16));
    return b_.CreateBitCast(wide, vf_);
  }

  /// fp32 vector -> 16-bit elements at element `index` of `base` (round to nearest even).
  void store_16(Value* v, Value* base, Value* index) {
    Value* bits;
    if (s_.dtype == codegen::DType::kFP16) {
      bits = b_.CreateBitCast(b_.CreateFPTrunc(v, llvm::FixedVectorType::get(b_.getHalfTy(), lanes_)), vi16_);
    } else {
      Value* u = b_.CreateBitCast(v, vi32_);
      Value* lsb = b_.CreateAnd(b_.CreateLShr(u, llvm::ConstantInt::get(vi32_, 16)), llvm::ConstantInt::get(vi32_, 1));
      Value* rounded = b_.CreateAdd(u, b_.CreateAdd(lsb, llvm::ConstantInt::get(vi32_, 0x7fff)));
      bits = b_.CreateTrunc(b_.CreateLShr(rounded, llvm::ConstantInt::get(vi32_, 16)), vi16_);
    }
    Value* p = b_.CreateInBoundsGEP(i16_, b_.CreateBitCast(base, llvm::PointerType::getUnqual(i16_)), index);
    b_.CreateAlignedStore(bits, b_.CreateBitCast(p, llvm::PointerType::getUnqual(vi16_)), llvm::Align(2));
  }

  /// 2^x for x <= 0 (lanes below -127, -inf included, give 0): x = n + f with n = rint(x),
  /// |f| <= 1/2, 2^f by its degree-6 Taylor polynomial (relative error < 2e-7).
  Value* exp2v(Value* x) {
    Value* xc = b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, x, splat(f32c(-127.0)));
    Value* n = b_.CreateUnaryIntrinsic(llvm::Intrinsic::rint, xc);
    Value* f = b_.CreateFSub(xc, n);
    static const double c[] = {1.0,
                               0.6931471805599453,
                               0.2402265069591007,
                               0.05550410866482158,
                               0.009618129107628477,
                               0.0013333558146428443,
                               0.00015403530393381608};
    Value* poly = splat(f32c(c[6]));
    for (int i = 5; i >= 0; --i) {
      poly = b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vf_}, {poly, f, splat(f32c(c[i]))});
    }
    Value* ni = b_.CreateFPToSI(n, vi32_);
    Value* biased = b_.CreateAdd(ni, llvm::ConstantInt::get(vi32_, 127));
    Value* scale = b_.CreateBitCast(b_.CreateShl(biased, llvm::ConstantInt::get(vi32_, 23)), vf_);
    Value* r = b_.CreateFMul(poly, scale);
    return b_.CreateSelect(b_.CreateFCmpOLT(x, splat(f32c(-126.5))), splat(f32c(0.0)), r);
  }

  Value* exp2s(Value* x) { return b_.CreateExtractElement(exp2v(splat(x)), uint64_t{0}); }

  // ---- the algorithm ---------------------------------------------------------------------------
  void item_body(Value* item) {
    const int64_t hb_count = s_.head_blocks();
    Value* n_kv = sext(field(kNKv));
    Value* q_len = sext(field(kQLen));
    Value* splits = sext(field(kNumSplits));
    Value* n_qb = b_.CreateSDiv(b_.CreateAdd(q_len, i64c(s_.block_m - 1)), i64c(s_.block_m));
    Value* split = b_.CreateSRem(item, splits);
    Value* t1 = b_.CreateSDiv(item, splits);
    Value* qb = b_.CreateSRem(t1, n_qb);
    Value* t2 = b_.CreateSDiv(t1, n_qb);
    Value* hbi = b_.CreateSRem(t2, i64c(hb_count));
    Value* t3 = b_.CreateSDiv(t2, i64c(hb_count));
    Value* h = b_.CreateSRem(t3, n_kv);
    Value* b = b_.CreateSDiv(t3, n_kv);

    // The sequence: lengths and offsets (fixed layout, per-sequence key counts or packed varlen).
    Value* cu_q = field(kCuQ);
    Value* cu_k = field(kCuK);
    Value* kv_lens = field(kKvLens);
    Value* has_cu_q =
        b_.CreateICmpNE(cu_q, llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(cu_q->getType())));
    Value* has_cu_k =
        b_.CreateICmpNE(cu_k, llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(cu_k->getType())));
    Value* has_kv_lens =
        b_.CreateICmpNE(kv_lens, llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(kv_lens->getType())));
    auto at = [&](Value* arr, Value* idx) { return sext(b_.CreateLoad(i32_, b_.CreateInBoundsGEP(i32_, arr, idx))); };
    auto guarded = [&](Value* cond, Value* arr, Value* idx, Value* otherwise) {
      // Loads only when the array is there: a branch, not a select of a load from null.
      BasicBlock* pre = b_.GetInsertBlock();
      BasicBlock* yes = BasicBlock::Create(ctx_, "has", fn_);
      BasicBlock* done = BasicBlock::Create(ctx_, "merge", fn_);
      b_.CreateCondBr(cond, yes, done);
      b_.SetInsertPoint(yes);
      Value* v = at(arr, idx);
      BasicBlock* yes_end = b_.GetInsertBlock();
      b_.CreateBr(done);
      b_.SetInsertPoint(done);
      llvm::PHINode* phi = b_.CreatePHI(i64_, 2);
      phi->addIncoming(v, yes_end);
      phi->addIncoming(otherwise, pre);
      return static_cast<Value*>(phi);
    };
    Value* b1 = b_.CreateAdd(b, i64c(1));
    Value* q_tok0 = guarded(has_cu_q, cu_q, b, i64c(0));
    Value* q_end = guarded(has_cu_q, cu_q, b1, q_len);
    Value* q_len_b = b_.CreateSelect(has_cu_q, b_.CreateSub(q_end, q_tok0), q_len);
    Value* k_tok0 = guarded(has_cu_k, cu_k, b, i64c(0));
    Value* k_end = guarded(has_cu_k, cu_k, b1, i64c(0));
    Value* kv_fixed = guarded(has_kv_lens, kv_lens, b, sext(field(kKvLen)));
    Value* kv_len_b = b_.CreateSelect(has_cu_k, b_.CreateSub(k_end, k_tok0), max64(kv_fixed, i64c(0)));
    Value* q_base = b_.CreateSelect(has_cu_q, i64c(0), b_.CreateMul(b, field(kQsb)));
    Value* o_base = b_.CreateSelect(has_cu_q, i64c(0), b_.CreateMul(b, field(kOsb)));
    Value* k_base = b_.CreateSelect(has_cu_k, i64c(0), b_.CreateMul(b, field(kKsb)));
    Value* v_base = b_.CreateSelect(has_cu_k, i64c(0), b_.CreateMul(b, field(kVsb)));
    Value* lse_row0 = b_.CreateSelect(has_cu_q, q_tok0, b_.CreateMul(b, q_len));

    // This item's rows: tokens [t0, t0 + nt), heads [g0, g0 + ng) of the group.
    Value* t0 = b_.CreateMul(qb, i64c(s_.block_m));
    Value* nt = min64(i64c(s_.block_m), b_.CreateSub(q_len_b, t0));
    Value* g0 = b_.CreateMul(hbi, i64c(s_.head_block));
    Value* ng = min64(i64c(s_.head_block), b_.CreateSub(i64c(s_.group), g0));

    // The split's keys; n_active splits hold at least one key.
    Value* split_len = sext(field(kSplitLen));
    Value* is_split = b_.CreateICmpSGT(split_len, i64c(0));
    Value* safe_len = max64(split_len, i64c(1));
    Value* key_begin = b_.CreateSelect(is_split, b_.CreateMul(split, split_len), i64c(0));
    Value* key_end = b_.CreateSelect(is_split, min64(kv_len_b, b_.CreateAdd(key_begin, split_len)), kv_len_b);
    Value* n_active =
        b_.CreateSelect(is_split, b_.CreateSDiv(b_.CreateAdd(kv_len_b, b_.CreateSub(safe_len, i64c(1))), safe_len),
                        b_.CreateSelect(b_.CreateICmpSGT(kv_len_b, i64c(0)), i64c(1), i64c(0)));
    // Split 0 always runs (a sequence without keys still writes its rows); others need keys.
    Value* runs = b_.CreateAnd(b_.CreateICmpSGT(nt, i64c(0)),
                               b_.CreateOr(b_.CreateICmpEQ(split, i64c(0)), b_.CreateICmpSLT(split, n_active)));
    when(runs, [&] {
      Value* off = b_.CreateSub(kv_len_b, q_len_b);  // bottom-right alignment
      Value* item_end = key_end;
      if (s_.causal) item_end = min64(key_end, b_.CreateAdd(b_.CreateAdd(t0, nt), off));
      Value* scale = field(kScaleLog2);
      Value* q = field(kQ);
      Value* qss = field(kQss);
      Value* qsh = field(kQsh);
      // Q rows (scaled into log2 units), O = 0, m = -inf, l = 0.
      loop(i64c(0), nt, [&](Value* ti) {
        loop(i64c(0), ng, [&](Value* gi) {
          Value* r = b_.CreateAdd(b_.CreateMul(ti, i64c(s_.head_block)), gi);
          Value* head = b_.CreateAdd(b_.CreateMul(h, i64c(s_.group)), b_.CreateAdd(g0, gi));
          Value* src = b_.CreateAdd(q_base, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(q_tok0, b_.CreateAdd(t0, ti)), qss),
                                                         b_.CreateMul(head, qsh)));
          Value* row = b_.CreateMul(r, i64c(s_.head_dim));
          for (int c = 0; c < nv_; ++c) {
            Value* qv = load_16(q, b_.CreateAdd(src, i64c(c * s_.vec)));
            store_fvec(b_.CreateFMul(qv, splat(scale)), qf_, b_.CreateAdd(row, i64c(c * s_.vec)));
            store_fvec(splat(f32c(0.0)), of_, b_.CreateAdd(row, i64c(c * s_.vec)));
          }
          b_.CreateStore(neg_inf(), b_.CreateInBoundsGEP(f32_, mr_, r));
          b_.CreateStore(f32c(0.0), b_.CreateInBoundsGEP(f32_, lr_, r));
        });
      });
      loop(
          key_begin, item_end,
          [&](Value* kb) { tile(kb, item_end, key_end, off, t0, nt, ng, h, k_base, v_base, k_tok0); }, s_.block_n);
      finish(nt, ng, h, g0, t0, q_tok0, o_base, lse_row0, b, split, n_active, q_len);
    });
  }

  void tile(Value* kb, Value* item_end, Value* key_end, Value* off, Value* t0, Value* nt, Value* ng, Value* h,
            Value* k_base, Value* v_base, Value* k_tok0) {
    Value* nk = min64(i64c(s_.block_n), b_.CreateSub(item_end, kb));
    Value* k = field(kK);
    Value* v = field(kV);
    Value* kss = field(kKss);
    Value* vss = field(kVss);
    Value* kh = b_.CreateMul(h, field(kKsh));
    Value* vh = b_.CreateMul(h, field(kVsh));
    // The next tile's K and V rows, prefetched into L2 while this one is converted and used: the
    // conversion would otherwise wait on each cache miss in turn.
    Value* next = b_.CreateAdd(kb, i64c(s_.block_n));
    Value* n_next = min64(i64c(s_.block_n), max64(i64c(0), b_.CreateSub(item_end, next)));
    loop(i64c(0), n_next, [&](Value* j) {
      Value* key = b_.CreateAdd(k_tok0, b_.CreateAdd(next, j));
      prefetch_row(k, b_.CreateAdd(k_base, b_.CreateAdd(b_.CreateMul(key, kss), kh)));
      prefetch_row(v, b_.CreateAdd(v_base, b_.CreateAdd(b_.CreateMul(key, vss), vh)));
    });
    // K, transposed to [head_dim][block_n] fp32, vec keys at a time: vec rows of a head-dim chunk
    // go through an in-register transpose, so the scores need no lane reductions. Past the last
    // key the last row is repeated (its scores are masked).
    loop(
        i64c(0), nk,
        [&](Value* j0) {
          std::vector<Value*> src;
          for (int i = 0; i < s_.vec; ++i) {
            Value* j = min64(b_.CreateAdd(j0, i64c(i)), b_.CreateSub(nk, i64c(1)));
            Value* key = b_.CreateAdd(k_tok0, b_.CreateAdd(kb, j));
            src.push_back(b_.CreateAdd(k_base, b_.CreateAdd(b_.CreateMul(key, kss), kh)));
          }
          for (int c = 0; c < nv_; ++c) {
            std::vector<Value*> rows;
            for (int i = 0; i < s_.vec; ++i)
              rows.push_back(load_16(k, b_.CreateAdd(src[static_cast<size_t>(i)], i64c(c * s_.vec))));
            transpose(rows);
            for (int i = 0; i < s_.vec; ++i) {
              store_fvec(rows[static_cast<size_t>(i)], kt_,
                         b_.CreateAdd(i64c(int64_t{c * s_.vec + i} * s_.block_n), j0));
            }
          }
        },
        s_.vec);
    // V rows, converted once for every row of the item.
    loop(i64c(0), nk, [&](Value* j) {
      Value* key = b_.CreateAdd(k_tok0, b_.CreateAdd(kb, j));
      Value* vs = b_.CreateAdd(v_base, b_.CreateAdd(b_.CreateMul(key, vss), vh));
      Value* dst = b_.CreateMul(j, i64c(s_.head_dim));
      for (int c = 0; c < nv_; ++c) {
        store_fvec(load_16(v, b_.CreateAdd(vs, i64c(c * s_.vec))), vf_buf_, b_.CreateAdd(dst, i64c(c * s_.vec)));
      }
    });
    loop(i64c(0), nt, [&](Value* ti) {
      // Keys of this tile the token sees: j < nvis.
      Value* lim = s_.causal ? b_.CreateAdd(b_.CreateAdd(t0, ti), off) : b_.CreateSub(key_end, i64c(1));
      Value* nvis = min64(nk, max64(i64c(0), b_.CreateAdd(b_.CreateSub(lim, kb), i64c(1))));
      when(b_.CreateICmpSGT(nvis, i64c(0)), [&] {
        Value* r0 = b_.CreateMul(ti, i64c(s_.head_block));
        // The token's rows in passes of rows_per_pass_, the rest in smaller passes (4, 2, 1).
        Value* done = i64c(0);
        for (int per = rows_per_pass_; per >= 1; per /= 2) {
          Value* end = b_.CreateAdd(done, b_.CreateMul(b_.CreateSDiv(b_.CreateSub(ng, done), i64c(per)), i64c(per)));
          loop(
              done, end,
              [&](Value* gi) {
                std::vector<Value*> rs;
                for (int i = 0; i < per; ++i) rs.push_back(b_.CreateAdd(r0, b_.CreateAdd(gi, i64c(i))));
                row_tile(rs, nvis);
              },
              per);
          done = end;
        }
      });
    });
  }

  /// Prefetches (for reading, into every cache level) the 64-byte lines of one head-dim row of
  /// 16-bit elements at element `index` of `base`.
  void prefetch_row(Value* base, Value* index) {
    Value* p = b_.CreateGEP(i16_, b_.CreateBitCast(base, llvm::PointerType::getUnqual(i16_)), index);
    Value* bytes = b_.CreateBitCast(p, b_.getInt8PtrTy());
    for (int off = 0; off < s_.head_dim * 2; off += 64) {
      b_.CreateIntrinsic(
          llvm::Intrinsic::prefetch, {b_.getInt8PtrTy()},
          {b_.CreateGEP(b_.getInt8Ty(), bytes, i64c(off)), b_.getInt32(0), b_.getInt32(3), b_.getInt32(1)});
    }
  }

  /// A square vec x vec transpose of `rows` (vec vectors of vec lanes) with shuffles: log2(vec)
  /// stages, each swapping the off-diagonal h x h blocks of every 2h x 2h block.
  void transpose(std::vector<Value*>& rows) {
    const int n = s_.vec;
    for (int h = n / 2; h >= 1; h /= 2) {
      std::vector<int> lo, hi;
      for (int l = 0; l < n; ++l) {
        lo.push_back((l & h) == 0 ? l : n + l - h);
        hi.push_back((l & h) == 0 ? l + h : n + l);
      }
      for (int r = 0; r < n; ++r) {
        if ((r & h) != 0) continue;
        Value* a = rows[static_cast<size_t>(r)];
        Value* c = rows[static_cast<size_t>(r + h)];
        rows[static_cast<size_t>(r)] = b_.CreateShuffleVector(a, c, lo);
        rows[static_cast<size_t>(r + h)] = b_.CreateShuffleVector(a, c, hi);
      }
    }
  }

  /// Rows (one to four, of the same token) against the first `nvis` keys of the converted tile;
  /// the rows share every K and V load.
  void row_tile(const std::vector<Value*>& rs, Value* nvis) {
    const size_t np = rs.size();
    const int chunks = s_.block_n / s_.vec;
    std::vector<Value*> row;
    for (Value* r : rs) row.push_back(b_.CreateMul(r, i64c(s_.head_dim)));
    auto sacc = [&](size_t p, int ch) { return sacc_[p * static_cast<size_t>(chunks) + static_cast<size_t>(ch)]; };
    auto acc = [&](size_t p, int c) { return acc_[p * static_cast<size_t>(nv_) + static_cast<size_t>(c)]; };
    // At most 16 accumulators live in a loop: the rows times a share of the chunks.
    const int share = std::max(1, 16 / static_cast<int>(np));
    // Scores of the tile's keys, a share of the chunks at a time: sum over the head dim of
    // q_d * Kt[d][keys].
    for (int ch0 = 0; ch0 < chunks; ch0 += share) {
      const int ch1 = std::min(chunks, ch0 + share);
      for (size_t p = 0; p < np; ++p) {
        for (int ch = ch0; ch < ch1; ++ch) b_.CreateStore(splat(f32c(0.0)), sacc(p, ch));
      }
      loop(i64c(0), i64c(s_.head_dim), [&](Value* d) {
        std::vector<Value*> qd;
        for (size_t p = 0; p < np; ++p) {
          qd.push_back(splat(b_.CreateLoad(f32_, b_.CreateInBoundsGEP(f32_, qf_, b_.CreateAdd(row[p], d)))));
        }
        Value* kt_row = b_.CreateMul(d, i64c(s_.block_n));
        for (int ch = ch0; ch < ch1; ++ch) {
          Value* kv = load_fvec(kt_, b_.CreateAdd(kt_row, i64c(ch * s_.vec)));
          for (size_t p = 0; p < np; ++p) {
            llvm::AllocaInst* a = sacc(p, ch);
            b_.CreateStore(b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vf_}, {qd[p], kv, b_.CreateLoad(vf_, a)}), a);
          }
        }
      });
    }
    // Online softmax per row; lanes past nvis read as -inf.
    std::vector<llvm::Constant*> lanes;
    for (int i = 0; i < s_.vec; ++i) lanes.push_back(llvm::ConstantInt::getSigned(i64_, i));
    Value* iota = llvm::ConstantVector::get(lanes);
    std::vector<Value*> alphas;
    for (size_t p = 0; p < np; ++p) {
      std::vector<Value*> s;
      Value* vmax = splat(neg_inf());
      for (int ch = 0; ch < chunks; ++ch) {
        Value* in = b_.CreateICmpSLT(b_.CreateAdd(splat(i64c(ch * s_.vec)), iota), splat(nvis));
        s.push_back(b_.CreateSelect(in, b_.CreateLoad(vf_, sacc(p, ch)), splat(neg_inf())));
        vmax = b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, vmax, s.back());
      }
      Value* mx = b_.CreateFPMaxReduce(vmax);
      Value* m_ptr = b_.CreateInBoundsGEP(f32_, mr_, rs[p]);
      Value* l_ptr = b_.CreateInBoundsGEP(f32_, lr_, rs[p]);
      Value* m_old = b_.CreateLoad(f32_, m_ptr);
      Value* m_new = b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, m_old, mx);
      Value* alpha = exp2s(b_.CreateFSub(m_old, m_new));
      // p_j = 2^(s_j - m_new) into the row's score slot for P.V; their sum.
      Value* vsum = splat(f32c(0.0));
      for (int ch = 0; ch < chunks; ++ch) {
        Value* e = exp2v(b_.CreateFSub(s[static_cast<size_t>(ch)], splat(m_new)));
        store_fvec(e, sr_, i64c(int64_t{static_cast<int64_t>(p) * s_.block_n + ch * s_.vec}));
        vsum = b_.CreateFAdd(vsum, e);
      }
      Value* sum = b_.CreateFAddReduce(f32c(0.0), vsum);
      b_.CreateStore(b_.CreateFAdd(b_.CreateFMul(b_.CreateLoad(f32_, l_ptr), alpha), sum), l_ptr);
      b_.CreateStore(m_new, m_ptr);
      alphas.push_back(alpha);
    }
    // O = alpha * O + sum_j p_j V_j, a share of the head dim at a time, the rows' accumulators
    // in registers.
    for (int c0 = 0; c0 < nv_; c0 += share) {
      const int c1 = std::min(nv_, c0 + share);
      for (size_t p = 0; p < np; ++p) {
        for (int c = c0; c < c1; ++c) {
          b_.CreateStore(b_.CreateFMul(load_fvec(of_, b_.CreateAdd(row[p], i64c(c * s_.vec))), splat(alphas[p])),
                         acc(p, c));
        }
      }
      loop(i64c(0), nvis, [&](Value* j) {
        std::vector<Value*> pj;
        for (size_t p = 0; p < np; ++p) {
          Value* idx = b_.CreateAdd(j, i64c(static_cast<int64_t>(p) * s_.block_n));
          pj.push_back(splat(b_.CreateLoad(f32_, b_.CreateInBoundsGEP(f32_, sr_, idx))));
        }
        Value* vr = b_.CreateMul(j, i64c(s_.head_dim));
        for (int c = c0; c < c1; ++c) {
          Value* vv = load_fvec(vf_buf_, b_.CreateAdd(vr, i64c(c * s_.vec)));
          for (size_t p = 0; p < np; ++p) {
            b_.CreateStore(
                b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vf_}, {pj[p], vv, b_.CreateLoad(vf_, acc(p, c))}),
                acc(p, c));
          }
        }
      });
      for (size_t p = 0; p < np; ++p) {
        for (int c = c0; c < c1; ++c)
          store_fvec(b_.CreateLoad(vf_, acc(p, c)), of_, b_.CreateAdd(row[p], i64c(c * s_.vec)));
      }
    }
  }

  /// O / l and the LSE (natural log) of every row: into O and LSE when this is the only active
  /// split, else into the split's partials.
  void finish(Value* nt, Value* ng, Value* h, Value* g0, Value* t0, Value* q_tok0, Value* o_base, Value* lse_row0,
              Value* b, Value* split, Value* n_active, Value* q_len) {
    Value* o = field(kO);
    Value* lse = field(kLse);
    Value* o_partial = field(kOPartial);
    Value* lse_partial = field(kLsePartial);
    Value* oss = field(kOss);
    Value* osh = field(kOsh);
    Value* n_q = sext(field(kNQ));
    Value* batch = sext(field(kBatch));
    Value* final_out = b_.CreateICmpSLE(n_active, i64c(1));
    Value* has_lse =
        b_.CreateICmpNE(lse, llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(lse->getType())));
    loop(i64c(0), nt, [&](Value* ti) {
      loop(i64c(0), ng, [&](Value* gi) {
        Value* r = b_.CreateAdd(b_.CreateMul(ti, i64c(s_.head_block)), gi);
        Value* head = b_.CreateAdd(b_.CreateMul(h, i64c(s_.group)), b_.CreateAdd(g0, gi));
        Value* token = b_.CreateAdd(t0, ti);
        Value* l = b_.CreateLoad(f32_, b_.CreateInBoundsGEP(f32_, lr_, r));
        Value* m = b_.CreateLoad(f32_, b_.CreateInBoundsGEP(f32_, mr_, r));
        Value* has_keys = b_.CreateFCmpOGT(l, f32c(0.0));
        Value* inv = b_.CreateSelect(has_keys, b_.CreateFDiv(f32c(1.0), l), f32c(0.0));
        Value* log2l = b_.CreateUnaryIntrinsic(llvm::Intrinsic::log2, b_.CreateSelect(has_keys, l, f32c(1.0)));
        Value* lse_v =
            b_.CreateSelect(has_keys, b_.CreateFMul(b_.CreateFAdd(m, log2l), f32c(0.6931471805599453)), neg_inf());
        Value* row = b_.CreateMul(r, i64c(s_.head_dim));
        when(final_out, [&] {
          Value* dst = b_.CreateAdd(
              o_base, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(q_tok0, token), oss), b_.CreateMul(head, osh)));
          for (int c = 0; c < nv_; ++c) {
            Value* ov = b_.CreateFMul(load_fvec(of_, b_.CreateAdd(row, i64c(c * s_.vec))), splat(inv));
            store_16(ov, o, b_.CreateAdd(dst, i64c(c * s_.vec)));
          }
          when(has_lse, [&] {
            Value* idx = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(lse_row0, token), n_q), head);
            b_.CreateStore(lse_v, b_.CreateInBoundsGEP(f32_, lse, idx));
          });
        });
        when(b_.CreateNot(final_out), [&] {
          // [splits][batch][q_len][n_q] rows, head_dim floats each (decode: fixed layout).
          Value* prow = b_.CreateAdd(
              b_.CreateMul(b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(split, batch), b), q_len), token), n_q),
              head);
          Value* pdst = b_.CreateMul(prow, i64c(s_.head_dim));
          for (int c = 0; c < nv_; ++c) {
            Value* ov = b_.CreateFMul(load_fvec(of_, b_.CreateAdd(row, i64c(c * s_.vec))), splat(inv));
            store_fvec(ov, o_partial, b_.CreateAdd(pdst, i64c(c * s_.vec)));
          }
          b_.CreateStore(lse_v, b_.CreateInBoundsGEP(f32_, lse_partial, prow));
        });
      });
    });
  }

  llvm::LLVMContext& ctx_;
  const CpuKernelSpec& s_;
  llvm::IRBuilder<> b_;
  Type *f32_, *i16_, *i32_, *i64_;
  llvm::FixedVectorType *vf_, *vi16_, *vi32_;
  int nv_ = 0;
  int rows_per_pass_ = 1;  // rows of one token sharing each K/V load (4, 2 or 1)
  unsigned lanes_ = 0;
  llvm::StructType* params_ty_ = nullptr;
  llvm::Function* fn_ = nullptr;
  BasicBlock* entry_ = nullptr;
  Value* p_ = nullptr;
  llvm::AllocaInst *qf_, *of_, *mr_, *lr_, *kt_, *vf_buf_, *sr_;
  std::vector<llvm::AllocaInst*> acc_, sacc_;  // O and score accumulators (promoted to registers)
};

}  // namespace

std::unique_ptr<llvm::Module> generate_cpu_kernel(llvm::LLVMContext& ctx, const CpuKernelSpec& spec) {
  return Gen(ctx, spec).run();
}

}  // namespace gqaforge::cpu
