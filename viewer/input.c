/* input.c — keys and the mouse: what each does is listed in
 * viewer/README.md and on the help sheet (hud.c); keep the three in step. */
#include <math.h>

#include "viewer.h"

static void step(orr_viewer *v, int64_t by) {
    v->playing = false;
    viewer_set_frame(v, v->frame + by);
}

static void toggle_play(orr_viewer *v) {
    v->playing = !v->playing;
    if (v->playing && !v->loop && v->frame >= v->frames - 1) viewer_set_frame(v, 0);
}

static void scrub(orr_viewer *v, int x) {
    viewer_rect t;
    viewer_timeline_rect(v, &t);
    double at = (x - t.x) / (t.w > 1 ? t.w - 1 : 1);
    viewer_set_frame(v, (int64_t)llround(at * (double)(v->frames - 1)));
}

static orr_viewer_layout next_layout(const orr_viewer *v) {
    orr_viewer_layout now = v->layout == ORR_LAYOUT_AUTO ? (v->n_panes <= 3 ? ORR_LAYOUT_ROW : ORR_LAYOUT_GRID) : v->layout;
    return now == ORR_LAYOUT_ROW ? ORR_LAYOUT_COLUMN : now == ORR_LAYOUT_COLUMN ? ORR_LAYOUT_GRID : ORR_LAYOUT_ROW;
}

/* Every overlay moves one pane on, the last one's to the first pane. */
static void rotate_overlays(orr_viewer *v) {
    if (v->n_panes < 2) return;
    viewer_overlay last = v->panes[v->n_panes - 1].overlay;
    for (int i = v->n_panes - 1; i > 0; i--) v->panes[i].overlay = v->panes[i - 1].overlay;
    v->panes[0].overlay = last;
    for (int i = 0; i < v->n_panes; i++) v->panes[i].overlay.shown_frame = -1;
}

static void set_fullscreen(orr_viewer *v, bool on) {
    if (SDL_SetWindowFullscreen(v->window, on ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0) == 0) v->fullscreen = on;
    else viewer_note(v, "fullscreen: %s", SDL_GetError());
}

static void for_jobs(orr_viewer *v, void (*fn)(orr_world_job *), const char *note) {
    bool any = false;
    for (int i = 0; i < v->n_panes; i++)
        if (v->panes[i].kind == PANE_JOB && !v->panes[i].job_state.done) {
            fn(v->panes[i].job);
            any = true;
        }
    viewer_note(v, "%s", any ? note : "no generation is running");
}

static void zoom_centre(orr_viewer *v, double factor) {
    viewer_zoom_at(v, factor, 0.5 + v->pan_x, 0.5 + v->pan_y);
}

static void key(orr_viewer *v, const SDL_Keysym *k) {
    bool shift = (k->mod & KMOD_SHIFT) != 0;
    switch (k->sym) {
    case SDLK_SPACE: toggle_play(v); break;
    case SDLK_RIGHT:
    case SDLK_PERIOD: step(v, shift ? 10 : 1); break;
    case SDLK_LEFT:
    case SDLK_COMMA: step(v, shift ? -10 : -1); break;
    case SDLK_HOME: step(v, -v->frames); break;
    case SDLK_END: step(v, v->frames); break;
    case SDLK_l:
        v->loop = !v->loop;
        viewer_note(v, "loop %s", v->loop ? "on" : "off");
        break;
    case SDLK_RIGHTBRACKET:
    case SDLK_LEFTBRACKET:
        v->speed *= k->sym == SDLK_RIGHTBRACKET ? 2 : 0.5;
        v->speed = v->speed > 16 ? 16 : v->speed < 1.0 / 16 ? 1.0 / 16 : v->speed;
        viewer_note(v, "speed %gx", v->speed);
        break;
    case SDLK_BACKSPACE:
        v->speed = 1;
        viewer_note(v, "speed 1x");
        break;
    case SDLK_EQUALS:
    case SDLK_PLUS:
    case SDLK_KP_PLUS: zoom_centre(v, 1.25); break;
    case SDLK_MINUS:
    case SDLK_KP_MINUS: zoom_centre(v, 0.8); break;
    case SDLK_0:
    case SDLK_KP_0:
        v->zoom = 1;
        v->pan_x = v->pan_y = 0;
        break;
    case SDLK_f:
    case SDLK_F11: set_fullscreen(v, !v->fullscreen); break;
    case SDLK_g: v->layout = next_layout(v); break;
    case SDLK_o:
        if (shift) {
            rotate_overlays(v);
            viewer_note(v, "overlays moved one pane on");
        } else {
            v->overlays = !v->overlays;
            viewer_note(v, "overlays %s", v->overlays ? "on" : "off");
        }
        break;
    case SDLK_s: v->screenshot_wanted = true; break;
    case SDLK_c: for_jobs(v, orr_world_job_cancel, "cancelling the generation"); break;
    case SDLK_d: for_jobs(v, orr_world_job_request_decode, "decoding the next preview in full"); break;
    case SDLK_QUESTION:
    case SDLK_h:
    case SDLK_F1: v->help = !v->help; break;
    case SDLK_SLASH:
        if (shift) v->help = !v->help; /* '?' on layouts where it is shift+/ */
        break;
    case SDLK_ESCAPE:
        if (v->help) v->help = false;
        else v->open = false;
        break;
    case SDLK_q: v->open = false; break;
    default: break;
    }
}

/* Window coordinates to renderer pixels (they differ on high-DPI screens). */
static void to_pixels(const orr_viewer *v, int x, int y, int *px, int *py) {
    int ww, wh, ow, oh;
    SDL_GetWindowSize(v->window, &ww, &wh);
    viewer_output_size(v, &ow, &oh);
    *px = ww > 0 ? x * ow / ww : x;
    *py = wh > 0 ? y * oh / wh : y;
}

static bool in_timeline(const orr_viewer *v, int x, int y) {
    viewer_rect t;
    viewer_timeline_rect(v, &t);
    return x >= t.x && x < t.x + t.w && y >= t.y - 4 && y < t.y + t.h + 4;
}

static void mouse_move(orr_viewer *v, int x, int y) {
    int dx = x - v->mouse_x, dy = y - v->mouse_y;
    v->mouse_x = x;
    v->mouse_y = y;
    if (v->dragging_timeline) scrub(v, x);
    if (!v->dragging_image) return;
    double u, w;
    viewer_rect image;
    int i = viewer_pane_at(v, x, y, &u, &w);
    if (i < 0 || !viewer_pane_image(v, i, &image)) return;
    v->pan_x -= dx / (double)image.w;
    v->pan_y -= dy / (double)image.h;
}

void viewer_handle_event(orr_viewer *v, const SDL_Event *e) {
    int x, y;
    double u, w;
    switch (e->type) {
    case SDL_QUIT: v->open = false; break;
    case SDL_WINDOWEVENT:
        if (e->window.event == SDL_WINDOWEVENT_CLOSE) v->open = false;
        break;
    case SDL_KEYDOWN: key(v, &e->key.keysym); break;
    case SDL_MOUSEMOTION:
        to_pixels(v, e->motion.x, e->motion.y, &x, &y);
        mouse_move(v, x, y);
        break;
    case SDL_MOUSEBUTTONDOWN:
        if (e->button.button != SDL_BUTTON_LEFT) break;
        to_pixels(v, e->button.x, e->button.y, &x, &y);
        mouse_move(v, x, y);
        if (in_timeline(v, x, y)) {
            v->dragging_timeline = true;
            scrub(v, x);
        } else if (viewer_pane_at(v, x, y, &u, &w) >= 0) {
            v->dragging_image = true;
        }
        break;
    case SDL_MOUSEBUTTONUP:
        if (e->button.button == SDL_BUTTON_LEFT) v->dragging_timeline = v->dragging_image = false;
        break;
    case SDL_MOUSEWHEEL:
        if (e->wheel.y == 0) break;
        if (viewer_pane_at(v, v->mouse_x, v->mouse_y, &u, &w) < 0) {
            u = 0.5 + v->pan_x;
            w = 0.5 + v->pan_y;
        }
        viewer_zoom_at(v, pow(1.25, e->wheel.y), u, w);
        break;
    default: break;
    }
}
