/* screenshot.c — what the window shows, read back from the renderer
 * (after drawing, before presenting) and written as a PNG with the
 * timeline position and the panes in its text chunks. */
#include <stdio.h>
#include <sys/stat.h>

#include "internal.h"
#include "viewer.h"

static orr_status describe(const orr_viewer *v, orr_metadata *m) {
    char value[64], key[32];
    snprintf(value, sizeof value, "%lld", (long long)v->frame);
    orr_status st = orr_metadata_set(m, "orrery_frame", value);
    snprintf(value, sizeof value, "%.6f", (double)v->frame / v->fps);
    if (!st) st = orr_metadata_set(m, "orrery_time", value);
    for (int i = 0; !st && i < v->n_panes; i++) {
        snprintf(key, sizeof key, "orrery_pane_%d", i);
        st = orr_metadata_set(m, key, v->panes[i].label[0] ? v->panes[i].label : "-");
    }
    return st;
}

orr_status viewer_capture(orr_viewer *v, const char *path) {
    int w, h;
    viewer_output_size(v, &w, &h);
    orr_tensor *image = NULL;
    orr_metadata *m = NULL;
    orr_status st = orr_tensor_empty(&image, ORR_U8, 3, (const int64_t[]){h, w, 3});
    if (!st && SDL_RenderReadPixels(v->renderer, NULL, SDL_PIXELFORMAT_RGB24, image->data, w * 3))
        st = orr_error(ORR_ERR_IO, "viewer: screenshot %s: cannot read the window back: %s", path, SDL_GetError());
    if (!st) st = orr_metadata_create(&m);
    if (!st) st = describe(v, m);
    if (!st) st = orr_png_write(path, image, m);
    orr_metadata_free(m);
    orr_tensor_free(image);
    return st;
}

/* The next free name orrery-NNNN.png in the screenshot folder. */
orr_status viewer_screenshot_key(orr_viewer *v) {
    char path[600];
    struct stat sb;
    do
        snprintf(path, sizeof path, "%s/orrery-%04d.png", v->screenshot_dir, ++v->screenshot_count);
    while (stat(path, &sb) == 0 && v->screenshot_count < 100000);
    orr_status st = viewer_capture(v, path);
    if (st) viewer_note(v, "screenshot failed: %s", orr_last_error());
    else viewer_note(v, "saved %s", path);
    return st;
}
