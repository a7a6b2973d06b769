/* attention.h — scaled dot-product attention over contiguous float32 buffers.
 *
 * q [B,H,Sq,D], k [B,Hk,Sk,D], v [B,Hk,Sk,Dv], out [B,H,Sq,Dv]; query head h
 * reads key/value head h / (H/Hk) (grouped heads, as repeat_interleave).
 * mask (may be NULL) holds float values read at
 *   mask[b*ms[0] + h*ms[1] + i*ms[2] + j*ms[3]]
 * with a stride of 0 for a broadcast dim; zero = key j not attended by query i.
 * causal: key j > i + (Sk - Sq) is not attended. A query row with nothing
 * attended gets zeros. */
#ifndef ORR_KERNELS_ATTENTION_H
#define ORR_KERNELS_ATTENTION_H

#include "orrery.h"

typedef struct orr_attn_dims {
    int64_t batch, heads, kv_heads;
    int64_t q_len, kv_len;
    int64_t head_dim, v_dim;
} orr_attn_dims;

typedef struct orr_attn_mask {
    const float *data; /* NULL = everything attended */
    int64_t stride[4]; /* b, h, i, j */
} orr_attn_mask;

/* Scalar oracle: one row of scores at a time, accumulated in double.
 * Fails only with ORR_ERR_MEMORY. */
orr_status orr_ref_attention(float *out, const float *q, const float *k, const float *v, const orr_attn_mask *mask,
                             const orr_attn_dims *dims, float scale, bool causal);

/* Blocked attention with an online softmax: never holds more than a block of
 * query rows times a block of keys of scores. Threaded over (batch, head,
 * query block). Fails only with ORR_ERR_MEMORY. */
orr_status orr_cpu_attention(float *out, const float *q, const float *k, const float *v, const orr_attn_mask *mask,
                             const orr_attn_dims *dims, float scale, bool causal);

#endif
