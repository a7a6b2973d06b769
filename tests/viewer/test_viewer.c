/* The viewer as a user meets it, on a private X server (Xvfb): a known
 * video opened in panes beside an exact copy and their difference; keys
 * and the mouse sent as a user would (play, step, scrub, speed, loop,
 * zoom, pan, layout, overlay, help, screenshot, fullscreen, quit); and
 * screenshots whose pixels must show the expected frame and overlay. Then
 * a live generation in a pane, and scripts. Skips (77) when no X server
 * can be started. Set ORR_TEST_KEEP=1 to keep the screenshots. */
#include <ftw.h>
#include <sys/stat.h>

#include "test_util.h"
#include "tiny_world.h"
#include "xvfb.h"

enum { T = 24, H = 48, W = 64 };

/* Frame t: the top-left quadrant changes with t, the others stay. */
static void colour_of(int t, int y, int x, uint8_t rgb[3]) {
    static const uint8_t fixed[3][3] = {{220, 30, 30}, {30, 30, 220}, {30, 200, 30}};
    if (y < H / 2 && x < W / 2) {
        rgb[0] = (uint8_t)(10 * t);
        rgb[1] = (uint8_t)(255 - 10 * t);
        rgb[2] = 40;
        return;
    }
    const uint8_t *c = fixed[y < H / 2 ? 0 : x < W / 2 ? 1 : 2];
    memcpy(rgb, c, 3);
}

static orr_tensor *make_frames(void) {
    orr_tensor *f = NULL;
    CHECK_OK(orr_tensor_empty(&f, ORR_U8, 4, (int64_t[]){T, H, W, 3}));
    if (!f) return NULL;
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) colour_of(t, y, x, (uint8_t *)f->data + ((t * H + y) * W + x) * 3);
    return f;
}

static char dir[256];
static int shots;

static void run(orr_viewer *v, const char *line) { CHECK_OK(orr_viewer_command(v, line)); }

static orr_viewer_state state(orr_viewer *v) {
    orr_viewer_state s;
    orr_viewer_get_state(v, &s);
    return s;
}

/* A screenshot through the script command, read back. */
static orr_tensor *shot(orr_viewer *v, const char *name) {
    char path[400], line[420];
    snprintf(path, sizeof path, "%s/%02d-%s.png", dir, ++shots, name);
    snprintf(line, sizeof line, "screenshot %s", path);
    run(v, line);
    orr_tensor *img = NULL;
    CHECK_OK(orr_png_read(path, &img, NULL));
    return img;
}

/* The screen point over (u, w) of pane p's image. */
static void point(orr_viewer *v, int p, double u, double w, int *x, int *y) {
    int r[4] = {0};
    CHECK_OK(orr_viewer_pane_rect(v, p, r));
    *x = r[0] + (int)(u * r[2]);
    *y = r[1] + (int)(w * r[3]);
}

static const uint8_t *pixel(const orr_tensor *img, int x, int y) {
    return (const uint8_t *)img->data + ((int64_t)y * img->shape[1] + x) * 3;
}

static bool near3(const uint8_t *a, const uint8_t *b, int tol) {
    for (int j = 0; j < 3; j++)
        if (abs((int)a[j] - (int)b[j]) > tol) return false;
    return true;
}

/* Pane p shows frame t: the centres of its four quadrants. */
static void check_frame(orr_viewer *v, const orr_tensor *img, int p, int t, int tol, const char *what) {
    if (!img) return;
    for (int q = 0; q < 4; q++) {
        double u = q % 2 ? 0.75 : 0.25, w = q / 2 ? 0.75 : 0.25;
        int x, y;
        point(v, p, u, w, &x, &y);
        uint8_t want[3];
        colour_of(t, (int)(w * H), (int)(u * W), want);
        const uint8_t *got = pixel(img, x, y);
        test_checks++;
        if (!near3(got, want, tol)) {
            test_failures++;
            fprintf(stderr, "%s: pane %d at (%d,%d) shows %d %d %d, frame %d has %d %d %d\n", what, p, x, y, got[0],
                    got[1], got[2], t, want[0], want[1], want[2]);
        }
    }
}

/* The documented colour map's stops: 0, 0.5 and 1. */
static void heat(float value, uint8_t rgb[3]) {
    static const uint8_t stops[3][3] = {{0, 0, 4}, {188, 55, 84}, {252, 255, 164}};
    memcpy(rgb, stops[value == 0 ? 0 : value == 1 ? 2 : 1], 3);
}

/* Weight maps [2,6,8]: in the first half of the video column x holds
 * (x % 3) / 2, in the second half 1 minus that. */
static orr_tensor *make_weights(void) {
    orr_tensor *w = NULL;
    CHECK_OK(orr_tensor_empty(&w, ORR_F32, 3, (int64_t[]){2, 6, 8}));
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 48; i++) {
            float a = (float)(i % 8 % 3) / 2;
            ((float *)w->data)[t * 48 + i] = t ? 1 - a : a;
        }
    return w;
}

/* Pane p shows frame t of `under` (NULL: black) with the heatmap of
 * weight frame k blended over it at the overlay's opacity (160/255). */
static void check_overlay(orr_viewer *v, const orr_tensor *img, int p, int t, bool under, int k, const char *what) {
    if (!img) return;
    for (int cy = 0; cy < 6; cy += 5)
        for (int cx = 0; cx < 8; cx++) {
            double u = (cx + 0.5) / 8, w = (cy + 0.5) / 6;
            float a = (float)(cx % 3) / 2, value = k ? 1 - a : a;
            uint8_t frame[3] = {0, 0, 0}, hot[3], want[3];
            if (under) colour_of(t, (int)(w * H), (int)(u * W), frame);
            heat(value, hot);
            for (int j = 0; j < 3; j++) want[j] = (uint8_t)((hot[j] * 160 + frame[j] * 95 + 127) / 255);
            int x, y;
            point(v, p, u, w, &x, &y);
            const uint8_t *got = pixel(img, x, y);
            test_checks++;
            if (!near3(got, want, 3)) {
                test_failures++;
                fprintf(stderr, "%s: pane %d cell (%d,%d) weight %g shows %d %d %d, expected %d %d %d\n", what, p, cx,
                        cy, value, got[0], got[1], got[2], want[0], want[1], want[2]);
            }
        }
}

static void test_no_display(void) {
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("SDL_VIDEODRIVER");
    orr_viewer *v = NULL;
    CHECK_FAILS(orr_viewer_open(NULL, &v), ORR_ERR_UNSUPPORTED, "no display (DISPLAY is not set)");
    CHECK(v == NULL);
}

static void test_playback(const char *video) {
    orr_viewer_params p;
    orr_viewer_params_init(&p);
    p.width = 960;
    p.height = 540;
    p.screenshot_dir = dir;
    orr_viewer *v = NULL;
    CHECK_OK(orr_viewer_open(&p, &v));
    if (!v) return;
    orr_tensor *frames = make_frames(), *weights = make_weights(), *img;
    int a = -1, b = -1, d = -1;
    CHECK_OK(orr_viewer_add_video(v, "input", video, &a));
    CHECK_OK(orr_viewer_add_frames(v, "exact", frames, 24, &b));
    CHECK_OK(orr_viewer_add_difference(v, NULL, a, b, 4, &d));
    CHECK(a == 0 && b == 1 && d == 2);
    CHECK_OK(orr_viewer_update(v, 0, NULL));
    orr_viewer_state s = state(v);
    CHECK(s.open && s.panes == 3 && s.frames == T && s.fps == 24 && s.frame == 0 && !s.playing && s.loop);
    CHECK(s.width == 960 && s.height == 540);

    img = shot(v, "first-frame");
    check_frame(v, img, 0, 0, 8, "mp4 pane at start");
    check_frame(v, img, 1, 0, 0, "exact pane at start");
    int x, y;
    point(v, d, 0.25, 0.25, &x, &y);
    CHECK(img && pixel(img, x, y)[0] <= 32 && pixel(img, x, y)[1] <= 32); /* 4 x the codec's small loss */
    orr_tensor_free(img);

    /* step */
    run(v, "key Right");
    run(v, "key Right");
    run(v, "key .");
    img = shot(v, "step-3");
    CHECK(state(v).frame == 3);
    check_frame(v, img, 0, 3, 8, "mp4 pane after 3 steps");
    check_frame(v, img, 1, 3, 0, "exact pane after 3 steps");
    orr_tensor_free(img);
    run(v, "key Left");
    run(v, "wait 1");
    CHECK(state(v).frame == 2);
    run(v, "key shift+Right");
    run(v, "wait 1");
    CHECK(state(v).frame == 12);
    run(v, "key End");
    run(v, "wait 1");
    CHECK(state(v).frame == 23);

    /* play: half a second at 24 fps is 12 frames */
    run(v, "key Home");
    run(v, "key space");
    run(v, "wait 30");
    CHECK(state(v).playing);
    run(v, "key space");
    img = shot(v, "played-half-a-second");
    s = state(v);
    CHECK(s.frame == 12 && !s.playing);
    check_frame(v, img, 1, 12, 0, "exact pane after playing 0.5 s");
    check_frame(v, img, 0, 12, 8, "mp4 pane after playing 0.5 s");
    orr_tensor_free(img);

    /* twice the speed: 10 turns of 1/60 s are 8 frames */
    run(v, "key ]");
    run(v, "key space");
    run(v, "wait 10");
    run(v, "key space");
    run(v, "wait 1");
    s = state(v);
    CHECK(s.speed == 2 && s.frame == 20);
    run(v, "key backspace");
    /* no loop: playing stops at the last frame */
    run(v, "key l");
    run(v, "key space");
    run(v, "wait 60");
    s = state(v);
    CHECK(!s.loop && !s.playing && s.frame == T - 1 && s.speed == 1);
    run(v, "key l");

    /* scrub: a click on the timeline, then a drag along it */
    char line[128];
    int *tl = s.timeline, mid = tl[1] + tl[3] / 2;
    snprintf(line, sizeof line, "click %d %d", tl[0] + (int)lround((tl[2] - 1) * 5 / 23.0), mid);
    run(v, line);
    img = shot(v, "scrub-to-5");
    CHECK(state(v).frame == 5);
    check_frame(v, img, 1, 5, 0, "exact pane after scrubbing to 5");
    orr_tensor_free(img);
    snprintf(line, sizeof line, "drag %d %d %d %d", tl[0] + (int)lround((tl[2] - 1) * 5 / 23.0), mid,
             tl[0] + (int)lround((tl[2] - 1) * 17 / 23.0), mid);
    run(v, line);
    run(v, "wait 1");
    CHECK(state(v).frame == 17);

    /* the overlay: a heatmap over the exact pane, its value under the cursor */
    CHECK_OK(orr_viewer_set_overlay(v, b, weights, 0, 1));
    run(v, "key Home");
    img = shot(v, "overlay");
    check_overlay(v, img, b, 0, true, 0, "overlay at frame 0");
    check_frame(v, img, 0, 0, 8, "mp4 pane beside the overlay");
    orr_tensor_free(img);
    run(v, "key End"); /* the second half of the video shows the second weight map */
    img = shot(v, "overlay-end");
    check_overlay(v, img, b, T - 1, true, 1, "overlay at the last frame");
    orr_tensor_free(img);
    point(v, b, 2.5 / 8, 0.5 / 6, &x, &y);
    snprintf(line, sizeof line, "move %d %d", x, y);
    run(v, line);
    run(v, "wait 1");
    s = state(v);
    CHECK(s.cursor_pane == b && s.cursor_on_weight && s.cursor_weight == 0.0); /* 1 - (2 % 3)/2 */
    point(v, a, 0.5, 0.5, &x, &y);
    snprintf(line, sizeof line, "move %d %d", x, y);
    run(v, line);
    run(v, "wait 1");
    s = state(v);
    CHECK(s.cursor_pane == a && !s.cursor_on_weight);
    run(v, "key o");
    img = shot(v, "overlay-hidden");
    CHECK(!state(v).overlays);
    check_frame(v, img, b, T - 1, 0, "exact pane with the overlay hidden");
    orr_tensor_free(img);
    run(v, "key o");
    run(v, "key shift+o"); /* onto the difference pane, black under it */
    img = shot(v, "overlay-moved");
    check_frame(v, img, b, T - 1, 0, "exact pane once the overlay moved on");
    check_overlay(v, img, d, T - 1, false, 1, "overlay moved to the difference pane");
    orr_tensor_free(img);

    /* help */
    run(v, "key ?");
    img = shot(v, "help");
    CHECK(state(v).help);
    orr_tensor_free(img);
    run(v, "key Escape");
    run(v, "wait 1");
    s = state(v);
    CHECK(!s.help && s.open);

    /* the screenshot key */
    run(v, "key s");
    run(v, "wait 1");
    char path[400];
    snprintf(path, sizeof path, "%s/orrery-0001.png", dir);
    orr_tensor *key_shot = NULL;
    CHECK_OK(orr_png_read(path, &key_shot, NULL));
    CHECK(key_shot && key_shot->shape[0] == 540 && key_shot->shape[1] == 960 && key_shot->shape[2] == 3);
    check_frame(v, key_shot, b, T - 1, 0, "the screenshot key's PNG");
    orr_tensor_free(key_shot);

    /* zoom with keys, then the wheel at the cursor, then pan by dragging */
    int r0[4], r1[4];
    CHECK_OK(orr_viewer_pane_rect(v, b, r0));
    run(v, "key =");
    run(v, "wait 1");
    CHECK_OK(orr_viewer_pane_rect(v, b, r1));
    CHECK(fabs(state(v).zoom - 1.25) < 1e-9 && abs(r1[2] - (int)lround(r0[2] * 1.25)) <= 1);
    run(v, "key 0");
    point(v, b, 0.3, 0.3, &x, &y);
    snprintf(line, sizeof line, "move %d %d", x, y);
    run(v, line);
    run(v, "wait 1");
    double u0 = state(v).cursor_u, w0 = state(v).cursor_v;
    run(v, "wheel 2");
    img = shot(v, "wheel-zoom");
    s = state(v);
    CHECK(fabs(s.zoom - 1.5625) < 1e-9 && s.cursor_pane == b);
    CHECK_OK(orr_viewer_pane_rect(v, b, r1));
    CHECK(fabs(s.cursor_u - u0) * r1[2] <= 1 && fabs(s.cursor_v - w0) * r1[3] <= 1); /* the point stays put */
    /* the point under the cursor shows the same frame pixel in both panes
     * (the rest of the enlarged image lies outside the cells) */
    uint8_t want[3];
    colour_of(T - 1, (int)(0.3 * H), (int)(0.3 * W), want);
    for (int pane = 0; pane < 2 && img; pane++) {
        int px, py;
        point(v, pane, 0.3, 0.3, &px, &py);
        CHECK(near3(pixel(img, px, py), want, pane == a ? 8 : 0));
    }
    orr_tensor_free(img);
    double pan = s.pan_x;
    snprintf(line, sizeof line, "drag %d %d %d %d", x, y, x - 40, y);
    run(v, line);
    run(v, "wait 1");
    CHECK(fabs(state(v).pan_x - (pan + 40.0 / r1[2])) < 1e-9);
    run(v, "key 0");
    run(v, "wait 1");
    s = state(v);
    CHECK(s.zoom == 1 && s.pan_x == 0 && s.pan_y == 0);

    /* layouts: a column, a grid, a row again */
    run(v, "key g");
    run(v, "wait 1");
    CHECK_OK(orr_viewer_pane_rect(v, 0, r0));
    CHECK_OK(orr_viewer_pane_rect(v, 1, r1));
    CHECK(state(v).layout == ORR_LAYOUT_COLUMN && r1[1] > r0[1] + r0[3]);
    run(v, "key g");
    run(v, "wait 1");
    CHECK_OK(orr_viewer_pane_rect(v, 2, r1));
    CHECK(state(v).layout == ORR_LAYOUT_GRID && r1[1] > r0[1] + r0[3]);
    img = shot(v, "grid");
    check_frame(v, img, a, T - 1, 8, "mp4 pane in the grid");
    check_frame(v, img, b, T - 1, 0, "exact pane in the grid");
    orr_tensor_free(img);
    run(v, "key g");

    /* fullscreen and back */
    run(v, "key f");
    run(v, "wait 2");
    CHECK(state(v).fullscreen);
    run(v, "key f");
    run(v, "wait 2");
    CHECK(!state(v).fullscreen);

    /* mistakes are told, not crashed on */
    CHECK_FAILS(orr_viewer_command(v, "jump 3"), ORR_ERR_FORMAT, "cannot read 'jump 3'");
    CHECK_FAILS(orr_viewer_command(v, "key nosuchkey"), ORR_ERR_ARGUMENT, "unknown key 'nosuchkey'");
    CHECK_FAILS(orr_viewer_command(v, "click 3"), ORR_ERR_FORMAT, "cannot read 'click 3'");
    CHECK_FAILS(orr_viewer_add_difference(v, NULL, 0, 7, 1, NULL), ORR_ERR_ARGUMENT, "pane b is 7");
    CHECK_FAILS(orr_viewer_set_overlay(v, 5, weights, 0, 1), ORR_ERR_ARGUMENT, "pane 5");
    orr_tensor *bad = NULL;
    CHECK_OK(orr_tensor_zeros(&bad, ORR_F32, 1, (int64_t[]){5}));
    CHECK_FAILS(orr_viewer_set_overlay(v, 0, bad, 0, 1), ORR_ERR_SHAPE, "weights is f32[5], expected [T,H,W] or [H,W]");
    CHECK_FAILS(orr_viewer_add_frames(v, NULL, bad, 24, NULL), ORR_ERR_SHAPE, "frames is f32[5]");
    CHECK_FAILS(orr_viewer_add_video(v, NULL, "/nonexistent/video.mp4", NULL), ORR_ERR_IO, "/nonexistent/video.mp4");
    CHECK_FAILS(orr_viewer_pane_rect(v, 3, r0), ORR_ERR_ARGUMENT, "pane 3");
    CHECK(state(v).panes == 3);
    orr_tensor_free(bad);

    bool open = true;
    run(v, "quit");
    CHECK_OK(orr_viewer_update(v, 0, &open));
    CHECK(!open && !state(v).open);
    orr_viewer_close(v);
    orr_tensor_free(weights);
    orr_tensor_free(frames);
}

/* A script file played by orr_viewer_run, as `orrery view --script` does. */
static void test_script(const char *video) {
    char script[400], png[400];
    snprintf(script, sizeof script, "%s/keys.txt", dir);
    snprintf(png, sizeof png, "%s/scripted.png", dir);
    FILE *f = fopen(script, "w");
    if (f) {
        fprintf(f, "# two steps and a screenshot\nkey Right\n\nkey Right\nscreenshot %s\nquit\n", png);
        fclose(f);
    }
    orr_viewer_params p;
    orr_viewer_params_init(&p);
    p.script = script;
    orr_viewer *v = NULL;
    CHECK_OK(orr_viewer_open(&p, &v));
    if (!v) return;
    CHECK_OK(orr_viewer_add_video(v, NULL, video, NULL));
    CHECK_OK(orr_viewer_run(v));
    orr_viewer_state s = state(v);
    CHECK(!s.open && s.frame == 2);
    orr_tensor *img = NULL;
    orr_metadata *meta = NULL;
    CHECK_OK(orr_metadata_create(&meta));
    CHECK_OK(orr_png_read(png, &img, meta));
    check_frame(v, img, 0, 2, 8, "scripted screenshot");
    CHECK(meta && orr_metadata_get(meta, "orrery_frame") && !strcmp(orr_metadata_get(meta, "orrery_frame"), "2"));
    CHECK(meta && orr_metadata_get(meta, "orrery_pane_0") &&
          !strcmp(orr_metadata_get(meta, "orrery_pane_0"), "input.mp4"));
    orr_metadata_free(meta);
    orr_tensor_free(img);
    orr_viewer_close(v);

    f = fopen(script, "w");
    if (f) {
        fprintf(f, "key Right\nkey Right twice\n");
        fclose(f);
    }
    CHECK_OK(orr_viewer_open(&p, &v));
    if (!v) return;
    CHECK_FAILS(orr_viewer_run(v), ORR_ERR_ARGUMENT, "keys.txt:2: viewer: unknown key 'Right twice'");
    orr_viewer_close(v);
}

/* Updates the viewer until the job's state passes `until`, at most 60 s. */
static void update_until(orr_viewer *v, orr_world_job *job, orr_world_job_state *s,
                         bool (*until)(const orr_world_job_state *)) {
    for (int i = 0; i < 600; i++) {
        orr_world_job_poll(job, s, 0.1);
        if (until(s)) break;
    }
    CHECK_OK(orr_viewer_update(v, 0, NULL));
}

static bool one_preview(const orr_world_job_state *s) { return s->preview_version >= 1; }
static bool two_previews(const orr_world_job_state *s) { return s->preview_version >= 2; }
static bool finished(const orr_world_job_state *s) { return s->done; }

/* Pane p shows `frame` (u8 [H,W,3], enlarged with whole pixels) exactly. */
static void check_image(orr_viewer *v, const orr_tensor *img, int p, const uint8_t *frame, int64_t h, int64_t w,
                        const char *what) {
    if (!img) return;
    int bad = 0;
    for (int64_t y = 0; y < h; y += 1 + h / 8)
        for (int64_t x = 0; x < w; x += 1 + w / 8) {
            int sx, sy;
            point(v, p, (x + 0.5) / w, (y + 0.5) / h, &sx, &sy);
            bad += !near3(pixel(img, sx, sy), frame + (y * w + x) * 3, 0);
        }
    test_checks++;
    if (bad) {
        test_failures++;
        fprintf(stderr, "%s: %d pixels of pane %d differ from the frame\n", what, bad, p);
    }
}

/* A generation on a worker thread, watched in a pane: the projected x0
 * estimate, a full decode on d, the generated video at the end; c cancels. */
static void test_live(void) {
    orr_tokenizer *tok = NULL;
    orr_dit *dit = NULL;
    orr_tensor *text = NULL, *video = NULL, *preview = NULL, *img;
    CHECK_OK(orr_tokenizer_create_random(&tok, tiny_cv_config, 1));
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", tiny_dit_config, 3));
    CHECK_OK(orr_tensor_zeros(&text, ORR_F32, 3, (int64_t[]){1, 4, 8}));
    CHECK_OK(orr_tensor_zeros(&video, ORR_U8, 5, (int64_t[]){1, 3, 9, 32, 32}));
    orr_world_params p;
    tiny_params(&p);
    tiny_gate g = TINY_GATE(0);
    tiny_gate_use(&g, &p);
    orr_world_job *job = NULL;
    orr_viewer *v = NULL;
    CHECK_OK(orr_world_job_start(&job, dit, tok, video, text, NULL, NULL, &p));
    CHECK_OK(orr_viewer_open(NULL, &v));
    if (!job || !v) goto done;
    int pane = -1;
    CHECK_OK(orr_viewer_add_job(v, "live", job, &pane));
    orr_world_job_state s;
    CHECK(tiny_gate_holds(&g, 1)); /* step 0 is done, step 1 waits */
    update_until(v, job, &s, one_preview);
    orr_viewer_state vs = state(v);
    CHECK(pane == 0 && vs.frames == 9 && vs.fps == 24);
    /* step 0's x0 estimate, projected: latent frame 0, 4x4 */
    img = shot(v, "live-projection");
    CHECK_OK(orr_world_job_preview(job, &preview));
    CHECK(preview && preview->shape[1] == 4 && preview->shape[2] == 4);
    if (preview) check_image(v, img, pane, preview->data, 4, 4, "projected preview");
    orr_tensor_free(preview);
    orr_tensor_free(img);

    run(v, "key d");
    run(v, "wait 1");
    tiny_gate_allow(&g, 1);
    CHECK(tiny_gate_holds(&g, 2));
    update_until(v, job, &s, two_previews);
    CHECK(s.preview_decoded && s.preview_step == 1);
    img = shot(v, "live-decoded");
    preview = NULL;
    CHECK_OK(orr_world_job_preview(job, &preview));
    CHECK(preview && preview->shape[0] == 9 && preview->shape[1] == 32);
    if (preview) check_image(v, img, pane, preview->data, 32, 32, "decoded preview");
    orr_tensor_free(preview);
    orr_tensor_free(img);

    tiny_gate_allow(&g, 4);
    update_until(v, job, &s, finished);
    CHECK(s.done && s.status == ORR_OK);
    run(v, "key End");
    img = shot(v, "live-done");
    /* the generated video, frame 8: [1,3,9,32,32] to [32,32,3] */
    uint8_t last[32 * 32 * 3];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 32 * 32; i++) last[i * 3 + c] = ((uint8_t *)video->data)[(c * 9 + 8) * 32 * 32 + i];
    check_image(v, img, pane, last, 32, 32, "generated video");
    orr_tensor_free(img);
    orr_viewer_close(v);
    orr_world_job_free(job);

    /* c cancels (the same gate, closed again after step 0) */
    tiny_gate_allow(&g, 0);
    job = NULL;
    v = NULL;
    CHECK_OK(orr_world_job_start(&job, dit, tok, video, text, NULL, NULL, &p));
    CHECK_OK(orr_viewer_open(NULL, &v));
    if (job && v) {
        CHECK_OK(orr_viewer_add_job(v, NULL, job, NULL));
        CHECK(tiny_gate_holds(&g, 1));
        update_until(v, job, &s, one_preview);
        run(v, "key c");
        run(v, "wait 1");
        orr_world_job_poll(job, &s, 0);
        CHECK(s.cancel_requested);
        tiny_gate_allow(&g, 4);
        update_until(v, job, &s, finished);
        CHECK(s.status == ORR_ERR_CANCELLED);
        img = shot(v, "live-cancelled");
        orr_tensor_free(img);
    }
done:
    tiny_gate_allow(&g, 4); /* a failed check must not leave the worker waiting */
    orr_viewer_close(v);
    orr_world_job_free(job);
    orr_tensor_free(video);
    orr_tensor_free(text);
    orr_dit_free(dit);
    orr_tokenizer_free(tok);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) { return remove(path); }

int main(void) {
    test_no_display();
    pid_t x = xvfb_start();
    if (x < 0) {
        printf("viewer: skipped, no X server (Xvfb) could be started\n");
        return 77;
    }
    snprintf(dir, sizeof dir, "%s/orrery-viewer-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        xvfb_stop(x);
        fprintf(stderr, "viewer: cannot make a folder for the screenshots\n");
        return 1;
    }
    char video[400];
    snprintf(video, sizeof video, "%s/input.mp4", dir);
    orr_tensor *frames = make_frames();
    orr_video_write_params wp;
    orr_video_write_params_init(&wp);
    wp.fps = 24;
    CHECK_OK(orr_video_save(video, frames, &wp, NULL));
    orr_tensor_free(frames);
    test_playback(video);
    test_script(video);
    test_live();
    xvfb_stop(x);
    const char *keep = getenv("ORR_TEST_KEEP");
    if (keep && keep[0] == '1') printf("viewer: screenshots kept in %s\n", dir);
    else nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return test_finish("viewer");
}
