/* video_scale.c — pictures of any pixel format and size to packed frames
 * of one size (swscale, bicubic), with the centre crop of ORR_FIT_COVER and
 * alpha composited over white; orr_frames_resize on top of it. */
#include "media.h"

#if ORR_HAVE_FFMPEG
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Full-resolution chroma and exact rounding: without them the converter
 * costs 4 dB of PSNR on smooth frames (43 -> 39 dB through H.264), for
 * twice the rate at 704x1280. */
#define SCALE_FLAGS (SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP)

struct orr_picture_scaler {
    struct SwsContext *sws;
    int out_width, out_height, out_channels;
    orr_fit fit;
    uint8_t *scratch; /* the scaled picture before the crop; padded rows */
    size_t scratch_size;
};

static enum AVPixelFormat packed_format(int channels) {
    switch (channels) {
    case 1: return AV_PIX_FMT_GRAY8;
    case 3: return AV_PIX_FMT_RGB24;
    case 4: return AV_PIX_FMT_RGBA;
    default: return AV_PIX_FMT_NONE;
    }
}

orr_status orr_picture_scaler_create(int out_width, int out_height, int out_channels, orr_fit fit,
                                     orr_picture_scaler **out) {
    if (out_width < 1 || out_height < 1 || packed_format(out_channels) == AV_PIX_FMT_NONE)
        return orr_error(ORR_ERR_ARGUMENT, "picture scaler: %dx%d with %d channels is not a frame size", out_width,
                         out_height, out_channels);
    if (fit != ORR_FIT_COVER && fit != ORR_FIT_STRETCH)
        return orr_error(ORR_ERR_ARGUMENT, "picture scaler: fit %d is not an orr_fit", (int)fit);
    orr_picture_scaler *s = calloc(1, sizeof *s);
    if (!s) return orr_error(ORR_ERR_MEMORY, "picture scaler: out of memory");
    s->out_width = out_width;
    s->out_height = out_height;
    s->out_channels = out_channels;
    s->fit = fit;
    *out = s;
    return ORR_OK;
}

void orr_picture_scaler_free(orr_picture_scaler *s) {
    if (!s) return;
    sws_freeContext(s->sws);
    av_free(s->scratch);
    free(s);
}

/* The size to scale to before the centre crop. */
static void scaled_size(const orr_picture_scaler *s, int src_w, int src_h, int *w, int *h) {
    *w = s->out_width;
    *h = s->out_height;
    if (s->fit != ORR_FIT_COVER) return;
    double scale = fmax((double)s->out_width / src_w, (double)s->out_height / src_h);
    *w = (int)fmax(s->out_width, lround(src_w * scale));
    *h = (int)fmax(s->out_height, lround(src_h * scale));
}

static bool is_yuv(const AVPixFmtDescriptor *d) {
    return !(d->flags & AV_PIX_FMT_FLAG_RGB) && !(d->flags & AV_PIX_FMT_FLAG_PAL) && d->nb_components >= 3;
}

orr_status orr_picture_scale(orr_picture_scaler *s, const uint8_t *const src[4], const int src_stride[4],
                             int src_width, int src_height, enum AVPixelFormat src_format, int colorspace,
                             bool full_range, uint8_t *dst, int64_t dst_stride) {
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(src_format);
    if (!desc || src_width < 1 || src_height < 1)
        return orr_error(ORR_ERR_FORMAT, "picture scaler: a %dx%d picture in pixel format %d", src_width, src_height,
                         (int)src_format);
    bool composite = (desc->flags & AV_PIX_FMT_FLAG_ALPHA) && s->out_channels == 3;
    int mid_channels = composite ? 4 : s->out_channels;
    int w, h;
    scaled_size(s, src_width, src_height, &w, &h);
    s->sws = sws_getCachedContext(s->sws, src_width, src_height, src_format, w, h, packed_format(mid_channels),
                                  SCALE_FLAGS, NULL, NULL, NULL);
    if (!s->sws)
        return orr_error(ORR_ERR_UNSUPPORTED, "picture scaler: swscale cannot convert %s %dx%d to %s %dx%d",
                         desc->name, src_width, src_height, av_get_pix_fmt_name(packed_format(mid_channels)), w, h);
    if (is_yuv(desc)) {
        const int *coefficients = sws_getCoefficients(colorspace);
        sws_setColorspaceDetails(s->sws, coefficients, full_range, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                 1 << 16, 1 << 16);
    }
    /* swscale may write past the end of a row, so it writes into padded
     * scratch rows and the wanted region is copied out. */
    int line = (w * mid_channels + 63) / 64 * 64 + 64;
    size_t need = (size_t)line * (h + 1);
    if (need > s->scratch_size) {
        av_free(s->scratch);
        s->scratch_size = 0;
        if (!(s->scratch = av_malloc(need)))
            return orr_error(ORR_ERR_MEMORY, "picture scaler: out of memory for a %dx%d picture", w, h);
        s->scratch_size = need;
    }
    uint8_t *planes[4] = {s->scratch};
    int strides[4] = {line};
    if (sws_scale(s->sws, src, src_stride, 0, src_height, planes, strides) != h)
        return orr_error(ORR_ERR_FORMAT, "picture scaler: swscale failed on a %s %dx%d picture", desc->name,
                         src_width, src_height);
    int x0 = (w - s->out_width) / 2, y0 = (h - s->out_height) / 2;
    for (int y = 0; y < s->out_height; y++) {
        const uint8_t *in = s->scratch + (size_t)(y0 + y) * line + (size_t)x0 * mid_channels;
        uint8_t *o = dst + y * dst_stride;
        if (!composite) {
            memcpy(o, in, (size_t)s->out_width * s->out_channels);
            continue;
        }
        for (int x = 0; x < s->out_width; x++, in += 4, o += 3) {
            int a = in[3];
            for (int c = 0; c < 3; c++) o[c] = (uint8_t)((in[c] * a + 255 * (255 - a) + 127) / 255);
        }
    }
    return ORR_OK;
}

orr_status orr_frames_resize(orr_tensor *out, const orr_tensor *frames, orr_fit fit) {
    const char *op = "frames_resize";
    char a[200], b[200];
    int64_t t, h, w, c, ot, oh, ow, oc;
    orr_status status = orr_frames_check(op, "frames", frames, true, &t, &h, &w, &c);
    if (status || (status = orr_frames_check(op, "out", out, true, &ot, &oh, &ow, &oc))) return status;
    if (out->ndim != frames->ndim || ot != t || oc != c)
        return orr_error(ORR_ERR_SHAPE, "%s: out is %s and frames %s; they must agree in all but H and W", op,
                         orr_tensor_describe(out, a, sizeof a), orr_tensor_describe(frames, b, sizeof b));
    if (packed_format((int)c) == AV_PIX_FMT_NONE)
        return orr_error(ORR_ERR_SHAPE, "%s: frames are %s; resizing takes 1, 3 or 4 channels", op,
                         orr_tensor_describe(frames, b, sizeof b));
    if (h > INT32_MAX / 8 || w > INT32_MAX / 8 || oh > INT32_MAX / 8 || ow > INT32_MAX / 8)
        return orr_error(ORR_ERR_SHAPE, "%s: %s to %s is beyond swscale's sizes", op,
                         orr_tensor_describe(frames, b, sizeof b), orr_tensor_describe(out, a, sizeof a));
    orr_picture_scaler *scaler = NULL;
    orr_tensor *src = NULL, *dst = NULL;
    if ((status = orr_picture_scaler_create((int)ow, (int)oh, (int)c, fit, &scaler))) return status;
    if ((status = orr_tensor_contiguous(&src, frames))) goto done;
    if (orr_tensor_is_contiguous(out)) {
        status = orr_tensor_view(&dst, out);
    } else {
        status = orr_tensor_empty(&dst, ORR_U8, out->ndim, out->shape);
    }
    if (status) goto done;
    for (int64_t i = 0; i < t && !status; i++) {
        const uint8_t *planes[4] = {(const uint8_t *)src->data + i * h * w * c};
        int strides[4] = {(int)(w * c)};
        status = orr_picture_scale(scaler, planes, strides, (int)w, (int)h, packed_format((int)c), 0, true,
                                   (uint8_t *)dst->data + i * oh * ow * c, ow * c);
    }
    if (!status && dst->data != out->data) status = orr_copy(out, dst);
done:
    if (status) orr_error_context(status, "%s: ", op);
    orr_picture_scaler_free(scaler);
    orr_tensor_free(src);
    orr_tensor_free(dst);
    return status;
}
#endif
