/* dit_embed.c — the DiT's fixed and learned embeddings: the timestep
 * sinusoid (blocks.py Timesteps), the 3-D RoPE angle table
 * (position_embedding.py VideoRopePosition3DEmb) and the learnable
 * per-axis absolute embedding (LearnablePosEmbAxis). Each computes in
 * float32 in the official order of operations. */
#include <math.h>
#include <string.h>

#include "dit.h"

void orr_dit_timestep_sinusoid(float *emb, float t, int dim) {
    int half = dim / 2;
    for (int i = 0; i < half; i++) {
        float exponent = (-9.210340371976184f * (float)i) / (float)half; /* -ln(10000) i / half */
        float arg = t * expf(exponent);
        emb[i] = cosf(arg); /* cos first, then sin */
        emb[half + i] = sinf(arg);
    }
}

/* 1 / theta^(2j/dim) for j < dim/2, with theta = 10000 * ratio^(dim/(dim-2))
 * (the NTK-aware extrapolation factor). */
static void axis_freqs(float *freqs, int dim, double ratio) {
    double theta = 10000.0 * pow(ratio, (double)dim / (dim - 2));
    for (int j = 0; j < dim / 2; j++) freqs[j] = 1.0f / powf((float)theta, (float)(2 * j) / (float)dim);
}

void orr_dit_rope_angles(float *angles, const dit_config *cfg, int tp, int hp, int wp, float fps, bool has_fps) {
    int head_dim = cfg->model_channels / cfg->num_heads;
    int dim_h = head_dim / 6 * 2, dim_w = dim_h, dim_t = head_dim - 2 * dim_h;
    int nt = dim_t / 2, nh = dim_h / 2, nw = dim_w / 2, half = nt + nh + nw;
    float freq_t[nt], freq_h[nh], freq_w[nw];
    axis_freqs(freq_t, dim_t, cfg->rope_ratio_t);
    axis_freqs(freq_h, dim_h, cfg->rope_ratio_h);
    axis_freqs(freq_w, dim_w, cfg->rope_ratio_w);
    for (int t = 0; t < tp; t++) {
        /* positions in time are rescaled to the 24 fps the model saw */
        float pos_t = has_fps ? (float)t / fps * 24.0f : (float)t;
        for (int h = 0; h < hp; h++)
            for (int w = 0; w < wp; w++) {
                float *a = angles + ((int64_t)(t * hp + h) * wp + w) * head_dim;
                for (int j = 0; j < nt; j++) a[j] = pos_t * freq_t[j];
                for (int j = 0; j < nh; j++) a[nt + j] = (float)h * freq_h[j];
                for (int j = 0; j < nw; j++) a[nt + nh + j] = (float)w * freq_w[j];
                memcpy(a + half, a, (size_t)half * sizeof *a); /* [t h w] twice */
            }
    }
}

void orr_dit_learnable_pos(float *out, const orr_dit *dit, int tp, int hp, int wp) {
    int D = dit->cfg.model_channels;
    const float *pt = dit->pos_t->data, *ph = dit->pos_h->data, *pw = dit->pos_w->data;
    float rms_scale = (float)sqrt(1.0 / D);
    for (int t = 0; t < tp; t++)
        for (int h = 0; h < hp; h++)
            for (int w = 0; w < wp; w++) {
                float *e = out + ((int64_t)(t * hp + h) * wp + w) * D;
                double sq = 0;
                for (int i = 0; i < D; i++) {
                    e[i] = pt[(int64_t)t * D + i] + ph[(int64_t)h * D + i] + pw[(int64_t)w * D + i];
                    sq += (double)e[i] * e[i];
                }
                /* x / (eps + |x| sqrt(1/D)): the eps sits outside the root */
                float norm = 1e-6f + (float)sqrt(sq) * rms_scale;
                for (int i = 0; i < D; i++) e[i] /= norm;
            }
}
