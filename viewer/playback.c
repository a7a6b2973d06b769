/* playback.c — the clock of the timeline: time runs at `speed` while
 * playing, and the frame shown is the one whose interval holds it. */
#include <math.h>

#include "viewer.h"

void viewer_set_frame(orr_viewer *v, int64_t frame) {
    if (frame >= v->frames) frame = v->frames - 1;
    if (frame < 0) frame = 0;
    v->frame = frame;
    v->position = (double)frame / v->fps;
}

void viewer_advance(orr_viewer *v, double seconds) {
    if (!v->playing || v->frames < 1 || seconds <= 0) return;
    double length = (double)v->frames / v->fps;
    v->position += seconds * v->speed;
    if (v->position >= length) {
        if (v->loop) {
            v->position = fmod(v->position, length);
        } else {
            v->playing = false;
            viewer_set_frame(v, v->frames - 1);
            return;
        }
    }
    int64_t f = (int64_t)floor(v->position * v->fps + 1e-6);
    v->frame = f < v->frames ? f : v->frames - 1;
}
