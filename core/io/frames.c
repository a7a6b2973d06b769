/* frames.c — frame tensors between the decoded layout (u8 [T,H,W,C]) and
 * the models' (float [C,T,H,W] in [-1,1]), and frame-rate resampling.
 * The scale 127.5 maps 0..255 onto [-1,1] exactly, as the Cosmos
 * tokenizers' numpy2tensor does (x/255*2-1). */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "media.h"

static bool is_float(orr_dtype d) { return d == ORR_F32 || d == ORR_F64 || d == ORR_BF16 || d == ORR_F16; }

orr_status orr_frames_check(const char *op, const char *arg, const orr_tensor *frames, bool allow_image,
                            int64_t *t, int64_t *h, int64_t *w, int64_t *c) {
    char desc[200];
    orr_status status = orr_check_cpu(op, arg, frames);
    if (status) return status;
    orr_tensor_describe(frames, desc, sizeof desc);
    if (frames->dtype != ORR_U8) return orr_error(ORR_ERR_DTYPE, "%s: %s is %s; frames are u8", op, arg, desc);
    int image = allow_image && frames->ndim == 3;
    if (frames->ndim != 4 && !image)
        return orr_error(ORR_ERR_SHAPE, "%s: %s is %s; frames are [T,H,W,C]%s", op, arg, desc,
                         allow_image ? " or one [H,W,C] image" : "");
    const int64_t *s = frames->shape + (image ? 0 : 1);
    *t = image ? 1 : frames->shape[0];
    *h = s[0];
    *w = s[1];
    *c = s[2];
    if (*t < 1 || *h < 1 || *w < 1 || *c < 1)
        return orr_error(ORR_ERR_SHAPE, "%s: %s is %s; every dim must be at least 1", op, arg, desc);
    return ORR_OK;
}

typedef struct layout_job {
    int64_t t, h, w, c;
    const void *src;
    void *dst;
    atomic_int nonfinite;
} layout_job;

/* One (t, y) row per index: frames row [W,C] to the model's C rows [W]. */
static void to_model_rows(void *user, int64_t begin, int64_t end) {
    layout_job *j = user;
    const uint8_t *src = j->src;
    float *dst = j->dst;
    int64_t plane = j->t * j->h * j->w;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *in = src + r * j->w * j->c;
        for (int64_t ch = 0; ch < j->c; ch++) {
            float *o = dst + ch * plane + r * j->w;
            for (int64_t x = 0; x < j->w; x++) o[x] = (float)in[x * j->c + ch] * (1.0f / 127.5f) - 1.0f;
        }
    }
}

static void from_model_rows(void *user, int64_t begin, int64_t end) {
    layout_job *j = user;
    const float *src = j->src;
    uint8_t *dst = j->dst;
    int64_t plane = j->t * j->h * j->w;
    for (int64_t r = begin; r < end; r++) {
        uint8_t *o = dst + r * j->w * j->c;
        for (int64_t ch = 0; ch < j->c; ch++) {
            const float *in = src + ch * plane + r * j->w;
            for (int64_t x = 0; x < j->w; x++) {
                float v = (in[x] + 1.0f) * 127.5f;
                if (!isfinite(in[x])) {
                    atomic_store(&j->nonfinite, 1);
                    v = 0.0f;
                }
                o[x * j->c + ch] = (uint8_t)(v <= 0.0f ? 0.0f : v >= 255.0f ? 255.0f : v + 0.5f);
            }
        }
    }
}

/* Checks that model is [C,T,H,W] to match frames [T,H,W,C]. */
static orr_status check_model_shape(const char *op, const char *arg, const orr_tensor *model, int64_t t, int64_t h,
                                    int64_t w, int64_t c) {
    char desc[200], want[120];
    orr_status status = orr_check_cpu(op, arg, model);
    if (status) return status;
    int64_t shape[4] = {c, t, h, w};
    if (model->ndim != 4 || memcmp(model->shape, shape, sizeof shape) != 0)
        return orr_error(ORR_ERR_SHAPE, "%s: %s is %s but the frames need %s ([C,T,H,W])", op, arg,
                         orr_tensor_describe(model, desc, sizeof desc), orr_shape_str(4, shape, want, sizeof want));
    if (!is_float(model->dtype))
        return orr_error(ORR_ERR_DTYPE, "%s: %s is %s; the model layout is a float dtype", op, arg,
                         orr_tensor_describe(model, desc, sizeof desc));
    return ORR_OK;
}

orr_status orr_frames_to_model(orr_tensor *out, const orr_tensor *frames) {
    const char *op = "frames_to_model";
    int64_t t, h, w, c;
    orr_status status = orr_frames_check(op, "frames", frames, false, &t, &h, &w, &c);
    if (status || (status = check_model_shape(op, "out", out, t, h, w, c))) return status;
    orr_tensor *dense = NULL, *tmp = NULL;
    float *dst;
    if ((status = orr_tensor_contiguous(&dense, frames))) return status;
    if ((status = orr_output_f32_begin(out, &tmp, &dst))) {
        orr_tensor_free(dense);
        return status;
    }
    layout_job job = {.t = t, .h = h, .w = w, .c = c, .src = dense->data, .dst = dst};
    orr_parallel_for(t * h, to_model_rows, &job);
    orr_tensor_free(dense);
    return orr_output_f32_end(out, tmp);
}

/* Names the first non-finite element of x for the error message. */
static orr_status nonfinite_error(const char *op, const float *x, int64_t c, int64_t t, int64_t h, int64_t w) {
    int64_t n = c * t * h * w, i = 0;
    while (i < n && isfinite(x[i])) i++;
    int64_t iw = i % w, ih = i / w % h, it = i / w / h % t, ic = i / w / h / t;
    return orr_error(ORR_ERR_NONFINITE, "frames_from_model: x[%lld,%lld,%lld,%lld] is %g; frames need finite values",
                     (long long)ic, (long long)it, (long long)ih, (long long)iw, (double)x[i < n ? i : 0]);
}

orr_status orr_frames_from_model(orr_tensor *out, const orr_tensor *x) {
    const char *op = "frames_from_model";
    int64_t t, h, w, c;
    orr_status status = orr_frames_check(op, "out", out, false, &t, &h, &w, &c);
    if (status || (status = check_model_shape(op, "x", x, t, h, w, c))) return status;
    orr_tensor *src_tmp = NULL, *dst_tmp = NULL;
    const float *src;
    if ((status = orr_input_f32(x, &src_tmp, &src))) return status;
    uint8_t *dst = out->data;
    if (!orr_tensor_is_contiguous(out)) {
        if ((status = orr_tensor_empty(&dst_tmp, ORR_U8, 4, out->shape))) {
            orr_tensor_free(src_tmp);
            return status;
        }
        dst = dst_tmp->data;
    }
    layout_job job = {.t = t, .h = h, .w = w, .c = c, .src = src, .dst = dst};
    orr_parallel_for(t * h, from_model_rows, &job);
    if (atomic_load(&job.nonfinite)) status = nonfinite_error(op, src, c, t, h, w);
    if (!status && dst_tmp) status = orr_copy(out, dst_tmp);
    orr_tensor_free(dst_tmp);
    orr_tensor_free(src_tmp);
    return status;
}

int64_t orr_frames_source_index(int64_t j, double src_fps, double dst_fps) {
    /* The epsilon settles exact halves (30 -> 24 fps: 2.5) the same way
     * whatever the rounding of the division. */
    return (int64_t)floor((double)j * src_fps / dst_fps + 0.5 + 1e-9);
}

/* Checks that out and frames agree except along dim. */
static orr_status check_resample(const char *op, orr_tensor *out, const orr_tensor *frames, int *dim) {
    char a[200], b[200];
    orr_status status = orr_check_cpu(op, "out", out);
    if (status || (status = orr_check_cpu(op, "frames", frames))) return status;
    if ((status = orr_norm_dim(op, frames->ndim, dim))) return status;
    bool same = out->ndim == frames->ndim && frames->shape[*dim] >= 1;
    for (int d = 0; same && d < out->ndim; d++) same = d == *dim || out->shape[d] == frames->shape[d];
    if (!same)
        return orr_error(ORR_ERR_SHAPE, "%s: out is %s and frames %s; they must agree except along dim %d", op,
                         orr_tensor_describe(out, a, sizeof a), orr_tensor_describe(frames, b, sizeof b), *dim);
    return ORR_OK;
}

static orr_status copy_frame(orr_tensor *out, const orr_tensor *frames, int dim, int64_t j, int64_t k) {
    orr_tensor *dst = NULL, *src = NULL;
    orr_status status = orr_tensor_select(&dst, out, dim, j);
    if (!status) status = orr_tensor_select(&src, frames, dim, k);
    if (!status) status = orr_copy(dst, src);
    orr_tensor_free(dst);
    orr_tensor_free(src);
    return status;
}

orr_status orr_frames_resample(orr_tensor *out, const orr_tensor *frames, int dim, double src_fps,
                               double dst_fps) {
    const char *op = "frames_resample";
    orr_status status = check_resample(op, out, frames, &dim);
    if (status) return status;
    if (!(src_fps > 0 && dst_fps > 0 && isfinite(src_fps) && isfinite(dst_fps)))
        return orr_error(ORR_ERR_ARGUMENT, "%s: src_fps %g and dst_fps %g must be positive", op, src_fps, dst_fps);
    int64_t last = frames->shape[dim] - 1;
    for (int64_t j = 0; j < out->shape[dim] && !status; j++) {
        int64_t k = orr_frames_source_index(j, src_fps, dst_fps);
        status = copy_frame(out, frames, dim, j, k < last ? k : last);
    }
    return status;
}

orr_status orr_frames_spread(orr_tensor *out, const orr_tensor *frames, int dim) {
    orr_status status = check_resample("frames_spread", out, frames, &dim);
    if (status) return status;
    int64_t n = out->shape[dim], last = frames->shape[dim] - 1;
    for (int64_t j = 0; j < n && !status; j++) {
        int64_t k = n > 1 ? (int64_t)floor((double)j * (double)last / (double)(n - 1) + 0.5) : 0;
        status = copy_frame(out, frames, dim, j, k);
    }
    return status;
}
