/* hud.c — the text on screen: each pane's label, the bar at the bottom
 * (timeline; frame, time, resolution, speed; what lies under the cursor;
 * the running generation's step, sigma, s/step and ETA), passing notes,
 * and the help sheet. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "viewer.h"

static const SDL_Color text_color = {220, 220, 220, 255};
static const SDL_Color dim_color = {150, 150, 150, 255};
static const SDL_Color hot_color = {255, 230, 140, 255};

void viewer_note(orr_viewer *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    v->message_until = v->clock + 2.5;
}

/* Draws text cut to max_w pixels. */
static void draw_fitted(orr_viewer *v, int x, int y, int max_w, SDL_Color c, const char *text) {
    char buf[512];
    int n = max_w / font_advance(&v->font);
    if (n <= 0) return;
    snprintf(buf, sizeof buf, "%s", text);
    if ((int)strlen(buf) > n) buf[n] = 0;
    font_draw(&v->font, v->renderer, x, y, c, buf);
}

static void job_summary(const viewer_pane *p, char *buf, size_t size) {
    const orr_world_job_state *s = &p->job_state;
    const orr_sampler_progress *g = &s->progress;
    if (s->done && s->status == ORR_OK)
        snprintf(buf, size, "generated in %.1f s", s->elapsed_seconds);
    else if (s->done && s->status == ORR_ERR_CANCELLED)
        snprintf(buf, size, "cancelled after %d of %d steps", g->step + 1, g->steps);
    else if (s->done)
        snprintf(buf, size, "failed: %s", s->error);
    else if (g->step < 0)
        snprintf(buf, size, "starting (%.0f s)%s", s->elapsed_seconds, s->cancel_requested ? "  cancelling" : "");
    else
        snprintf(buf, size, "step %d/%d  sigma %.4g  %.2f s/step  ETA %.0f s%s%s", g->step + 1, g->steps, g->sigma,
                 g->seconds_per_step, g->eta_seconds, s->preview_decoded ? "  (decoded)" : "",
                 s->cancel_requested ? "  cancelling" : "");
}

void viewer_labels_draw(orr_viewer *v) {
    orr_viewer_state state;
    orr_viewer_get_state(v, &state);
    for (int i = 0; i < v->n_panes; i++) {
        const viewer_pane *p = &v->panes[i];
        viewer_rect cell;
        viewer_pane_cell(v, i, &cell);
        char text[320], extra[160] = ""; /* room for the longest label and extra */
        if (p->kind == PANE_DIFFERENCE && p->frames && !p->sizes_differ && isinf(p->psnr))
            snprintf(extra, sizeof extra, "  x%g  identical", (double)p->gain);
        else if (p->kind == PANE_DIFFERENCE && p->frames && !p->sizes_differ)
            snprintf(extra, sizeof extra, "  x%g  PSNR %.1f dB", (double)p->gain, p->psnr);
        else if (p->kind == PANE_JOB && !p->job_final && p->job_state.progress.step >= 0)
            snprintf(extra, sizeof extra, "  step %d/%d", p->job_state.progress.step + 1, p->job_state.progress.steps);
        size_t used = strlen(extra);
        if (p->overlay.weights)
            snprintf(extra + used, sizeof extra - used, "  w %.3g..%.3g%s", (double)p->overlay.vmin,
                     (double)p->overlay.vmax, v->overlays ? "" : " (hidden)");
        snprintf(text, sizeof text, "%d %s  %lldx%lld%s", i, p->label, (long long)p->image_w, (long long)p->image_h,
                 extra);
        draw_fitted(v, (int)cell.x, (int)cell.y - VIEWER_LABEL + 1, (int)cell.w,
                    i == state.cursor_pane ? hot_color : text_color, text);
    }
}

static void draw_timeline(orr_viewer *v) {
    SDL_Renderer *r = v->renderer;
    viewer_rect t;
    viewer_timeline_rect(v, &t);
    SDL_Rect track = {(int)t.x, (int)t.y, (int)t.w, (int)t.h};
    SDL_SetRenderDrawColor(r, 70, 70, 70, 255);
    SDL_RenderFillRect(r, &track);
    if (v->frames < 1) return;
    double at = v->frames > 1 ? (double)v->frame / (double)(v->frames - 1) : 1.0;
    SDL_Rect done = {track.x, track.y, (int)(track.w * at), track.h};
    SDL_SetRenderDrawColor(r, 60, 110, 170, 255);
    SDL_RenderFillRect(r, &done);
    SDL_SetRenderDrawColor(r, 90, 90, 90, 255);
    if (v->frames > 1 && v->frames * 6 <= track.w) /* a tick per frame while they stay apart */
        for (int64_t f = 0; f < v->frames; f++) {
            int x = track.x + (int)(track.w * (double)f / (double)(v->frames - 1));
            SDL_RenderDrawLine(r, x, track.y + track.h - 3, x, track.y + track.h - 1);
        }
    SDL_Rect head = {track.x + done.w - 1, track.y - 2, 3, track.h + 4};
    SDL_SetRenderDrawColor(r, 255, 255, 255, 255);
    SDL_RenderFillRect(r, &head);
}

/* What lies under the cursor: the pane, the pixel and its colour, and the
 * overlay's weight there. */
static void cursor_text(orr_viewer *v, const orr_viewer_state *s, char *buf, size_t size) {
    buf[0] = 0;
    if (s->cursor_pane < 0 || !(s->cursor_u >= 0 && s->cursor_u < 1 && s->cursor_v >= 0 && s->cursor_v < 1)) return;
    const viewer_pane *p = &v->panes[s->cursor_pane];
    int n = snprintf(buf, size, "%d %s  x %lld y %lld", s->cursor_pane, p->label,
                     (long long)(s->cursor_u * p->image_w), (long long)(s->cursor_v * p->image_h));
    if (p->frames && p->shown_frame >= 0 && n > 0 && (size_t)n < size) {
        int64_t h = p->frames->shape[1], w = p->frames->shape[2];
        int64_t x = (int64_t)(s->cursor_u * w), y = (int64_t)(s->cursor_v * h);
        const uint8_t *px = (const uint8_t *)p->frames->data + ((p->shown_frame * h + y) * w + x) * 3;
        n += snprintf(buf + n, size - n, "  rgb %d %d %d", px[0], px[1], px[2]);
    }
    if (s->cursor_on_weight && n > 0 && (size_t)n < size) snprintf(buf + n, size - n, "  weight %.4g", s->cursor_weight);
}

void viewer_hud_draw(orr_viewer *v) {
    SDL_Renderer *r = v->renderer;
    int w, h;
    viewer_output_size(v, &w, &h);
    int top = h - viewer_bar_height(v);
    SDL_Rect bar = {0, top, w, h - top};
    SDL_SetRenderDrawColor(r, 40, 40, 40, 255);
    SDL_RenderFillRect(r, &bar);
    draw_timeline(v);

    orr_viewer_state s;
    orr_viewer_get_state(v, &s);
    int x = VIEWER_MARGIN, y = top + 2 * VIEWER_MARGIN + VIEWER_TIMELINE, width = w - 2 * VIEWER_MARGIN;
    const viewer_pane *shown = s.cursor_pane >= 0 ? &v->panes[s.cursor_pane] : v->n_panes ? &v->panes[0] : NULL;
    char line[512], zoom[32] = "";
    if (fabs(v->zoom - 1) > 1e-9) snprintf(zoom, sizeof zoom, "  zoom %.2gx", v->zoom);
    snprintf(line, sizeof line, "frame %lld/%lld  %.3f s  %lldx%lld  %g fps  %gx  %s  %s%s",
             (long long)v->frame, (long long)(v->frames > 0 ? v->frames - 1 : 0), s.time,
             (long long)(shown ? shown->image_w : 0), (long long)(shown ? shown->image_h : 0), v->fps, v->speed,
             v->loop ? "loop" : "once", v->playing ? "playing" : "paused", zoom);
    const char *help = "? help";
    int help_w = font_width(&v->font, help);
    draw_fitted(v, x, y, width - help_w - font_advance(&v->font), text_color, line);
    font_draw(&v->font, r, w - VIEWER_MARGIN - help_w, y, dim_color, help);

    y += VIEWER_LINE;
    cursor_text(v, &s, line, sizeof line);
    int used = font_width(&v->font, line);
    draw_fitted(v, x, y, width, text_color, line);
    if (v->message[0] && v->clock < v->message_until) {
        int mx = used ? x + used + 3 * font_advance(&v->font) : x;
        draw_fitted(v, mx, y, width - (mx - x), hot_color, v->message);
    }

    for (int i = 0; i < v->n_panes; i++) {
        if (v->panes[i].kind != PANE_JOB) continue;
        y += VIEWER_LINE;
        char summary[320];
        job_summary(&v->panes[i], summary, sizeof summary);
        snprintf(line, sizeof line, "%s: %s%s", v->panes[i].label, summary,
                 v->panes[i].job_state.done ? "" : "   [c] cancel  [d] decode");
        draw_fitted(v, x, y, width, text_color, line);
        break; /* one line: the first generation */
    }
}

static const char *const help_lines[] = {
    "orrery viewer: keys",
    "",
    "space          play / pause",
    "right, left    step a frame (shift: 10)",
    "home, end      first / last frame",
    "timeline       click or drag to scrub",
    "l              loop on / off",
    "[  ]           half / double speed",
    "backspace      normal speed",
    "+  -  wheel    zoom (the wheel: at the cursor)",
    "drag           pan;  0: reset the view",
    "f, F11         fullscreen",
    "g              layout: row, column, grid",
    "o              overlays on / off",
    "O (shift+o)    move overlays to the next pane",
    "s              screenshot (PNG)",
    "c              cancel the generation",
    "d              decode its next preview in full",
    "?, h, F1       this help",
    "q, esc         quit",
};

void viewer_help_draw(orr_viewer *v) {
    SDL_Renderer *r = v->renderer;
    int w, h, n = (int)(sizeof help_lines / sizeof help_lines[0]), widest = 0;
    viewer_output_size(v, &w, &h);
    for (int i = 0; i < n; i++) {
        int lw = font_width(&v->font, help_lines[i]);
        widest = lw > widest ? lw : widest;
    }
    SDL_Rect box = {0, 0, widest + 4 * VIEWER_MARGIN, n * VIEWER_LINE + 4 * VIEWER_MARGIN};
    box.x = (w - box.w) / 2;
    box.y = (h - box.h) / 2;
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(r, 0, 0, 0, 220);
    SDL_RenderFillRect(r, &box);
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
    SDL_SetRenderDrawColor(r, 120, 120, 120, 255);
    SDL_RenderDrawRect(r, &box);
    for (int i = 0; i < n; i++)
        font_draw(&v->font, r, box.x + 2 * VIEWER_MARGIN, box.y + 2 * VIEWER_MARGIN + i * VIEWER_LINE,
                  i == 0 ? hot_color : text_color, help_lines[i]);
}
