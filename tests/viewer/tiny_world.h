/* tiny_world.h — a Text2World network small enough to run in
 * milliseconds (a random CV tokenizer and DiT), and a gate that holds its
 * sampler between steps so that a test sees a state that stays put. */
#ifndef ORR_TEST_TINY_WORLD_H
#define ORR_TEST_TINY_WORLD_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "orrery.h"

static const char *tiny_cv_config =
    "{\"name\": \"CV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [16], \"resolution\": 64, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"formulation\": \"AE\", \"legacy_mode\": false, \"dropout\": 0.0}";

static const char *tiny_dit_config =
    "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": 16, \"out_channels\": 16,"
    " \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, \"num_blocks\": 1, \"num_heads\": 2,"
    " \"block_x_format\": \"THWBD\", \"crossattn_emb_channels\": 8, \"pos_emb_cls\": \"rope3d\","
    " \"affline_emb_norm\": true, \"use_adaln_lora\": true, \"adaln_lora_dim\": 8,"
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\"}";

/* 9 frames of 32x32 (latent 2 x 4x4) in 4 steps. */
static void tiny_params(orr_world_params *p) {
    orr_world_params_init(p);
    p->frames = 9;
    p->height = 32;
    p->width = 32;
    p->sampler.steps = 4;
}

/* The sampler's guidance callback (a C function, on the worker thread)
 * waits while the step it is asked about is past `allowed`. */
typedef struct tiny_gate {
    pthread_mutex_t lock;
    pthread_cond_t moved;
    int allowed;
    int held; /* the step waiting at the gate, -1 for none */
} tiny_gate;

#define TINY_GATE(allowed) {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, (allowed), -1}

static double tiny_gated_guidance(void *user, int i, double sigma) {
    tiny_gate *g = user;
    pthread_mutex_lock(&g->lock);
    while (i > g->allowed) {
        g->held = i;
        pthread_cond_broadcast(&g->moved);
        pthread_cond_wait(&g->moved, &g->lock);
    }
    g->held = -1;
    pthread_mutex_unlock(&g->lock);
    return 7.0;
}

/* Waits (at most 60 s) until step `step` waits at the gate. */
static bool tiny_gate_holds(tiny_gate *g, int step) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&g->lock);
    int rc = 0;
    while (g->held != step && rc == 0) rc = pthread_cond_timedwait(&g->moved, &g->lock, &until);
    bool held = g->held == step;
    pthread_mutex_unlock(&g->lock);
    return held;
}

static void tiny_gate_allow(tiny_gate *g, int step) {
    pthread_mutex_lock(&g->lock);
    g->allowed = step;
    pthread_cond_broadcast(&g->moved);
    pthread_mutex_unlock(&g->lock);
}

static void tiny_gate_use(tiny_gate *g, orr_world_params *p) {
    p->sampler.guidance_fn = tiny_gated_guidance;
    p->sampler.guidance_user = g;
}

#endif
