/* draw.c — one picture of the window: the panes' current frames with
 * their overlays, clipped to their cells, then the labels, the HUD and
 * the help sheet on top. */
#include "viewer.h"

static void draw_pane(orr_viewer *v, int i) {
    SDL_Renderer *r = v->renderer;
    viewer_pane *p = &v->panes[i];
    viewer_rect cell, image;
    viewer_pane_cell(v, i, &cell);
    SDL_Rect clip = {(int)cell.x, (int)cell.y, (int)cell.w, (int)cell.h};
    SDL_RenderSetClipRect(r, &clip);
    SDL_SetRenderDrawColor(r, 0, 0, 0, 255);
    SDL_RenderFillRect(r, &clip);
    if (p->texture && p->shown_frame >= 0 && viewer_pane_image(v, i, &image)) {
        SDL_FRect dst = {image.x, image.y, image.w, image.h};
        /* blocks of pixels when enlarged (to inspect them), smoothed when shrunk */
        SDL_SetTextureScaleMode(p->texture, image.w >= p->texture_w ? SDL_ScaleModeNearest : SDL_ScaleModeLinear);
        SDL_RenderCopyF(r, p->texture, NULL, &dst);
        if (v->overlays && p->overlay.texture) SDL_RenderCopyF(r, p->overlay.texture, NULL, &dst);
    } else {
        const char *text = p->kind == PANE_JOB ? "waiting for the first step"
                         : p->sizes_differ     ? "sizes differ"
                                               : "no frame";
        SDL_Color grey = {160, 160, 160, 255};
        font_draw(&v->font, r, clip.x + (clip.w - font_width(&v->font, text)) / 2, clip.y + clip.h / 2 - VIEWER_LINE / 2,
                  grey, text);
    }
    SDL_RenderSetClipRect(r, NULL);
}

orr_status viewer_draw(orr_viewer *v) {
    orr_status st = viewer_panes_refresh(v);
    if (st) return st;
    SDL_Renderer *r = v->renderer;
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
    SDL_SetRenderDrawColor(r, 24, 24, 24, 255);
    SDL_RenderClear(r);
    for (int i = 0; i < v->n_panes; i++) draw_pane(v, i);
    viewer_labels_draw(v);
    viewer_hud_draw(v);
    if (v->help) viewer_help_draw(v);
    return ORR_OK;
}
