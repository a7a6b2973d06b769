/* tokenizer_fsq.c — finite scalar quantization as the Cosmos discrete
 * tokenizers do it (tokenizer/modules/quantizers.py: FSQuantizer, one
 * codebook, no projections): each of the d channels is bounded by a shifted
 * tanh, rounded to one of L_i levels and scaled to [-1,1]; the index is the
 * mixed-radix number of the level digits. The arithmetic follows the
 * official float32 steps so that indices come out identical. On cuda the
 * kernels of cuda/fsq.h do the same steps with the same constants. */
#include <math.h>
#include <string.h>

#include "tokenizer.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/fsq.h"
#endif

void tok_fsq_init(tok_fsq *q, const int *levels, int n) {
    memset(q, 0, sizeof *q);
    q->n = n;
    int64_t basis = 1;
    for (int i = 0; i < n; i++) {
        const int L = levels[i];
        q->levels[i] = L;
        q->half_width[i] = L / 2;
        q->basis[i] = basis;
        basis *= L;
        /* half_l = (L-1)*(1+1e-3)/2, offset = 0.5 for even L, shift =
         * atanh(offset/half_l): float32 tensors in the official code. */
        float half_l = (float)(L - 1) * 1.001f;
        q->half_l[i] = half_l / 2.0f;
        q->offset[i] = L % 2 == 0 ? 0.5f : 0.0f;
        q->shift[i] = atanhf(q->offset[i] / q->half_l[i]);
    }
    q->codebook_size = basis;
}

orr_status tok_fsq_quantize(const tok_fsq *q, const orr_tensor *z, orr_tensor *codes, orr_tensor *indices,
                            orr_tensor *bounded) {
    char buf[200];
    if (z->ndim < 2 || z->shape[1] != q->n)
        return orr_error(ORR_ERR_SHAPE, "fsq: z is %s but the quantizer has %d levels on dim 1",
                         orr_tensor_describe(z, buf, sizeof buf), q->n);
    const int64_t batch = z->shape[0], d = q->n, rest = orr_tensor_numel(z) / (batch > 0 ? batch * d : 1);
    const orr_device dev = z->device;
    orr_tensor *ztmp = NULL, *ctmp = NULL, *btmp = NULL, *idx = NULL;
    const float *zd = NULL;
    float *cd = NULL, *bd = NULL;
    orr_status st = orr_input_f32(z, &ztmp, &zd);
    if (!st && codes) st = orr_check_same_shape("fsq", "codes", codes, "z", z);
    if (!st && codes) st = tok_output_begin(codes, dev, &ctmp, &cd);
    if (!st && bounded && orr_tensor_numel(bounded) != orr_tensor_numel(z))
        st = orr_error(ORR_ERR_SHAPE, "fsq: bounded is %s, not the %lld elements of z",
                       orr_tensor_describe(bounded, buf, sizeof buf), (long long)orr_tensor_numel(z));
    if (!st && bounded) st = tok_output_begin(bounded, dev, &btmp, &bd);
    if (!st && indices) {
        if (orr_tensor_numel(indices) != batch * rest)
            st = orr_error(ORR_ERR_SHAPE, "fsq: indices is %s, not the %lld positions of z",
                           orr_tensor_describe(indices, buf, sizeof buf), (long long)(batch * rest));
        if (!st) st = orr_tensor_empty_on(dev, &idx, ORR_I64, indices->ndim, indices->shape);
    }
    if (st) goto done;
    int64_t *id = idx ? (int64_t *)idx->data : NULL;
#ifdef ORR_HAVE_CUDA
    if (dev == ORR_CUDA) {
        st = orr_cuda_fsq_quantize(cd, id, bd, zd, batch, rest, q->n, q->levels, q->half_l, q->offset, q->shift,
                                   orr_cuda_stream());
        if (st) goto done;
    } else
#endif
    {
        for (int64_t b = 0; b < batch; b++)
            for (int64_t r = 0; r < rest; r++) {
                int64_t index = 0;
                for (int64_t c = 0; c < d; c++) {
                    const int64_t at = (b * d + c) * rest + r;
                    float v = tanhf(zd[at] + q->shift[c]) * q->half_l[c] - q->offset[c];
                    float level = rintf(v); /* torch.round: half to even */
                    if (bd) bd[(b * rest + r) * d + c] = v;
                    if (cd) cd[at] = level / (float)q->half_width[c];
                    index += ((int64_t)level + q->half_width[c]) * q->basis[c];
                }
                if (id) id[b * rest + r] = index;
            }
    }
    if (codes) {
        st = orr_output_f32_end(codes, ctmp);
        ctmp = NULL;
    }
    if (bounded) {
        orr_status st2 = orr_output_f32_end(bounded, btmp);
        btmp = NULL;
        if (!st) st = st2;
    }
    if (!st && indices) st = orr_copy(indices, idx);
done:
    orr_tensor_free(ztmp);
    orr_tensor_free(ctmp);
    orr_tensor_free(btmp);
    orr_tensor_free(idx);
    return st;
}

static bool is_integer_dtype(orr_dtype d) {
    return d == ORR_I64 || d == ORR_I32 || d == ORR_I16 || d == ORR_I8 || d == ORR_U8;
}

/* ORR_ERR_ARGUMENT naming the first of the n host indices outside the codebook. */
static orr_status check_range(const tok_fsq *q, const int64_t *id, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (id[i] < 0 || id[i] >= q->codebook_size)
            return orr_error(ORR_ERR_ARGUMENT, "fsq: index %lld at position %lld is outside the codebook [0, %lld)",
                             (long long)id[i], (long long)i, (long long)q->codebook_size);
    return ORR_OK;
}

orr_status tok_fsq_dequantize(const tok_fsq *q, const orr_tensor *indices, orr_tensor *codes) {
    char ib[200], cb[200];
    if (!is_integer_dtype(indices->dtype))
        return orr_error(ORR_ERR_DTYPE, "fsq: indices are %s, an integer dtype is needed",
                         orr_dtype_name(indices->dtype));
    bool shape_ok = indices->ndim >= 1 && codes->ndim == indices->ndim + 1 && codes->shape[0] == indices->shape[0] &&
                    codes->shape[1] == q->n;
    for (int dim = 1; shape_ok && dim < indices->ndim; dim++) shape_ok = codes->shape[dim + 1] == indices->shape[dim];
    if (!shape_ok)
        return orr_error(ORR_ERR_SHAPE, "fsq: codes %s do not match indices %s (want [B,%d,...])",
                         orr_tensor_describe(codes, cb, sizeof cb), orr_tensor_describe(indices, ib, sizeof ib), q->n);
    const int64_t batch = indices->shape[0], rest = orr_tensor_numel(indices) / (batch > 0 ? batch : 1);
    const orr_device dev = codes->device;
    orr_tensor *idx = NULL, *ctmp = NULL, *host = NULL;
    float *cd = NULL;
    orr_status st = orr_tensor_empty_on(dev, &idx, ORR_I64, indices->ndim, indices->shape);
    if (!st) st = orr_copy(idx, indices);
    if (!st) st = orr_output_f32_begin(codes, &ctmp, &cd);
    if (st) goto done;
#ifdef ORR_HAVE_CUDA
    if (dev == ORR_CUDA) {
        /* the kernel marks an index outside the codebook with NaN codes; the
         * indices come over only then, for the message */
        int64_t bad = 0;
        st = orr_cuda_fsq_dequantize(cd, idx->data, batch, rest, q->n, q->levels, orr_cuda_stream());
        if (!st) st = orr_count_nonfinite(ctmp ? ctmp : codes, &bad);
        if (!st && bad && !(st = orr_tensor_to(&host, idx, ORR_CPU)) &&
            !(st = check_range(q, host->data, batch * rest)))
            st = orr_error(ORR_ERR_NONFINITE, "fsq: %lld NaN codes from valid indices", (long long)bad);
    } else
#endif
    {
        const int64_t *id = idx->data;
        st = check_range(q, id, batch * rest);
        for (int64_t b = 0; !st && b < batch; b++)
            for (int64_t r = 0; r < rest; r++) {
                const int64_t index = id[b * rest + r];
                for (int c = 0; c < q->n; c++) {
                    int64_t digit = (index / q->basis[c]) % q->levels[c];
                    cd[(b * q->n + c) * rest + r] = (float)(digit - q->half_width[c]) / (float)q->half_width[c];
                }
            }
    }
    if (!st) {
        st = orr_output_f32_end(codes, ctmp);
        ctmp = NULL;
    }
done:
    orr_tensor_free(idx);
    orr_tensor_free(ctmp);
    orr_tensor_free(host);
    return st;
}
