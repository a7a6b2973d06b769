/* The HUD's built-in font: every printable ASCII character has its own
 * glyph (none blank but the space, no two alike), and the table reads as
 * the letters it draws. Needs no display. */
#include "font.h"
#include "test_util.h"

static void test_glyphs(void) {
    int blank = 0, alike = 0;
    for (int c = FONT_FIRST; c <= FONT_LAST; c++) {
        int lit = 0;
        for (int y = 0; y < FONT_GLYPH_H; y++)
            for (int x = 0; x < FONT_GLYPH_W; x++) lit += font_pixel(c, x, y);
        blank += (lit == 0) != (c == ' ');
        for (int d = FONT_FIRST; d < c; d++) {
            bool same = true;
            for (int y = 0; y < FONT_GLYPH_H && same; y++)
                for (int x = 0; x < FONT_GLYPH_W && same; x++) same = font_pixel(c, x, y) == font_pixel(d, x, y);
            if (same) fprintf(stderr, "'%c' and '%c' have the same glyph\n", c, d);
            alike += same;
        }
    }
    CHECK(blank == 0);
    CHECK(alike == 0);
}

static void test_shapes(void) {
    /* 'L': the left column and the bottom row */
    for (int y = 0; y < FONT_GLYPH_H; y++)
        for (int x = 0; x < FONT_GLYPH_W; x++) CHECK(font_pixel('L', x, y) == (x == 0 || y == FONT_GLYPH_H - 1));
    /* '-': the middle row only */
    for (int y = 0; y < FONT_GLYPH_H; y++) CHECK(font_pixel('-', 2, y) == (y == 3));
    /* outside the glyph, and characters outside printable ASCII draw as '?' */
    CHECK(!font_pixel('A', FONT_GLYPH_W, 0) && !font_pixel('A', 0, -1));
    for (int y = 0; y < FONT_GLYPH_H; y++)
        for (int x = 0; x < FONT_GLYPH_W; x++) CHECK(font_pixel(200, x, y) == font_pixel('?', x, y));
}

int main(void) {
    test_glyphs();
    test_shapes();
    return test_finish("viewer_font");
}
