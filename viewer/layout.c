/* layout.c — where things lie in the window: panes in a row, a column or
 * a grid, each image fitted to its cell then zoomed and panned the same
 * way in every pane (so that they stay in register), and the HUD bar with
 * its timeline at the bottom. */
#include <math.h>

#include "viewer.h"

void viewer_output_size(const orr_viewer *v, int *w, int *h) {
    if (SDL_GetRendererOutputSize(v->renderer, w, h)) *w = *h = 0;
}

static bool has_job(const orr_viewer *v) {
    for (int i = 0; i < v->n_panes; i++)
        if (v->panes[i].kind == PANE_JOB) return true;
    return false;
}

int viewer_bar_height(const orr_viewer *v) {
    int lines = has_job(v) ? 3 : 2;
    return VIEWER_MARGIN + VIEWER_TIMELINE + VIEWER_MARGIN + lines * VIEWER_LINE + VIEWER_MARGIN;
}

static orr_viewer_layout effective_layout(const orr_viewer *v) {
    if (v->layout != ORR_LAYOUT_AUTO) return v->layout;
    return v->n_panes <= 3 ? ORR_LAYOUT_ROW : ORR_LAYOUT_GRID;
}

static void grid(const orr_viewer *v, int *cols, int *rows) {
    int n = v->n_panes > 0 ? v->n_panes : 1;
    switch (effective_layout(v)) {
    case ORR_LAYOUT_COLUMN: *cols = 1; break;
    case ORR_LAYOUT_GRID: *cols = (int)ceil(sqrt((double)n)); break;
    default: *cols = n; break;
    }
    *rows = (n + *cols - 1) / *cols;
}

void viewer_pane_cell(const orr_viewer *v, int i, viewer_rect *cell) {
    int w, h, cols, rows;
    viewer_output_size(v, &w, &h);
    grid(v, &cols, &rows);
    float cw = (float)w / cols, ch = (float)(h - viewer_bar_height(v)) / rows;
    int col = i % cols, row = i / cols;
    cell->x = col * cw + VIEWER_MARGIN;
    cell->y = row * ch + VIEWER_LABEL;
    cell->w = cw - 2 * VIEWER_MARGIN;
    cell->h = ch - VIEWER_LABEL - VIEWER_MARGIN;
    if (cell->w < 1) cell->w = 1;
    if (cell->h < 1) cell->h = 1;
}

bool viewer_pane_image(const orr_viewer *v, int i, viewer_rect *image) {
    const viewer_pane *p = &v->panes[i];
    if (p->image_w < 1 || p->image_h < 1) return false;
    viewer_rect cell;
    viewer_pane_cell(v, i, &cell);
    double fit = fmin(cell.w / p->image_w, cell.h / p->image_h);
    double w = p->image_w * fit * v->zoom, h = p->image_h * fit * v->zoom;
    double cx = cell.x + cell.w / 2.0, cy = cell.y + cell.h / 2.0;
    /* whole pixels: frame pixels then land on screen pixels the same way in every pane */
    image->w = (float)round(w);
    image->h = (float)round(h);
    image->x = (float)round(cx - w / 2 - v->pan_x * w);
    image->y = (float)round(cy - h / 2 - v->pan_y * h);
    return true;
}

int viewer_pane_at(const orr_viewer *v, int x, int y, double *u, double *w) {
    for (int i = 0; i < v->n_panes; i++) {
        viewer_rect cell, image;
        viewer_pane_cell(v, i, &cell);
        if (x < cell.x || x >= cell.x + cell.w || y < cell.y || y >= cell.y + cell.h) continue;
        if (!viewer_pane_image(v, i, &image)) return -1;
        /* the centre of the screen pixel, as the renderer samples it */
        *u = (x + 0.5 - image.x) / image.w;
        *w = (y + 0.5 - image.y) / image.h;
        return i;
    }
    return -1;
}

void viewer_timeline_rect(const orr_viewer *v, viewer_rect *r) {
    int w, h;
    viewer_output_size(v, &w, &h);
    r->x = VIEWER_MARGIN;
    r->y = (float)(h - viewer_bar_height(v) + VIEWER_MARGIN);
    r->w = (float)(w - 2 * VIEWER_MARGIN);
    r->h = VIEWER_TIMELINE;
}

void viewer_zoom_at(orr_viewer *v, double factor, double u, double w) {
    double zoom = v->zoom * factor;
    zoom = zoom < 0.125 ? 0.125 : zoom > 64 ? 64 : zoom;
    double k = v->zoom / zoom; /* the image's old size over its new */
    v->pan_x = u - 0.5 - (u - 0.5 - v->pan_x) * k;
    v->pan_y = w - 0.5 - (w - 0.5 - v->pan_y) * k;
    v->zoom = zoom;
}

void viewer_natural_size(const orr_viewer *v, int *w, int *h) {
    enum { MIN_W = 800, MIN_H = 480 }; /* room for the help sheet */
    int cols, rows;
    grid(v, &cols, &rows);
    double iw = 320, ih = 240;
    for (int i = 0; i < v->n_panes; i++) {
        if (i == 0 || v->panes[i].image_w > iw) iw = (double)v->panes[i].image_w;
        if (i == 0 || v->panes[i].image_h > ih) ih = (double)v->panes[i].image_h;
    }
    double chrome_w = cols * 2.0 * VIEWER_MARGIN, chrome_h = rows * (double)(VIEWER_LABEL + VIEWER_MARGIN) +
                                                          viewer_bar_height(v);
    SDL_Rect screen = {0, 0, 1920, 1080};
    SDL_GetDisplayUsableBounds(0, &screen);
    double max_w = 0.9 * screen.w - chrome_w, max_h = 0.9 * screen.h - chrome_h;
    double scale = fmin(1.0, fmin(max_w / (cols * iw), max_h / (rows * ih)));
    if (scale == 1.0) /* small frames: whole multiples, so that pixels stay square blocks */
        scale = fmax(1.0, floor(fmin(MIN_W / (cols * iw), max_h / (rows * ih))));
    *w = (int)fmax(MIN_W, cols * iw * scale + chrome_w);
    *h = (int)fmax(MIN_H, rows * ih * scale + chrome_h);
}
