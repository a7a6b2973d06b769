/* panes.c — what each pane shows: frames shared with the caller or
 * converted once to u8 RGB, the difference of two panes, the previews and
 * result of a running generation; and the textures that hold the frame on
 * screen now. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "viewer.h"
#include "world_job.h"

const char *viewer_panes_text(const orr_viewer *v, char *buf, size_t size) {
    if (v->n_panes == 0) snprintf(buf, size, "the viewer has no panes yet");
    else snprintf(buf, size, "the viewer has panes 0..%d", v->n_panes - 1);
    return buf;
}

void viewer_pane_free(viewer_pane *p) {
    orr_tensor_free(p->frames);
    if (p->texture) SDL_DestroyTexture(p->texture);
    viewer_overlay_free(&p->overlay);
    memset(p, 0, sizeof *p);
}

/* u8 [T,H,W,C] (C 1, 3 or 4) to u8 [T,H,W,3]: gray repeated, alpha dropped. */
static orr_status rgb_from_channels(const orr_tensor *t4, orr_tensor **out) {
    orr_tensor *dense = NULL;
    int64_t shape[4] = {t4->shape[0], t4->shape[1], t4->shape[2], 3};
    int64_t c = t4->shape[3], n = shape[0] * shape[1] * shape[2];
    orr_status st = orr_tensor_contiguous(&dense, t4);
    if (!st) st = orr_tensor_empty(out, ORR_U8, 4, shape);
    if (!st) {
        const uint8_t *src = dense->data;
        uint8_t *dst = (*out)->data;
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < 3; j++) dst[i * 3 + j] = src[i * c + (c == 1 ? 0 : j)];
    }
    orr_tensor_free(dense);
    return st;
}

orr_status viewer_frames_from_tensor(const orr_tensor *t, orr_tensor **out) {
    const char *op = "viewer_add_frames";
    char a[160];
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "%s: frames is NULL", op);
    orr_status st = orr_check_cpu(op, "frames", t);
    if (st) return st;
    orr_tensor *view = NULL, *tmp = NULL;
    bool u8 = t->dtype == ORR_U8;
    bool channels_last = u8 && (t->ndim == 3 || t->ndim == 4);
    if (channels_last) {
        int64_t c = t->shape[t->ndim - 1];
        if (c != 1 && c != 3 && c != 4)
            return orr_error(ORR_ERR_SHAPE, "%s: frames is %s; the last dim must be 1, 3 or 4 channels", op,
                             orr_tensor_describe(t, a, sizeof a));
        st = t->ndim == 3 ? orr_tensor_unsqueeze(&view, t, 0) : orr_tensor_view(&view, t);
        if (!st && c == 3 && orr_tensor_is_contiguous(view)) {
            *out = view; /* shared: no copy of a whole video */
            return ORR_OK;
        }
        if (!st) st = rgb_from_channels(view, out);
        orr_tensor_free(view);
        return st;
    }
    /* the model's layout: [3,T,H,W] or [B,3,T,H,W], batch 0 shown */
    bool model = (t->ndim == 4 || (t->ndim == 5 && t->shape[0] >= 1)) && t->shape[t->ndim - 4] == 3 &&
                 t->dtype != ORR_BOOL;
    if (!model)
        return orr_error(ORR_ERR_SHAPE,
                         "%s: frames is %s, expected u8 [T,H,W,C] or [H,W,C] (C 1, 3 or 4), or [3,T,H,W] / "
                         "[B,3,T,H,W] (float in [-1,1], or u8)", op, orr_tensor_describe(t, a, sizeof a));
    st = t->ndim == 5 ? orr_tensor_select(&view, t, 0, 0) : orr_tensor_view(&view, t);
    int64_t shape[4] = {view ? view->shape[1] : 0, view ? view->shape[2] : 0, view ? view->shape[3] : 0, 3};
    if (!st) st = orr_tensor_empty(out, ORR_U8, 4, shape);
    if (!st && u8) {
        st = orr_tensor_permute(&tmp, view, (const int[]){1, 2, 3, 0});
        if (!st) st = orr_copy(*out, tmp);
    } else if (!st) {
        st = orr_frames_from_model(*out, view);
    }
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    orr_tensor_free(tmp);
    orr_tensor_free(view);
    return st;
}

int64_t viewer_pane_frame(const orr_viewer *v, const viewer_pane *p, int64_t f) {
    if (!p->frames) return -1;
    int64_t pf = (int64_t)floor((double)f * p->fps / v->fps + 1e-9);
    if (pf >= p->length) pf = p->length - 1;
    if (pf < 0) pf = 0;
    int64_t n = p->frames->shape[0];
    return n == p->length ? pf : pf * n / p->length;
}

void viewer_timeline_update(orr_viewer *v) {
    double fps = 0;
    for (int i = 0; i < v->n_panes; i++)
        if (v->panes[i].fps > fps) fps = v->panes[i].fps;
    v->fps = fps > 0 ? fps : 24;
    int64_t frames = 0;
    for (int i = 0; i < v->n_panes; i++) {
        const viewer_pane *p = &v->panes[i];
        int64_t n = (int64_t)ceil((double)p->length * v->fps / p->fps - 1e-9);
        if (n > frames) frames = n;
    }
    v->frames = frames;
    if (v->frame >= frames) v->frame = frames > 0 ? frames - 1 : 0;
}

/* A label longer than the pane's field is cut to fit. */
static void set_label(viewer_pane *p, const char *text) {
    size_t n = strnlen(text, sizeof p->label - 1);
    memcpy(p->label, text, n);
    p->label[n] = '\0';
}

static orr_status add_pane(orr_viewer *v, pane_kind kind, const char *label, int *index, viewer_pane **out) {
    if (!v) return orr_error(ORR_ERR_ARGUMENT, "viewer: the viewer is NULL");
    if (v->n_panes == VIEWER_MAX_PANES)
        return orr_error(ORR_ERR_ARGUMENT, "viewer: it already has the most panes it can show (%d)", VIEWER_MAX_PANES);
    viewer_pane *p = &v->panes[v->n_panes];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->shown_frame = -1;
    p->overlay.shown_frame = -1;
    set_label(p, label ? label : "");
    if (index) *index = v->n_panes;
    *out = p;
    return ORR_OK;
}

/* Makes the pane added last count: on the timeline, with a label. */
static void commit_pane(orr_viewer *v, viewer_pane *p, const char *fallback) {
    if (!p->label[0]) set_label(p, fallback);
    v->n_panes++;
    viewer_timeline_update(v);
}

orr_status orr_viewer_add_frames(orr_viewer *v, const char *label, const orr_tensor *frames, double fps,
                                 int *index) {
    viewer_pane *p = NULL;
    orr_status st = add_pane(v, PANE_FRAMES, label, index, &p);
    if (!st) st = viewer_frames_from_tensor(frames, &p->frames);
    if (st) return st;
    if (p->frames->shape[0] < 1 || p->frames->shape[1] < 1 || p->frames->shape[2] < 1) {
        char a[160];
        orr_tensor_describe(frames, a, sizeof a);
        orr_tensor_free(p->frames);
        p->frames = NULL;
        return orr_error(ORR_ERR_SHAPE, "viewer_add_frames: frames %s hold no pixels", a);
    }
    p->length = p->frames->shape[0];
    p->image_h = p->frames->shape[1];
    p->image_w = p->frames->shape[2];
    p->fps = fps > 0 ? fps : 24;
    char name[32];
    snprintf(name, sizeof name, "pane %d", v->n_panes + 1);
    commit_pane(v, p, name);
    return ORR_OK;
}

orr_status orr_viewer_add_video(orr_viewer *v, const char *label, const char *path, int *index) {
    if (!v || !path) return orr_error(ORR_ERR_ARGUMENT, "viewer_add_video: viewer and path must not be NULL");
    orr_tensor *frames = NULL;
    orr_video_info info;
    orr_status st = orr_video_load(path, NULL, &frames, &info, NULL);
    if (st) return orr_error_context(st, "viewer_add_video: ");
    const char *base = strrchr(path, '/');
    st = orr_viewer_add_frames(v, label ? label : base ? base + 1 : path, frames, info.fps, index);
    orr_tensor_free(frames);
    return st;
}

orr_status orr_viewer_add_difference(orr_viewer *v, const char *label, int a, int b, float gain, int *index) {
    if (!v) return orr_error(ORR_ERR_ARGUMENT, "viewer_add_difference: the viewer is NULL");
    char panes[64];
    for (int k = 0; k < 2; k++) {
        int i = k ? b : a;
        if (i < 0 || i >= v->n_panes)
            return orr_error(ORR_ERR_ARGUMENT, "viewer_add_difference: pane %c is %d; %s", k ? 'b' : 'a', i,
                             viewer_panes_text(v, panes, sizeof panes));
    }
    if (a == b) return orr_error(ORR_ERR_ARGUMENT, "viewer_add_difference: a and b are both pane %d", a);
    viewer_pane *p = NULL;
    orr_status st = add_pane(v, PANE_DIFFERENCE, label, index, &p);
    if (st) return st;
    const viewer_pane *pa = &v->panes[a], *pb = &v->panes[b];
    p->a = a;
    p->b = b;
    p->gain = gain > 0 ? gain : 4;
    p->fps = pa->fps;
    int64_t b_length = (int64_t)ceil((double)pb->length * pa->fps / pb->fps - 1e-9);
    p->length = pa->length > b_length ? pa->length : b_length;
    p->image_w = pa->image_w;
    p->image_h = pa->image_h;
    p->diff_of[0] = p->diff_of[1] = -1;
    char name[2 * sizeof pa->label + 8]; /* both labels whole; the pane keeps what its label holds */
    snprintf(name, sizeof name, "|%s - %s|", pa->label, pb->label);
    commit_pane(v, p, name);
    return ORR_OK;
}

orr_status orr_viewer_add_job(orr_viewer *v, const char *label, orr_world_job *job, int *index) {
    if (!v || !job) return orr_error(ORR_ERR_ARGUMENT, "viewer_add_job: viewer and job must not be NULL");
    const orr_tensor *video = world_job_video(job);
    if (video->ndim != 5) {
        char a[160];
        return orr_error(ORR_ERR_SHAPE, "viewer_add_job: the job's video is %s, expected [B,3,T,H,W]",
                         orr_tensor_describe(video, a, sizeof a));
    }
    viewer_pane *p = NULL;
    orr_status st = add_pane(v, PANE_JOB, label, index, &p);
    if (st) return st;
    p->job = job;
    p->length = world_job_frames(job);
    p->fps = world_job_fps(job);
    p->image_h = video->shape[3];
    p->image_w = video->shape[4];
    p->job_state.progress.step = -1;
    commit_pane(v, p, "generating");
    return ORR_OK;
}

/* The pixels of pane i at timeline frame f, or NULL. */
static const uint8_t *pane_pixels(const orr_viewer *v, int i, int64_t f, int64_t *h, int64_t *w, int64_t *pf,
                                  uint64_t *version) {
    const viewer_pane *p = &v->panes[i];
    int64_t k = p->kind == PANE_DIFFERENCE ? 0 : viewer_pane_frame(v, p, f);
    if (!p->frames || k < 0) return NULL;
    *h = p->frames->shape[1];
    *w = p->frames->shape[2];
    *pf = k;
    *version = p->version;
    return (const uint8_t *)p->frames->data + k * *h * *w * 3;
}

static orr_status refresh_difference(orr_viewer *v, viewer_pane *p) {
    int64_t ha = 0, wa = 0, hb = 0, wb = 0, fa = -1, fb = -1;
    uint64_t va = 0, vb = 0;
    const uint8_t *x = pane_pixels(v, p->a, v->frame, &ha, &wa, &fa, &va);
    const uint8_t *y = pane_pixels(v, p->b, v->frame, &hb, &wb, &fb, &vb);
    if (!x || !y) return ORR_OK;
    if (fa == p->diff_of[0] && fb == p->diff_of[1] && va == p->diff_version[0] && vb == p->diff_version[1])
        return ORR_OK;
    p->diff_of[0] = fa;
    p->diff_of[1] = fb;
    p->diff_version[0] = va;
    p->diff_version[1] = vb;
    p->sizes_differ = ha != hb || wa != wb;
    if (p->sizes_differ) return ORR_OK;
    if (!p->frames || p->frames->shape[1] != ha || p->frames->shape[2] != wa) {
        orr_tensor_free(p->frames);
        p->frames = NULL;
        orr_status st = orr_tensor_empty(&p->frames, ORR_U8, 4, (const int64_t[]){1, ha, wa, 3});
        if (st) return st;
    }
    uint8_t *d = p->frames->data;
    double sq = 0;
    for (int64_t i = 0, n = ha * wa * 3; i < n; i++) {
        int e = (int)x[i] - (int)y[i];
        float g = (e < 0 ? -e : e) * p->gain;
        d[i] = (uint8_t)(g > 255 ? 255 : g);
        sq += (double)e * e;
    }
    double n = (double)(ha * wa * 3);
    p->psnr = sq > 0 ? 10.0 * log10(255.0 * 255.0 / (sq / n)) : INFINITY;
    p->version++;
    return ORR_OK;
}

static orr_status upload(orr_viewer *v, viewer_pane *p, int64_t k) {
    int64_t h = p->frames->shape[1], w = p->frames->shape[2];
    if (!p->texture || p->texture_w != w || p->texture_h != h) {
        if (p->texture) SDL_DestroyTexture(p->texture);
        p->texture = SDL_CreateTexture(v->renderer, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING, (int)w, (int)h);
        if (!p->texture)
            return orr_error(ORR_ERR_MEMORY, "viewer: cannot make a %lldx%lld texture for pane '%s': %s", (long long)w,
                             (long long)h, p->label, SDL_GetError());
        p->texture_w = w;
        p->texture_h = h;
    }
    const uint8_t *pixels = (const uint8_t *)p->frames->data + k * h * w * 3;
    if (SDL_UpdateTexture(p->texture, NULL, pixels, (int)(w * 3)))
        return orr_error(ORR_ERR_IO, "viewer: updating pane '%s': %s", p->label, SDL_GetError());
    p->shown_frame = k;
    p->shown_version = p->version;
    return ORR_OK;
}

orr_status viewer_panes_refresh(orr_viewer *v) {
    for (int i = 0; i < v->n_panes; i++) {
        viewer_pane *p = &v->panes[i];
        orr_status st = p->kind == PANE_DIFFERENCE ? refresh_difference(v, p) : ORR_OK;
        int64_t k = p->kind == PANE_DIFFERENCE ? (p->frames ? 0 : -1) : viewer_pane_frame(v, p, v->frame);
        if (!st && k >= 0 && (k != p->shown_frame || p->version != p->shown_version)) st = upload(v, p, k);
        if (!st && p->overlay.weights) {
            int64_t pf = (int64_t)floor((double)v->frame * p->fps / v->fps + 1e-9);
            st = viewer_overlay_refresh(v, &p->overlay, viewer_overlay_frame(&p->overlay, pf, p->length));
        }
        if (st) return st;
    }
    return ORR_OK;
}

static void replace_frames(viewer_pane *p, orr_tensor *frames) {
    orr_tensor_free(p->frames);
    p->frames = frames;
    p->version++;
}

orr_status viewer_jobs_poll(orr_viewer *v) {
    for (int i = 0; i < v->n_panes; i++) {
        viewer_pane *p = &v->panes[i];
        if (p->kind != PANE_JOB || p->job_final) continue;
        orr_world_job_state s;
        orr_world_job_poll(p->job, &s, 0);
        orr_tensor *frames = NULL;
        orr_status st = ORR_OK;
        if (s.done && s.status == ORR_OK) {
            st = viewer_frames_from_tensor(world_job_video(p->job), &frames);
            if (!st) {
                replace_frames(p, frames);
                p->job_final = true;
                viewer_note(v, "%s: done in %.1f s", p->label, s.elapsed_seconds);
            }
        } else if (s.preview_version != p->job_state.preview_version) {
            st = orr_world_job_preview(p->job, &frames);
            if (!st) replace_frames(p, frames);
        }
        if (s.done && s.status != ORR_OK && !p->job_state.done) viewer_note(v, "%s: %s", p->label, s.error);
        p->job_state = s;
        if (st) return st;
    }
    return ORR_OK;
}
