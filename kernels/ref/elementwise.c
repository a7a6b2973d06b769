/* ref/elementwise.c — scalar oracles for elementwise.h: one element at a
 * time, full index arithmetic, libm functions, double accumulators. */
#include "elementwise.h"

#include <math.h>

static float binary_apply(orr_binary_op op, float x, float y) {
    switch (op) {
    case ORR_ADD: return x + y;
    case ORR_SUB: return x - y;
    case ORR_MUL: return x * y;
    case ORR_DIV: return x / y;
    case ORR_MAX: return (x != x || x > y) ? x : y;
    case ORR_MIN: return (x != x || x < y) ? x : y;
    }
    return NAN;
}

void orr_ref_binary(float *out, const float *a, const int64_t *a_stride, const float *b, const int64_t *b_stride,
                    int ndim, const int64_t *shape, orr_binary_op op) {
    int64_t total = 1;
    for (int d = 0; d < ndim; d++) total *= shape[d];
    for (int64_t i = 0; i < total; i++) {
        int64_t rest = i, ia = 0, ib = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            int64_t k = rest % shape[d];
            rest /= shape[d];
            ia += k * a_stride[d];
            ib += k * b_stride[d];
        }
        out[i] = binary_apply(op, a[ia], b[ib]);
    }
}

/* The PyTorch definitions, evaluated in float as its CPU kernels do. */
static float unary_apply(orr_unary_op op, float x) {
    switch (op) {
    case ORR_IDENTITY: return x;
    case ORR_NEG: return -x;
    case ORR_ABS: return fabsf(x);
    case ORR_EXP: return expf(x);
    case ORR_LOG: return logf(x);
    case ORR_SQRT: return sqrtf(x);
    case ORR_RSQRT: return 1.0f / sqrtf(x);
    case ORR_TANH: return tanhf(x);
    case ORR_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ORR_SILU: return x / (1.0f + expf(-x));
    case ORR_GELU_TANH: {
        const float beta = 0.7978845608028654f; /* sqrt(2/pi) */
        const float kappa = 0.044715f;
        return 0.5f * x * (1.0f + tanhf(beta * (x + kappa * x * x * x)));
    }
    case ORR_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case ORR_RELU: return x < 0.0f ? 0.0f : x; /* keeps NaN, as torch.relu */
    case ORR_SIN: return sinf(x);
    case ORR_COS: return cosf(x);
    }
    return NAN;
}

void orr_ref_unary(float *out, const float *a, int64_t n, orr_unary_op op) {
    for (int64_t i = 0; i < n; i++) out[i] = unary_apply(op, a[i]);
}

void orr_ref_affine(float *out, const float *a, int64_t n, float scale, float shift) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] * scale + shift;
}

/* Reduces n values spaced `step` apart. */
static double reduce_strided(const float *a, int64_t n, int64_t step, orr_reduce_op op) {
    if (op == ORR_SUM || op == ORR_MEAN) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += a[i * step];
        return op == ORR_MEAN ? s / (double)n : s;
    }
    double m = a[0];
    for (int64_t i = 1; i < n; i++) {
        double x = a[i * step];
        if (x != x || (op == ORR_AMAX ? x > m : x < m)) m = x;
    }
    return m;
}

void orr_ref_reduce(float *out, const float *a, int64_t outer, int64_t n, int64_t inner, orr_reduce_op op) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++)
            out[o * inner + j] = (float)reduce_strided(a + o * n * inner + j, n, inner, op);
}

double orr_ref_reduce_all(const float *a, int64_t n, orr_reduce_op op) {
    return reduce_strided(a, n, 1, op);
}

int64_t orr_ref_count_nonfinite(const float *a, int64_t n) {
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) count += !isfinite(a[i]);
    return count;
}

void orr_ref_softmax(float *out, const float *a, int64_t outer, int64_t n, int64_t inner) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *x = a + o * n * inner + j;
            float *y = out + o * n * inner + j;
            float m = -INFINITY;
            for (int64_t i = 0; i < n; i++)
                if (x[i * inner] > m) m = x[i * inner];
            double s = 0;
            for (int64_t i = 0; i < n; i++) {
                y[i * inner] = expf(x[i * inner] - m);
                s += y[i * inner];
            }
            for (int64_t i = 0; i < n; i++) y[i * inner] = (float)(y[i * inner] / s);
        }
}

/* The input index for output index o along a dim of size n padded by
 * `before`, or -1 for the constant. */
static int64_t pad_source(int64_t o, int64_t n, int64_t before, orr_pad_mode mode) {
    int64_t i = o - before;
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case ORR_PAD_CONSTANT: return -1;
    case ORR_PAD_REPLICATE: return i < 0 ? 0 : n - 1;
    case ORR_PAD_REFLECT: return i < 0 ? -i : 2 * (n - 1) - i;
    }
    return -1;
}

void orr_ref_pad(float *out, const float *in, int ndim, const int64_t *in_shape, const int64_t *pads,
                 orr_pad_mode mode, float value) {
    int64_t total = 1;
    for (int d = 0; d < ndim; d++) total *= in_shape[d] + pads[2 * d] + pads[2 * d + 1];
    for (int64_t o = 0; o < total; o++) {
        int64_t rest = o, src = 0, step = 1;
        for (int d = ndim - 1; d >= 0 && src >= 0; d--) {
            int64_t size = in_shape[d] + pads[2 * d] + pads[2 * d + 1];
            int64_t i = pad_source(rest % size, in_shape[d], pads[2 * d], mode);
            rest /= size;
            src = i < 0 ? -1 : src + i * step;
            step *= in_shape[d];
        }
        out[o] = src < 0 ? value : in[src];
    }
}
