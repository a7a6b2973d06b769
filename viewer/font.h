/* font.h — a built-in 5x7 bitmap font for the HUD (SDL2 draws no text). */
#ifndef ORR_VIEWER_FONT_H
#define ORR_VIEWER_FONT_H

#include <stdbool.h>
#include <stdint.h>

#include <SDL.h>

/* A line of text is FONT_LINE glyph rows: the glyph, two for the tails of
 * g, p, q and y, and one of space (viewer.h's VIEWER_LINE at scale 2). */
enum {
    FONT_LINE = 10,
    FONT_GLYPH_W = 5,
    FONT_GLYPH_H = 7,
    FONT_FIRST = 32, /* ' ' */
    FONT_LAST = 126  /* '~' */
};

typedef struct viewer_font {
    SDL_Texture *atlas; /* every glyph side by side, white on transparent */
    int scale;          /* screen pixels per glyph pixel */
} viewer_font;

/* Whether pixel (x, y) of character c's glyph is lit (c outside ASCII's
 * printable range draws as '?'). */
bool font_pixel(int c, int x, int y);
int font_advance(const viewer_font *f); /* horizontal step per character */

bool font_init(viewer_font *f, SDL_Renderer *r, int scale);
void font_free(viewer_font *f);
/* Draws text at (x, y) (top left) in `color`; returns the x after it. */
int font_draw(const viewer_font *f, SDL_Renderer *r, int x, int y, SDL_Color color, const char *text);
int font_width(const viewer_font *f, const char *text);

#endif
