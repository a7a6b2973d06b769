/* control.c — the Transfer1 control videos made from an RGB video, as the
 * official deterministic augmentors (diffusion/datasets/augmentors/
 * control_input.py get_augmentor_for_eval with a preset, and
 * config/transfer/augmentors.py BilateralOnlyBlurAugmentorConfig):
 *
 *   edge: cv2.Canny(frame, lo, hi) replicated to 3 channels;
 *   vis:  per frame INTER_AREA down by k, cv2.bilateralFilter, INTER_LINEAR
 *         back up (the "blur"), then the whole video down by the down/up
 *         factor and back with torchvision's antialiased bicubic resize. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

static const char *const preset_names[] = {"none", "very_low", "low", "medium", "high", "very_high"};

typedef struct preset_values {
    int canny_lo, canny_hi;
    int bilateral_d, sigma_color, sigma_space;
    int blur_downscale; /* INTER_AREA factor around the bilateral filter */
    int downup;         /* the bicubic down/up factor */
} preset_values;

/* AddControlInputEdge's thresholds; BilateralOnlyBlurAugmentorConfig;
 * AddControlInputBlurDownUp's presets with factors 4..16 */
static const preset_values presets[] = {
    {20, 50, 1, 1, 1, 1, 1},         {20, 50, 15, 100, 50, 1, 4},     {50, 100, 15, 100, 50, 4, 4},
    {100, 200, 30, 150, 100, 2, 10}, {200, 300, 50, 300, 150, 1, 16}, {300, 400, 50, 300, 150, 4, 16},
};

const char *orr_control_preset_name(orr_control_preset preset) {
    return (unsigned)preset <= ORR_PRESET_VERY_HIGH ? preset_names[preset] : NULL;
}

orr_status orr_control_preset_from_name(const char *name, orr_control_preset *out) {
    for (int p = 0; name && p <= ORR_PRESET_VERY_HIGH; p++)
        if (!strcmp(name, preset_names[p])) {
            *out = (orr_control_preset)p;
            return ORR_OK;
        }
    return orr_error(ORR_ERR_NOT_FOUND, "control preset: unknown '%s' (none, very_low, low, medium, high, very_high)",
                     name ? name : "(null)");
}

/* ---- single images ------------------------------------------------------------ */

static orr_status check_image(const char *op, const orr_tensor *image, int *h, int *w, int *c) {
    char a[200];
    orr_status st = orr_check_cpu(op, "image", image);
    if (st) return st;
    if (image->dtype != ORR_U8)
        return orr_error(ORR_ERR_DTYPE, "%s: image is %s, expected u8", op, orr_tensor_describe(image, a, sizeof a));
    if (image->ndim != 3 || (image->shape[2] != 1 && image->shape[2] != 3) || image->shape[0] < 1 ||
        image->shape[1] < 1 || image->shape[0] > 1 << 15 || image->shape[1] > 1 << 15)
        return orr_error(ORR_ERR_SHAPE, "%s: image is %s, expected [H,W,C] with C 1 or 3", op,
                         orr_tensor_describe(image, a, sizeof a));
    *h = (int)image->shape[0], *w = (int)image->shape[1], *c = (int)image->shape[2];
    return ORR_OK;
}

/* A contiguous u8 view or copy of t. */
static orr_status contiguous_u8(const orr_tensor *t, orr_tensor **out) {
    return orr_tensor_is_contiguous(t) ? orr_tensor_view(out, t) : orr_tensor_clone(out, t, ORR_U8);
}

orr_status orr_canny(orr_tensor *edges, const orr_tensor *image, double low, double high) {
    char a[200];
    int h = 0, w = 0, c = 0;
    orr_status st = check_image("canny", image, &h, &w, &c);
    if (st) return st;
    if (!edges || edges->dtype != ORR_U8 || edges->ndim != 2 || edges->shape[0] != h || edges->shape[1] != w ||
        !orr_tensor_is_contiguous(edges))
        return orr_error(ORR_ERR_SHAPE, "canny: edges is %s, expected a contiguous u8 [%d,%d]",
                         edges ? orr_tensor_describe(edges, a, sizeof a) : "NULL", h, w);
    if (!isfinite(low) || !isfinite(high)) return orr_error(ORR_ERR_ARGUMENT, "canny: thresholds %g, %g", low, high);
    orr_tensor *img;
    if ((st = contiguous_u8(image, &img))) return st;
    st = orr_pre_canny(edges->data, img->data, h, w, c, low, high);
    orr_tensor_free(img);
    return st;
}

orr_status orr_bilateral_filter(orr_tensor *out, const orr_tensor *image, int d, double sigma_color,
                                double sigma_space) {
    char a[200];
    int h = 0, w = 0, c = 0;
    orr_status st = check_image("bilateral_filter", image, &h, &w, &c);
    if (st) return st;
    if (!out || out->dtype != ORR_U8 || !orr_tensor_same_shape(out, image) || !orr_tensor_is_contiguous(out))
        return orr_error(ORR_ERR_SHAPE, "bilateral_filter: out is %s, expected a contiguous u8 [%d,%d,%d]",
                         out ? orr_tensor_describe(out, a, sizeof a) : "NULL", h, w, c);
    if (!isfinite(sigma_color) || !isfinite(sigma_space) || d > 1 << 12)
        return orr_error(ORR_ERR_ARGUMENT, "bilateral_filter: d %d, sigmas %g, %g", d, sigma_color, sigma_space);
    orr_tensor *img;
    if ((st = contiguous_u8(image, &img))) return st;
    st = orr_pre_bilateral(out->data, img->data, h, w, c, d, sigma_color, sigma_space);
    orr_tensor_free(img);
    return st;
}

/* ---- videos ---------------------------------------------------------------------- */

typedef enum control_kind { EDGE, VIS_BLUR, VIS } control_kind;

typedef struct video_job {
    const uint8_t *video; /* [3, T, H, W] */
    uint8_t *out;
    int T, H, W;
    const preset_values *p;
    control_kind kind;
    orr_status st;
} video_job;

/* Frame t of a [3, T, H, W] video, interleaved [H, W, 3], and back. */
static void gather(uint8_t *img, const uint8_t *video, int T, int H, int W, int t) {
    size_t plane = (size_t)H * W;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < plane; i++) img[i * 3 + c] = video[((size_t)c * T + t) * plane + i];
}

static void scatter(uint8_t *video, const uint8_t *img, int T, int H, int W, int t) {
    size_t plane = (size_t)H * W;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < plane; i++) video[((size_t)c * T + t) * plane + i] = img[i * 3 + c];
}

/* Blur's frame pipeline: INTER_AREA down, bilateral, INTER_LINEAR up. */
static orr_status blur_frame(uint8_t *dst, const uint8_t *img, int H, int W, const preset_values *p) {
    int k = p->blur_downscale, h = H / k, w = W / k;
    uint8_t *small = k > 1 ? malloc((size_t)h * w * 3) : NULL, *filtered = k > 1 ? malloc((size_t)h * w * 3) : dst;
    if (k > 1 && (!small || !filtered)) {
        free(small);
        if (filtered != dst) free(filtered);
        return orr_error(ORR_ERR_MEMORY, "control vis: out of host memory");
    }
    if (k > 1) orr_pre_area_down(small, img, H, W, 3, k);
    orr_status st =
        orr_pre_bilateral(filtered, k > 1 ? small : img, h, w, 3, p->bilateral_d, p->sigma_color, p->sigma_space);
    if (!st && k > 1) st = orr_pre_linear(dst, H, W, filtered, h, w, 3);
    free(small);
    if (filtered != dst) free(filtered);
    return st;
}

static void video_frames(void *user, int64_t begin, int64_t end) {
    video_job *j = user;
    int H = j->H, W = j->W;
    size_t frame = (size_t)H * W * 3;
    uint8_t *img = malloc(frame), *res = malloc(frame);
    orr_status st = img && res ? ORR_OK : orr_error(ORR_ERR_MEMORY, "control: out of host memory");
    for (int64_t t = begin; t < end && !st; t++) {
        gather(img, j->video, j->T, H, W, (int)t);
        if (j->kind == EDGE) {
            st = orr_pre_canny(res, img, H, W, 3, j->p->canny_lo, j->p->canny_hi);
            for (size_t i = (size_t)H * W; !st && i-- > 0;) res[i * 3] = res[i * 3 + 1] = res[i * 3 + 2] = res[i];
        } else {
            st = blur_frame(res, img, H, W, j->p);
        }
        if (!st) scatter(j->out, res, j->T, H, W, (int)t);
    }
    free(img), free(res);
    if (st) j->st = st; /* any failure is reported; they are all "out of memory" */
}

/* The down/up pass of every plane, in place on out. */
static orr_status downup(uint8_t *video, int T, int H, int W, int factor) {
    int h = (int)((double)H / factor), w = (int)((double)W / factor);
    if (h < 1 || w < 1)
        return orr_error(ORR_ERR_SHAPE, "control vis: %dx%d frames are too small for the down/up factor %d", W, H,
                         factor);
    uint8_t *small = malloc((size_t)h * w);
    if (!small) return orr_error(ORR_ERR_MEMORY, "control vis: out of host memory");
    orr_status st = ORR_OK;
    for (int p = 0; p < 3 * T && !st; p++) {
        uint8_t *plane = video + (size_t)p * H * W;
        st = orr_pre_bicubic_aa(small, h, w, plane, H, W);
        if (!st) st = orr_pre_bicubic_aa(plane, H, W, small, h, w);
    }
    free(small);
    return st;
}

static orr_status control_video(const char *op, orr_tensor *out, const orr_tensor *video, orr_control_preset preset,
                                control_kind kind) {
    char a[200], b[200];
    if (!out || !video) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL argument", op);
    if ((unsigned)preset > ORR_PRESET_VERY_HIGH)
        return orr_error(ORR_ERR_ARGUMENT, "%s: preset %d is invalid", op, preset);
    orr_status st = orr_check_cpu(op, "video", video);
    if (!st) st = orr_check_cpu(op, "out", out);
    if (st) return st;
    if (video->dtype != ORR_U8 || video->ndim != 4 || video->shape[0] != 3 || video->shape[1] < 1 ||
        video->shape[2] < 1 || video->shape[3] < 1 || video->shape[2] > 1 << 15 || video->shape[3] > 1 << 15)
        return orr_error(ORR_ERR_SHAPE, "%s: video is %s, expected u8 [3,T,H,W] (RGB, as the official C,T,H,W)", op,
                         orr_tensor_describe(video, a, sizeof a));
    if (out->dtype != ORR_U8 || !orr_tensor_same_shape(out, video))
        return orr_error(ORR_ERR_SHAPE, "%s: out is %s, expected u8 %s", op, orr_tensor_describe(out, a, sizeof a),
                         orr_shape_str(4, video->shape, b, sizeof b));
    int T = (int)video->shape[1], H = (int)video->shape[2], W = (int)video->shape[3];
    /* the official first shrinks frames past 1280x704 (resize_frames with
     * its default 16:9 size, INTER_AREA); the pipeline's are that size */
    if (W > 1280 || H > 704)
        return orr_error(ORR_ERR_UNSUPPORTED,
                         "%s: %dx%d frames are larger than the 1280x704 the official code shrinks them to first; "
                         "resize them to fit",
                         op, W, H);
    const preset_values *p = &presets[preset];
    int k = p->blur_downscale;
    if (kind != EDGE && (H % k || W % k || H / k < 1 || W / k < 1))
        return orr_error(ORR_ERR_UNSUPPORTED, "%s: %dx%d frames do not divide by the preset's blur downscale %d", op, W,
                         H, k);
    orr_tensor *in;
    if ((st = contiguous_u8(video, &in))) return st;
    orr_tensor *dst = out;
    if (!orr_tensor_is_contiguous(out) && (st = orr_tensor_empty(&dst, ORR_U8, 4, out->shape))) {
        orr_tensor_free(in);
        return st;
    }
    video_job j = {in->data, dst->data, T, H, W, p, kind, ORR_OK};
    orr_parallel_for(T, video_frames, &j);
    st = j.st;
    if (!st && kind == VIS) st = downup(dst->data, T, H, W, p->downup);
    if (!st && dst != out) st = orr_copy(out, dst);
    if (dst != out) orr_tensor_free(dst);
    orr_tensor_free(in);
    return st;
}

orr_status orr_control_edge(orr_tensor *out, const orr_tensor *video, orr_control_preset preset) {
    return control_video("control_edge", out, video, preset, EDGE);
}

orr_status orr_control_vis_blur(orr_tensor *out, const orr_tensor *video, orr_control_preset preset) {
    return control_video("control_vis_blur", out, video, preset, VIS_BLUR);
}

orr_status orr_control_vis(orr_tensor *out, const orr_tensor *video, orr_control_preset preset) {
    return control_video("control_vis", out, video, preset, VIS);
}
