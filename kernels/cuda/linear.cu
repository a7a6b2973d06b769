/* cuda/linear.cu — linear and batched matmul through cuBLASLt.
 *
 * cuBLASLt is column-major: a row-major y[rows, out] with row stride ldy is
 * the column-major y^T[out, rows] with ld = ldy, so the linear layer is
 * y^T = w x^T with w read transposed (op T) and x^T as stored (op N); the
 * bias then runs along D's rows, which is what the BIAS epilogue adds. The
 * batched matmul is mapped the same way: c row-major is computed as
 * c^T = b^T a^T. */
#include <cstdint>

#include <cublasLt.h>

extern "C" {
#include "internal.h"
}
#include "cuda/algo_cache.cuh"
#include "cuda/cuda_internal.h"
#include "linear.h"

namespace {

/* One column-major operand as cuBLASLt sees it: `rows` x `cols` stored with
 * leading dimension ld, to be used as op(stored). */
struct operand {
    const void *ptr;
    cublasOperation_t op;
    uint64_t rows, cols;
    int64_t ld;
    int64_t batch_stride; /* elements between batch items (0 = broadcast) */
};

/* D[m, n] = op(A)[m, k] op(B)[k, n] (+ bias[m]) over `batch` items. */
struct gemm {
    operand a, b;
    void *d;
    uint64_t m, n;
    int64_t ldd, d_batch_stride;
    int64_t batch;
    cudaDataType_t ab_type, d_type;
    cublasComputeType_t compute;
    cublasLtEpilogue_t epilogue;
    const void *bias;
    /* alignment (bytes) that every pointer the calls will pass has, for
     * the heuristic: outer loop offsets included */
    uint32_t align_a, align_b, align_d;
};

const char *OP_LINEAR = "linear";
const char *OP_MATMUL = "matmul";

/* The largest power of two (at most 256, cuBLASLt's default assumption)
 * dividing every value OR-ed into `bits`. */
uint32_t alignment_of(uintptr_t bits) {
    if (bits == 0) return 256;
    uintptr_t low = bits & (~bits + 1);
    return low >= 256 ? 256u : (uint32_t)low;
}

bool cuda_type(orr_dtype dtype, cudaDataType_t *out) {
    switch (dtype) {
    case ORR_F32:
        *out = CUDA_R_32F;
        return true;
    case ORR_BF16:
        *out = CUDA_R_16BF;
        return true;
    case ORR_F16:
        *out = CUDA_R_16F;
        return true;
    default:
        return false;
    }
}

/* The gemm's types: inputs of `in` (f32, bf16 or f16) and D of `out` (f32
 * or the inputs' type), accumulated in f32 (with TF32 products for f32
 * inputs where flags ask for them); `ins` and `d` name the operands. */
orr_status set_types(const char *op, const char *ins, const char *d, orr_dtype in, orr_dtype out, unsigned flags,
                     gemm *g) {
    if (!cuda_type(in, &g->ab_type))
        return orr_error(ORR_ERR_DTYPE, "cuda %s: %s are %s (f32, bf16 or f16)", op, ins, orr_dtype_name(in));
    if ((out != ORR_F32 && out != in) || !cuda_type(out, &g->d_type))
        return orr_error(ORR_ERR_DTYPE, "cuda %s: %s is %s for %s inputs (f32 or %s)", op, d, orr_dtype_name(out),
                         orr_dtype_name(in), orr_dtype_name(in));
    g->compute = in == ORR_F32 && (flags & ORR_CUDA_GEMM_TF32) ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    return ORR_OK;
}

/* ---- the per-shape cache of the heuristic's choice ---------------------- */

enum { KEY_WORDS = 24, CACHE_SIZE = 256 };

struct algo_entry {
    int64_t key[KEY_WORDS];
    cublasLtMatmulAlgo_t algo;
};

algo_cache<algo_entry, CACHE_SIZE> cache;

void make_key(const gemm *g, int device, int64_t key[KEY_WORDS]) {
    int n = 0;
    const operand *operands[2] = {&g->a, &g->b};
    for (const operand *o : operands) {
        key[n++] = o->op;
        key[n++] = (int64_t)o->rows;
        key[n++] = (int64_t)o->cols;
        key[n++] = o->ld;
        key[n++] = o->batch_stride;
    }
    const int64_t bias_align = g->bias ? (int64_t)alignment_of((uintptr_t)g->bias) : 0;
    const int64_t rest[KEY_WORDS - 10] = {device,    (int64_t)g->m, (int64_t)g->n, g->ldd,     g->d_batch_stride,
                                          g->batch,  g->ab_type,    g->d_type,     g->compute, g->epilogue,
                                          g->align_a, g->align_b,   g->align_d,    bias_align};
    for (int64_t v : rest) key[n++] = v;
}

/* ---- descriptors -------------------------------------------------------- */

/* The cuBLASLt descriptors of one gemm, destroyed with the object. */
struct plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    cublasLtMatmulAlgo_t algo;
    plan() = default;
    plan(const plan &) = delete;
    plan &operator=(const plan &) = delete;
    ~plan() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (d) cublasLtMatrixLayoutDestroy(d);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (desc) cublasLtMatmulDescDestroy(desc);
    }
};

orr_status layout_create(const char *op, cublasLtMatrixLayout_t *out, cudaDataType_t type, uint64_t rows, uint64_t cols,
                         int64_t ld, int64_t batch, int64_t batch_stride) {
    orr_status st =
        orr_cuda_check_cublas(cublasLtMatrixLayoutCreate(out, type, rows, cols, ld), op, "cublasLtMatrixLayoutCreate");
    if (st || batch == 1) return st;
    int32_t count = (int32_t)batch;
    st = orr_cuda_check_cublas(
        cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count), op,
        "setting the batch count");
    if (st) return st;
    return orr_cuda_check_cublas(cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                                  &batch_stride, sizeof batch_stride),
                                 op, "setting the batch stride");
}

orr_status plan_create(const char *op, const gemm *g, cublasLtHandle_t handle, size_t workspace_bytes, plan *p) {
    if (g->batch > INT32_MAX)
        return orr_error(ORR_ERR_SHAPE, "cuda %s: a strided batch of %lld items (at most %d)", op, (long long)g->batch,
                         INT32_MAX);
    orr_status st = orr_cuda_check_cublas(cublasLtMatmulDescCreate(&p->desc, g->compute, CUDA_R_32F), op,
                                          "cublasLtMatmulDescCreate");
    int32_t ta = g->a.op, tb = g->b.op;
    uint32_t epilogue = g->epilogue;
    if (!st)
        st = orr_cuda_check_cublas(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta),
                                   op, "setting op(A)");
    if (!st)
        st = orr_cuda_check_cublas(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb),
                                   op, "setting op(B)");
    if (!st)
        st = orr_cuda_check_cublas(
            cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue), op,
            "setting the epilogue");
    if (!st && g->bias)
        st = orr_cuda_check_cublas(
            cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g->bias, sizeof g->bias), op,
            "setting the bias");
    if (!st) st = layout_create(op, &p->a, g->ab_type, g->a.rows, g->a.cols, g->a.ld, g->batch, g->a.batch_stride);
    if (!st) st = layout_create(op, &p->b, g->ab_type, g->b.rows, g->b.cols, g->b.ld, g->batch, g->b.batch_stride);
    if (!st) st = layout_create(op, &p->d, g->d_type, g->m, g->n, g->ldd, g->batch, g->d_batch_stride);
    if (st) return st;

    int device = 0;
    st = orr_cuda_check(cudaGetDevice(&device), op, "cudaGetDevice");
    if (st) return st;
    algo_entry e;
    make_key(g, device, e.key);
    if (cache.find(&e)) {
        p->algo = e.algo;
        return ORR_OK;
    }

    st = orr_cuda_check_cublas(cublasLtMatmulPreferenceCreate(&p->pref), op, "cublasLtMatmulPreferenceCreate");
    uint64_t ws = workspace_bytes;
    const struct {
        cublasLtMatmulPreferenceAttributes_t attr;
        uint32_t value;
    } aligns[] = {{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, g->align_a},
                  {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, g->align_b},
                  {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, g->align_d},
                  {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, g->align_d}};
    if (!st)
        st = orr_cuda_check_cublas(
            cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws), op,
            "setting the workspace size");
    for (const auto &al : aligns) {
        if (!st)
            st = orr_cuda_check_cublas(
                cublasLtMatmulPreferenceSetAttribute(p->pref, al.attr, &al.value, sizeof al.value), op,
                "setting an alignment");
    }
    if (st) return st;
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    st = orr_cuda_check_cublas(
        cublasLtMatmulAlgoGetHeuristic(handle, p->desc, p->a, p->b, p->d, p->d, p->pref, 1, &result, &found), op,
        "cublasLtMatmulAlgoGetHeuristic");
    if (st) return st;
    if (found < 1)
        return orr_error(
            ORR_ERR_UNSUPPORTED,
            "cuda %s: cuBLASLt has no algorithm for m=%llu n=%llu k=%llu (types %d/%d, alignments %u/%u/%u)", op,
            (unsigned long long)g->m, (unsigned long long)g->n,
            (unsigned long long)(g->a.op == CUBLAS_OP_N ? g->a.cols : g->a.rows), (int)g->ab_type, (int)g->d_type,
            g->align_a, g->align_b, g->align_d);
    p->algo = e.algo = result.algo;
    cache.store(e);
    return ORR_OK;
}

/* Queues the gemm `count` times on the runtime's stream, item i at the
 * offsets (elements) a_off[i], b_off[i], d_off[i] (NULL = all zero). */
orr_status run(const char *op, const gemm *g, int64_t count, const int64_t *a_off, const int64_t *b_off,
               const int64_t *d_off, size_t ab_size, size_t d_size, cudaStream_t stream) {
    cudaStream_t rt = orr_cuda_stream();
    if (!rt) return ORR_ERR_UNSUPPORTED;
    cublasLtHandle_t handle;
    void *workspace = nullptr;
    size_t workspace_bytes = 0;
    orr_status st = orr_cuda_cublaslt(&handle, &workspace, &workspace_bytes);
    if (st) return st;
    plan p;
    st = plan_create(op, g, handle, workspace_bytes, &p);
    if (st) return st;
    if ((st = orr_cuda_order_after(op, rt, stream))) return st;
    const float one = 1.0f, zero = 0.0f;
    for (int64_t i = 0; i < count && !st; i++) {
        const char *a = (const char *)g->a.ptr + (a_off ? a_off[i] : 0) * (int64_t)ab_size;
        const char *b = (const char *)g->b.ptr + (b_off ? b_off[i] : 0) * (int64_t)ab_size;
        char *d = (char *)g->d + (d_off ? d_off[i] : 0) * (int64_t)d_size;
        st = orr_cuda_check_cublas(cublasLtMatmul(handle, p.desc, &one, a, p.a, b, p.b, &zero, d, p.d, d, p.d, &p.algo,
                                                  workspace, workspace_bytes, rt),
                                   op, "cublasLtMatmul");
    }
    const orr_status joined = orr_cuda_order_after(op, stream, rt);
    return st ? st : joined;
}

/* Matrix X (rows x cols, element (i, j) at i*rs + j*cs) as a column-major
 * operand: op N over X itself, or op T over a column-major X^T. */
bool as_operand(int64_t rs, int64_t cs, int64_t rows, int64_t cols, operand *o) {
    int64_t r = rows > 1 ? rows : 1, c = cols > 1 ? cols : 1;
    if ((rs == 1 || rows == 1) && (cols == 1 || cs >= r)) {
        *o = {nullptr, CUBLAS_OP_N, (uint64_t)rows, (uint64_t)cols, cols == 1 ? r : cs, 0};
        return true;
    }
    if ((cs == 1 || cols == 1) && (rows == 1 || rs >= c)) {
        *o = {nullptr, CUBLAS_OP_T, (uint64_t)cols, (uint64_t)rows, rows == 1 ? c : rs, 0};
        return true;
    }
    return false;
}

} /* namespace */

/* ---- linear ------------------------------------------------------------- */

extern "C" orr_status orr_cuda_linear(void *y, orr_dtype y_dtype, int64_t ldy, const void *x, int64_t ldx,
                                      const void *w, orr_dtype w_dtype, int64_t ldw, const void *b, int64_t rows,
                                      int64_t in, int64_t out, unsigned flags, cudaStream_t stream) {
    const char *op = OP_LINEAR;
    if (!y || !x || !w) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: y, x and w must be device pointers", op);
    if (rows < 0 || in < 1 || out < 1)
        return orr_error(ORR_ERR_SHAPE, "cuda %s: rows %lld, in %lld, out %lld (need rows >= 0, in and out >= 1)", op,
                         (long long)rows, (long long)in, (long long)out);
    if (rows == 0) return ORR_OK;
    if ((rows > 1 && (ldx < in || ldy < out)) || (out > 1 && ldw < in))
        return orr_error(ORR_ERR_SHAPE,
                         "cuda %s: row strides ldx %lld, ldw %lld, ldy %lld too small for in %lld, out %lld", op,
                         (long long)ldx, (long long)ldw, (long long)ldy, (long long)in, (long long)out);
    gemm g = {};
    orr_status st = set_types(op, "x and w", "y", w_dtype, y_dtype, flags, &g);
    if (st) return st;
    size_t ab_size = orr_dtype_size(w_dtype), d_size = orr_dtype_size(y_dtype);

    /* A = w^T stored [in x out] (op T), B = x^T stored [in x rows], D = y^T */
    g.a = {w, CUBLAS_OP_T, (uint64_t)in, (uint64_t)out, out > 1 ? ldw : in, 0};
    g.b = {x, CUBLAS_OP_N, (uint64_t)in, (uint64_t)rows, rows > 1 ? ldx : in, 0};
    g.d = y;
    g.m = (uint64_t)out;
    g.n = (uint64_t)rows;
    g.ldd = rows > 1 ? ldy : out;
    g.batch = 1;
    bool gelu = flags & ORR_CUDA_GEMM_GELU_TANH;
    g.epilogue = b ? (gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                   : (gelu ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT);
    g.bias = b;
    g.align_a = alignment_of((uintptr_t)w | (uintptr_t)(g.a.ld * (int64_t)ab_size));
    g.align_b = alignment_of((uintptr_t)x | (uintptr_t)(g.b.ld * (int64_t)ab_size));
    g.align_d = alignment_of((uintptr_t)y | (uintptr_t)(g.ldd * (int64_t)d_size));
    return run(op, &g, 1, nullptr, nullptr, nullptr, ab_size, d_size, stream);
}

/* ---- batched matmul ----------------------------------------------------- */

extern "C" orr_status orr_cuda_matmul(void *c, orr_dtype c_dtype, const void *a, const void *b, orr_dtype ab_dtype,
                                      const orr_matmul_shape *s, unsigned flags, cudaStream_t stream) {
    const char *op = OP_MATMUL;
    if (!c || !a || !b || !s) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: c, a, b and the shape must not be NULL", op);
    if (s->m < 0 || s->n < 0 || s->k < 1 || s->batch_ndim < 0 || s->batch_ndim > ORR_MAX_DIMS)
        return orr_error(ORR_ERR_SHAPE, "cuda %s: m %lld, k %lld, n %lld, %d batch dims (need k >= 1)", op,
                         (long long)s->m, (long long)s->k, (long long)s->n, s->batch_ndim);
    if (flags & ORR_CUDA_GEMM_GELU_TANH)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: the GELU epilogue is for linear only", op);
    gemm g = {};
    orr_status st = set_types(op, "a and b", "c", ab_dtype, c_dtype, flags, &g);
    if (st) return st;
    int64_t total = 1;
    for (int d = 0; d < s->batch_ndim; d++) {
        if (s->batch_shape[d] < 0)
            return orr_error(ORR_ERR_SHAPE, "cuda %s: batch dim %d has size %lld", op, d, (long long)s->batch_shape[d]);
        if (s->batch_shape[d] > 1 && s->c_batch_stride[d] == 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda %s: c has batch stride 0 over batch dim %d of size %lld", op, d,
                             (long long)s->batch_shape[d]);
        total *= s->batch_shape[d];
    }
    if (total == 0 || s->m == 0 || s->n == 0) return ORR_OK;

    /* c column-major as is, or c^T = b^T a^T over transposed views */
    operand oa, ob, oc;
    bool c_ok = as_operand(s->c_rs, s->c_cs, s->m, s->n, &oc) && oc.op == CUBLAS_OP_N;
    bool swap = !c_ok;
    if (swap) {
        c_ok = as_operand(s->c_cs, s->c_rs, s->n, s->m, &oc) && oc.op == CUBLAS_OP_N;
        if (!c_ok)
            return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: c strides (%lld, %lld) are neither row- nor column-major",
                             op, (long long)s->c_rs, (long long)s->c_cs);
    }
    const void *pa = swap ? b : a, *pb = swap ? a : b;
    bool a_ok = swap ? as_operand(s->b_cs, s->b_rs, s->n, s->k, &oa) : as_operand(s->a_rs, s->a_cs, s->m, s->k, &oa);
    bool b_ok = swap ? as_operand(s->a_cs, s->a_rs, s->k, s->m, &ob) : as_operand(s->b_rs, s->b_cs, s->k, s->n, &ob);
    if (!a_ok || !b_ok) {
        bool a_bad = swap ? !b_ok : !a_ok; /* the operands trade places in the swap */
        return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: %s strides (%lld, %lld) are neither row- nor column-major", op,
                         a_bad ? "a" : "b", (long long)(a_bad ? s->a_rs : s->b_rs),
                         (long long)(a_bad ? s->a_cs : s->b_cs));
    }
    const int64_t *sa = swap ? s->b_batch_stride : s->a_batch_stride;
    const int64_t *sb = swap ? s->a_batch_stride : s->b_batch_stride;

    /* the innermost batch dims whose strides nest become one strided batch */
    int dims[ORR_MAX_DIMS], nd = 0;
    for (int d = 0; d < s->batch_ndim; d++)
        if (s->batch_shape[d] > 1) dims[nd++] = d;
    int64_t inner = 1, ia = 0, ib = 0, ic = 0;
    int outer_nd = nd;
    if (nd > 0) {
        int last = dims[nd - 1];
        inner = s->batch_shape[last];
        ia = sa[last];
        ib = sb[last];
        ic = s->c_batch_stride[last];
        outer_nd = nd - 1;
        while (outer_nd > 0) {
            int d = dims[outer_nd - 1];
            if (sa[d] != ia * inner || sb[d] != ib * inner || s->c_batch_stride[d] != ic * inner) break;
            inner *= s->batch_shape[d];
            outer_nd--;
        }
    }
    int64_t count = total / inner;
    size_t ab_size = orr_dtype_size(ab_dtype), d_size = orr_dtype_size(c_dtype);
    int64_t *offsets = nullptr;
    uintptr_t bits_a = (uintptr_t)pa | (uintptr_t)(ia * (int64_t)ab_size) | (uintptr_t)(oa.ld * (int64_t)ab_size);
    uintptr_t bits_b = (uintptr_t)pb | (uintptr_t)(ib * (int64_t)ab_size) | (uintptr_t)(ob.ld * (int64_t)ab_size);
    uintptr_t bits_c = (uintptr_t)c | (uintptr_t)(ic * (int64_t)d_size) | (uintptr_t)(oc.ld * (int64_t)d_size);
    if (count > 1) {
        offsets = (int64_t *)malloc(sizeof(int64_t) * 3 * (size_t)count);
        if (!offsets)
            return orr_error(ORR_ERR_MEMORY, "cuda %s: out of host memory for %lld batch offsets", op,
                             (long long)count);
        for (int64_t q = 0; q < count; q++) {
            int64_t rest = q, oa_ = 0, ob_ = 0, oc_ = 0;
            for (int i = outer_nd - 1; i >= 0; i--) {
                int d = dims[i];
                int64_t idx = rest % s->batch_shape[d];
                rest /= s->batch_shape[d];
                oa_ += idx * sa[d];
                ob_ += idx * sb[d];
                oc_ += idx * s->c_batch_stride[d];
            }
            offsets[q] = oa_;
            offsets[count + q] = ob_;
            offsets[2 * count + q] = oc_;
            bits_a |= (uintptr_t)(oa_ * (int64_t)ab_size);
            bits_b |= (uintptr_t)(ob_ * (int64_t)ab_size);
            bits_c |= (uintptr_t)(oc_ * (int64_t)d_size);
        }
    }
    oa.ptr = pa;
    oa.batch_stride = ia;
    ob.ptr = pb;
    ob.batch_stride = ib;
    g.a = oa;
    g.b = ob;
    g.d = c;
    g.m = oc.rows;
    g.n = oc.cols;
    g.ldd = oc.ld;
    g.d_batch_stride = ic;
    g.batch = inner;
    g.epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    g.align_a = alignment_of(bits_a);
    g.align_b = alignment_of(bits_b);
    g.align_d = alignment_of(bits_c);
    st = run(op, &g, count, offsets, offsets ? offsets + count : nullptr, offsets ? offsets + 2 * count : nullptr,
             ab_size, d_size, stream);
    free(offsets);
    return st;
}
