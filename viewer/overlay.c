/* overlay.c — a weight map (a control's spatiotemporal weights, a mask)
 * drawn as a translucent heatmap over a pane, and read back under the
 * cursor. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "viewer.h"

/* Opacity of the heatmap over the frame. */
enum { OVERLAY_ALPHA = 160 };

/* Stops of the colour map (dark purple through red and orange to pale
 * yellow, like matplotlib's inferno), evenly spaced over [0,1]. */
static const uint8_t heat_stops[][3] = {
    {0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164},
};

static void heat_color(float t, uint8_t rgb[3]) {
    enum { N = sizeof heat_stops / sizeof heat_stops[0] };
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float x = t * (N - 1);
    int i = (int)x;
    if (i >= N - 1) i = N - 2;
    float f = x - i;
    for (int j = 0; j < 3; j++) rgb[j] = (uint8_t)lroundf(heat_stops[i][j] * (1 - f) + heat_stops[i + 1][j] * f);
}

void viewer_overlay_free(viewer_overlay *o) {
    orr_tensor_free(o->weights);
    if (o->texture) SDL_DestroyTexture(o->texture);
    memset(o, 0, sizeof *o);
    o->shown_frame = -1;
}

orr_status viewer_overlay_set(viewer_overlay *o, const orr_tensor *weights, float vmin, float vmax) {
    const char *op = "viewer_set_overlay";
    char a[160];
    if (!weights) return orr_error(ORR_ERR_ARGUMENT, "%s: weights is NULL", op);
    orr_status st = orr_check_cpu(op, "weights", weights);
    if (st) return st;
    if ((weights->ndim != 2 && weights->ndim != 3) || orr_tensor_numel(weights) == 0)
        return orr_error(ORR_ERR_SHAPE, "%s: weights is %s, expected [T,H,W] or [H,W]", op,
                         orr_tensor_describe(weights, a, sizeof a));
    orr_tensor *view = NULL, *dense = NULL;
    st = weights->ndim == 2 ? orr_tensor_unsqueeze(&view, weights, 0) : orr_tensor_view(&view, weights);
    if (!st) st = orr_tensor_clone(&dense, view, ORR_F32);
    orr_tensor_free(view);
    if (st) return st;
    if (!(vmin < vmax)) {
        const float *w = dense->data;
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0, n = orr_tensor_numel(dense); i < n; i++)
            if (isfinite(w[i])) {
                lo = w[i] < lo ? w[i] : lo;
                hi = w[i] > hi ? w[i] : hi;
            }
        if (!(lo <= hi)) lo = hi = 0; /* nothing finite */
        vmin = lo;
        vmax = hi > lo ? hi : lo + 1;
    }
    viewer_overlay_free(o);
    o->weights = dense;
    o->vmin = vmin;
    o->vmax = vmax;
    return ORR_OK;
}

int64_t viewer_overlay_frame(const viewer_overlay *o, int64_t pf, int64_t n) {
    int64_t t = o->weights->shape[0];
    if (t == 1 || n <= 0) return 0;
    int64_t k = t == n ? pf : pf * t / n;
    return k < 0 ? 0 : k >= t ? t - 1 : k;
}

orr_status viewer_overlay_refresh(orr_viewer *v, viewer_overlay *o, int64_t frame) {
    if (frame == o->shown_frame && o->texture) return ORR_OK;
    int64_t h = o->weights->shape[1], w = o->weights->shape[2];
    if (!o->texture) {
        o->texture = SDL_CreateTexture(v->renderer, SDL_PIXELFORMAT_RGBA32, SDL_TEXTUREACCESS_STREAMING, (int)w, (int)h);
        if (!o->texture)
            return orr_error(ORR_ERR_MEMORY, "viewer: cannot make a %lldx%lld overlay texture: %s", (long long)w,
                             (long long)h, SDL_GetError());
        SDL_SetTextureBlendMode(o->texture, SDL_BLENDMODE_BLEND);
        SDL_SetTextureScaleMode(o->texture, SDL_ScaleModeNearest); /* each weight a flat cell, as read back */
    }
    void *pixels;
    int pitch;
    if (SDL_LockTexture(o->texture, NULL, &pixels, &pitch))
        return orr_error(ORR_ERR_IO, "viewer: cannot update the overlay: %s", SDL_GetError());
    const float *src = (const float *)o->weights->data + frame * h * w;
    float scale = 1.0f / (o->vmax - o->vmin);
    for (int64_t y = 0; y < h; y++) {
        uint8_t *row = (uint8_t *)pixels + y * pitch;
        for (int64_t x = 0; x < w; x++) {
            float value = src[y * w + x];
            heat_color((value - o->vmin) * scale, row + 4 * x);
            row[4 * x + 3] = isfinite(value) ? OVERLAY_ALPHA : 0;
        }
    }
    SDL_UnlockTexture(o->texture);
    o->shown_frame = frame;
    return ORR_OK;
}

float viewer_overlay_value(const viewer_overlay *o, int64_t frame, double u, double w) {
    int64_t h = o->weights->shape[1], wd = o->weights->shape[2];
    if (!(u >= 0 && u < 1 && w >= 0 && w < 1)) return NAN;
    int64_t x = (int64_t)(u * wd), y = (int64_t)(w * h);
    return ((const float *)o->weights->data)[(frame * h + y) * wd + x];
}
