/* viewer.h — the viewer's insides, shared by its files (not public). */
#ifndef ORR_VIEWER_INTERNAL_H
#define ORR_VIEWER_INTERNAL_H

#include <SDL.h>

#include "orrery.h"

#include "font.h"

enum { VIEWER_MAX_PANES = 16 };

/* Pixel geometry of the window (at font scale 2). */
enum {
    VIEWER_LINE = 2 * FONT_LINE, /* a text line */
    VIEWER_LABEL = 22,    /* the label strip above each pane */
    VIEWER_TIMELINE = 14, /* the scrub bar */
    VIEWER_MARGIN = 6
};

typedef struct viewer_overlay {
    orr_tensor *weights; /* f32 [T,H,W], contiguous */
    float vmin, vmax;
    SDL_Texture *texture;
    int64_t shown_frame; /* the frame in the texture; -1 for none */
} viewer_overlay;

typedef enum pane_kind { PANE_FRAMES, PANE_DIFFERENCE, PANE_JOB } pane_kind;

typedef struct viewer_pane {
    pane_kind kind;
    char label[96];
    /* u8 [T,H,W,3], contiguous: the pane's frames (a job's latest preview
     * or result; a difference's current frame). NULL while there is none. */
    orr_tensor *frames;
    int64_t length; /* frames on the timeline at `fps` (a preview's few latent
                       frames are spread over them) */
    double fps;
    int64_t image_w, image_h; /* the size the pane is laid out at */
    uint64_t version; /* bumps whenever `frames` is replaced */

    /* PANE_DIFFERENCE */
    int a, b;
    float gain;
    double psnr;
    bool sizes_differ;
    int64_t diff_of[2];      /* the frames of a and b it was computed from */
    uint64_t diff_version[2];

    /* PANE_JOB */
    orr_world_job *job;
    orr_world_job_state job_state;
    bool job_final; /* the generated video has replaced the previews */

    SDL_Texture *texture;
    int64_t texture_w, texture_h;
    int64_t shown_frame;
    uint64_t shown_version;
    viewer_overlay overlay; /* overlay.weights NULL: none */
} viewer_pane;

struct orr_viewer {
    SDL_Window *window;
    SDL_Renderer *renderer;
    viewer_font font;
    char title[128];
    char screenshot_dir[512];
    char script[512];
    int width, height; /* asked for; 0 = from the panes */

    viewer_pane panes[VIEWER_MAX_PANES];
    int n_panes;

    /* the timeline: the longest pane at the highest fps */
    int64_t frame, frames;
    double fps;
    double position; /* seconds into the timeline while playing */
    bool playing, loop;
    double speed;

    /* the view, shared by every pane: zoom around the image centre, pan
     * in fractions of the image */
    double zoom, pan_x, pan_y;
    orr_viewer_layout layout;
    bool fullscreen, help, overlays;

    /* the pointer */
    int mouse_x, mouse_y;
    bool dragging_image, dragging_timeline;

    bool open;
    uint64_t last_counter;
    double clock;          /* seconds of updates so far (virtual under scripts) */
    char message[256];     /* a note shown in the HUD until message_until */
    double message_until;
    bool screenshot_wanted;
    int screenshot_count;
};

typedef struct viewer_rect {
    float x, y, w, h;
} viewer_rect;

/* panes.c */
void viewer_pane_free(viewer_pane *p);
/* "the viewer has panes 0..N" (or none yet), for messages. */
const char *viewer_panes_text(const orr_viewer *v, char *buf, size_t size);
orr_status viewer_frames_from_tensor(const orr_tensor *t, orr_tensor **out);
/* The frame of pane p shown at timeline frame f, -1 when it has none. */
int64_t viewer_pane_frame(const orr_viewer *v, const viewer_pane *p, int64_t f);
/* Recomputes the timeline's length and fps from the panes. */
void viewer_timeline_update(orr_viewer *v);
/* Brings pane textures (and difference images) up to the current frame. */
orr_status viewer_panes_refresh(orr_viewer *v);
/* Follows the jobs of job panes. */
orr_status viewer_jobs_poll(orr_viewer *v);

/* layout.c */
void viewer_output_size(const orr_viewer *v, int *w, int *h);
int viewer_bar_height(const orr_viewer *v);
/* The cell of pane i (below its label) and where its image lies in it. */
void viewer_pane_cell(const orr_viewer *v, int i, viewer_rect *cell);
bool viewer_pane_image(const orr_viewer *v, int i, viewer_rect *image);
/* The pane under window point (x, y) and the point over its image (0..1);
 * -1 for none. */
int viewer_pane_at(const orr_viewer *v, int x, int y, double *u, double *w);
void viewer_timeline_rect(const orr_viewer *v, viewer_rect *r);
/* Zooms by `factor` keeping image point (u, w) of the view in place. */
void viewer_zoom_at(orr_viewer *v, double factor, double u, double w);
/* Window size for the panes at 1:1, within the screen. */
void viewer_natural_size(const orr_viewer *v, int *w, int *h);

/* overlay.c */
orr_status viewer_overlay_set(viewer_overlay *o, const orr_tensor *weights, float vmin, float vmax);
void viewer_overlay_free(viewer_overlay *o);
/* The overlay frame shown at the pane's frame pf of n. */
int64_t viewer_overlay_frame(const viewer_overlay *o, int64_t pf, int64_t n);
orr_status viewer_overlay_refresh(orr_viewer *v, viewer_overlay *o, int64_t frame);
float viewer_overlay_value(const viewer_overlay *o, int64_t frame, double u, double w);

/* draw.c */
orr_status viewer_draw(orr_viewer *v);

/* hud.c */
void viewer_hud_draw(orr_viewer *v);
void viewer_help_draw(orr_viewer *v);
void viewer_labels_draw(orr_viewer *v);
void viewer_note(orr_viewer *v, const char *fmt, ...) SDL_PRINTF_VARARG_FUNC(2);

/* input.c */
void viewer_handle_event(orr_viewer *v, const SDL_Event *e);

/* playback.c */
void viewer_advance(orr_viewer *v, double seconds);
/* Shows `frame` (clamped to the timeline). */
void viewer_set_frame(orr_viewer *v, int64_t frame);

/* screenshot.c */
orr_status viewer_capture(orr_viewer *v, const char *path);
orr_status viewer_screenshot_key(orr_viewer *v);

/* script.c */
orr_status viewer_script_run(orr_viewer *v, const char *path);

#endif
