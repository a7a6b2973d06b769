/* viewer.c — the viewer's life: opening (or saying why there is no
 * display), the window made at the panes' size on the first update, the
 * update turn (input, jobs, clock, drawing), the run loop, and what
 * callers may ask of it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "viewer.h"

static bool viewer_is_open; /* SDL's event queue serves one viewer at a time */

void orr_viewer_params_init(orr_viewer_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->title = "orrery";
    p->loop = true;
    p->speed = 1;
    p->layout = ORR_LAYOUT_AUTO;
    p->screenshot_dir = ".";
}

static bool have_display(void) {
    const char *names[] = {"DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"};
    for (int i = 0; i < 3; i++) {
        const char *value = getenv(names[i]);
        if (value && value[0]) return true;
    }
    return false;
}

orr_status orr_viewer_open(const orr_viewer_params *p, orr_viewer **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "viewer_open: out is NULL");
    *out = NULL;
    orr_viewer_params defaults;
    orr_viewer_params_init(&defaults);
    if (!p) p = &defaults;
    if (!(p->speed > 0) || p->width < 0 || p->height < 0 || p->layout < ORR_LAYOUT_AUTO || p->layout > ORR_LAYOUT_GRID)
        return orr_error(ORR_ERR_ARGUMENT, "viewer_open: speed %g, size %dx%d or layout %d is out of range", p->speed,
                         p->width, p->height, (int)p->layout);
    if (viewer_is_open) return orr_error(ORR_ERR_ARGUMENT, "viewer_open: a viewer is open already; close it first");
    if (!have_display())
        return orr_error(ORR_ERR_UNSUPPORTED, "viewer: no display (DISPLAY is not set), so the viewer is not opened; "
                                              "results are still written to files (run under xvfb-run, or on a "
                                              "desktop, to see them)");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO))
        return orr_error(ORR_ERR_UNSUPPORTED, "viewer: no display: SDL cannot start its video (%s), so the viewer is "
                                              "not opened; results are still written to files", SDL_GetError());
    orr_viewer *v = calloc(1, sizeof *v);
    if (!v) {
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        return orr_error(ORR_ERR_MEMORY, "viewer_open: out of memory");
    }
    snprintf(v->title, sizeof v->title, "%s", p->title ? p->title : "orrery");
    snprintf(v->screenshot_dir, sizeof v->screenshot_dir, "%s", p->screenshot_dir ? p->screenshot_dir : ".");
    snprintf(v->script, sizeof v->script, "%s", p->script ? p->script : "");
    v->width = p->width;
    v->height = p->height;
    v->fullscreen = p->fullscreen;
    v->loop = p->loop;
    v->speed = p->speed;
    v->layout = p->layout;
    v->zoom = 1;
    v->overlays = true;
    v->fps = 24;
    v->open = true;
    viewer_is_open = true;
    *out = v;
    return ORR_OK;
}

void orr_viewer_close(orr_viewer *v) {
    if (!v) return;
    for (int i = 0; i < v->n_panes; i++) viewer_pane_free(&v->panes[i]);
    font_free(&v->font);
    if (v->renderer) SDL_DestroyRenderer(v->renderer);
    if (v->window) SDL_DestroyWindow(v->window);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    viewer_is_open = false;
    free(v);
}

/* The window is made on the first update, when the panes say its size. */
static orr_status ensure_window(orr_viewer *v) {
    if (v->window) return ORR_OK;
    int w = v->width, h = v->height;
    if (!w || !h) {
        int nw, nh;
        viewer_natural_size(v, &nw, &nh);
        w = w ? w : nw;
        h = h ? h : nh;
    }
    Uint32 flags = SDL_WINDOW_RESIZABLE | (v->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
    v->window = SDL_CreateWindow(v->title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h, flags);
    if (!v->window) return orr_error(ORR_ERR_UNSUPPORTED, "viewer: cannot open a %dx%d window: %s", w, h, SDL_GetError());
    v->renderer = SDL_CreateRenderer(v->window, -1, 0);
    if (!v->renderer) v->renderer = SDL_CreateRenderer(v->window, -1, SDL_RENDERER_SOFTWARE);
    if (!v->renderer) return orr_error(ORR_ERR_UNSUPPORTED, "viewer: cannot draw in the window: %s", SDL_GetError());
    if (!font_init(&v->font, v->renderer, 2))
        return orr_error(ORR_ERR_MEMORY, "viewer: cannot make the font texture: %s", SDL_GetError());
    v->last_counter = SDL_GetPerformanceCounter();
    return ORR_OK;
}

orr_status orr_viewer_update(orr_viewer *v, double seconds, bool *open) {
    if (!v) return orr_error(ORR_ERR_ARGUMENT, "viewer_update: the viewer is NULL");
    orr_status st = ensure_window(v);
    if (st) return st;
    SDL_Event e;
    while (SDL_PollEvent(&e)) viewer_handle_event(v, &e);
    uint64_t now = SDL_GetPerformanceCounter();
    if (seconds < 0) {
        seconds = (double)(now - v->last_counter) / (double)SDL_GetPerformanceFrequency();
        if (seconds > 0.25) seconds = 0.25; /* after a stall, go on rather than jump */
    }
    v->last_counter = now;
    v->clock += seconds;
    st = viewer_jobs_poll(v);
    if (!st) {
        viewer_advance(v, seconds);
        st = viewer_draw(v);
    }
    if (!st && v->screenshot_wanted) {
        v->screenshot_wanted = false;
        viewer_screenshot_key(v); /* a failure shows as a note in the HUD */
    }
    SDL_RenderPresent(v->renderer);
    if (!v->open) SDL_HideWindow(v->window);
    if (open) *open = v->open;
    return st;
}

static bool busy(const orr_viewer *v) {
    if (v->playing || v->dragging_image || v->dragging_timeline) return true;
    for (int i = 0; i < v->n_panes; i++)
        if (v->panes[i].kind == PANE_JOB && !v->panes[i].job_state.done) return true;
    return false;
}

orr_status orr_viewer_run(orr_viewer *v) {
    if (!v) return orr_error(ORR_ERR_ARGUMENT, "viewer_run: the viewer is NULL");
    orr_status st = ORR_OK;
    if (v->script[0]) {
        if ((st = ensure_window(v)) || (st = viewer_script_run(v, v->script))) return st;
    }
    while (v->open) {
        uint64_t start = SDL_GetPerformanceCounter();
        if ((st = orr_viewer_update(v, -1, NULL))) return st;
        if (!v->open) break;
        if (busy(v)) { /* about 60 turns a second */
            double spent = (double)(SDL_GetPerformanceCounter() - start) / (double)SDL_GetPerformanceFrequency();
            if (spent < 1.0 / 60) SDL_Delay((Uint32)((1.0 / 60 - spent) * 1000));
        } else {
            SDL_WaitEventTimeout(NULL, 250); /* idle until input, waking for passing notes */
        }
    }
    return ORR_OK;
}

orr_status orr_viewer_screenshot(orr_viewer *v, const char *path) {
    if (!v || !path) return orr_error(ORR_ERR_ARGUMENT, "viewer_screenshot: viewer and path must not be NULL");
    orr_status st = ensure_window(v);
    if (!st) st = viewer_draw(v);
    if (!st) st = viewer_capture(v, path);
    SDL_RenderPresent(v->renderer);
    return st;
}

void orr_viewer_get_state(const orr_viewer *v, orr_viewer_state *out) {
    if (!v || !out) return;
    memset(out, 0, sizeof *out);
    out->open = v->open;
    out->playing = v->playing;
    out->loop = v->loop;
    out->fullscreen = v->fullscreen;
    out->help = v->help;
    out->overlays = v->overlays;
    out->frame = v->frame;
    out->frames = v->frames;
    out->fps = v->fps;
    out->time = (double)v->frame / v->fps;
    out->speed = v->speed;
    out->zoom = v->zoom;
    out->pan_x = v->pan_x;
    out->pan_y = v->pan_y;
    out->panes = v->n_panes;
    out->layout = v->layout;
    out->cursor_pane = -1;
    if (!v->renderer) return;
    viewer_output_size(v, &out->width, &out->height);
    viewer_rect t;
    viewer_timeline_rect(v, &t);
    out->timeline[0] = (int)t.x;
    out->timeline[1] = (int)t.y;
    out->timeline[2] = (int)t.w;
    out->timeline[3] = (int)t.h;
    out->cursor_pane = viewer_pane_at(v, v->mouse_x, v->mouse_y, &out->cursor_u, &out->cursor_v);
    if (out->cursor_pane < 0) return;
    const viewer_pane *p = &v->panes[out->cursor_pane];
    if (!p->overlay.weights) return;
    int64_t pf = (int64_t)floor((double)v->frame * p->fps / v->fps + 1e-9);
    float value = viewer_overlay_value(&p->overlay, viewer_overlay_frame(&p->overlay, pf, p->length), out->cursor_u,
                                       out->cursor_v);
    out->cursor_on_weight = !isnan(value);
    out->cursor_weight = value;
}

orr_status orr_viewer_pane_rect(const orr_viewer *v, int pane, int rect[4]) {
    if (!v || !rect) return orr_error(ORR_ERR_ARGUMENT, "viewer_pane_rect: viewer and rect must not be NULL");
    char panes[64];
    if (pane < 0 || pane >= v->n_panes)
        return orr_error(ORR_ERR_ARGUMENT, "viewer_pane_rect: pane %d; %s", pane,
                         viewer_panes_text(v, panes, sizeof panes));
    if (!v->renderer)
        return orr_error(ORR_ERR_ARGUMENT, "viewer_pane_rect: the window is made by the first orr_viewer_update");
    viewer_rect r;
    if (!viewer_pane_image(v, pane, &r))
        return orr_error(ORR_ERR_NOT_FOUND, "viewer_pane_rect: pane %d has no image yet", pane);
    rect[0] = (int)r.x;
    rect[1] = (int)r.y;
    rect[2] = (int)r.w;
    rect[3] = (int)r.h;
    return ORR_OK;
}

orr_status orr_viewer_seek(orr_viewer *v, int64_t frame) {
    if (!v) return orr_error(ORR_ERR_ARGUMENT, "viewer_seek: the viewer is NULL");
    v->playing = false;
    viewer_set_frame(v, frame);
    return ORR_OK;
}

orr_status orr_viewer_set_overlay(orr_viewer *v, int pane, const orr_tensor *weights, float vmin, float vmax) {
    if (!v) return orr_error(ORR_ERR_ARGUMENT, "viewer_set_overlay: the viewer is NULL");
    char panes[64];
    if (pane < 0 || pane >= v->n_panes)
        return orr_error(ORR_ERR_ARGUMENT, "viewer_set_overlay: pane %d; %s", pane,
                         viewer_panes_text(v, panes, sizeof panes));
    return viewer_overlay_set(&v->panes[pane].overlay, weights, vmin, vmax);
}
