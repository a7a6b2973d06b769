/* test_conv_temporal.c — the (kt,1,1) temporal convolution as per-tap
 * sgemms against the scalar reference: causal padding below and at kt - 1
 * (and none), a single frame, frames split into runs and large
 * frames cut into tiles, several batch items, strided channels, with and
 * without bias, on one thread and on two, from the official weight layout
 * and from transposed weights, with a residual added; the transpose; values
 * worked by hand; and which shapes it accepts. */
#include <math.h>

#include "conv_temporal.h"
#include "test_util.h"

/* A (kt,1,1) stride-1 geometry over contiguous x [batch, cin, frames, h, w]
 * and y [batch, cout, out frames, h, w]. */
static orr_conv_shape temporal(int64_t batch, int64_t cin, int64_t cout, int64_t kt, int64_t causal_pad,
                               int64_t frames, int64_t h, int64_t w) {
    orr_conv_shape s = {.batch = batch, .in_channels = cin, .out_channels = cout, .groups = 1,
                        .in = {frames, h, w}, .kernel = {kt, 1, 1}, .stride = {1, 1, 1}, .dilation = {1, 1, 1},
                        .causal_pad = causal_pad};
    for (int a = 0; a < 3; a++) s.out[a] = orr_conv_out_extent(&s, a);
    s.x_stride[1] = frames * h * w;
    s.y_stride[1] = s.out[0] * h * w;
    s.x_stride[0] = cin * s.x_stride[1];
    s.y_stride[0] = cout * s.y_stride[1];
    return s;
}

static float *filled(int64_t n, unsigned seed, float scale) {
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    test_fill(v, (long)n, seed);
    for (int64_t i = 0; i < n; i++) v[i] *= scale;
    return v;
}

/* The largest |fast - ref| over the output positions of s (not the gaps
 * of strided channels), relative to the largest |ref|. */
static double relative_error(const float *fast, const float *ref, const orr_conv_shape *s) {
    int64_t plane = s->out[0] * s->out[1] * s->out[2];
    double err = 0, mag = 0;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t co = 0; co < s->out_channels; co++)
            for (int64_t i = 0; i < plane; i++) {
                int64_t at = n * s->y_stride[0] + co * s->y_stride[1] + i;
                double d = fabs((double)fast[at] - ref[at]);
                err = d > err || d != d ? d : err;
                mag = fabs(ref[at]) > mag ? fabs(ref[at]) : mag;
            }
    return mag > 0 ? err / mag : err;
}

/* The kernel against the reference: from the official weight layout with
 * and without bias, and from weights transposed beforehand with bias,
 * without and with a residual added; the gaps between strided output
 * channels must stay untouched. */
static void check_against_ref(const char *what, const orr_conv_shape *s) {
    int64_t xn = s->batch * s->x_stride[0], yn = s->batch * s->y_stride[0];
    int64_t wn = s->out_channels * s->in_channels * s->kernel[0];
    float *x = filled(xn, 21, 1.0f), *w = filled(wn, 22, 1.0f / sqrtf((float)(s->kernel[0] * s->in_channels)));
    float *b = filled(s->out_channels, 23, 0.5f), *residual = filled(yn, 24, 2.0f);
    float *fast = malloc(sizeof(float) * (size_t)yn), *ref = malloc(sizeof(float) * (size_t)yn);
    float *w_t = malloc(sizeof(float) * (size_t)wn);
    orr_cpu_conv3d_pack_co_inner(w_t, w, s->out_channels, s->in_channels * s->kernel[0]);
    CHECK(orr_cpu_conv3d_temporal_applies(s));
    static const char *const runs[4] = {"", ", bias", ", transposed, bias", ", transposed, bias, residual"};
    for (int run = 0; run < 4; run++) {
        const float *bias = run > 0 ? b : NULL;
        for (int64_t i = 0; i < yn; i++) fast[i] = ref[i] = -7.0f;
        orr_ref_conv3d(ref, x, w, bias, s);
        if (run == 3)
            for (int64_t i = 0; i < yn; i++) ref[i] += ref[i] == -7.0f ? 0.0f : residual[i];
        if (run < 2)
            CHECK_OK(orr_cpu_conv3d_temporal(fast, x, w, bias, s));
        else
            orr_cpu_conv3d_temporal_co_inner(fast, x, w_t, bias, run == 3 ? residual : NULL, s);
        double err = relative_error(fast, ref, s);
        test_checks++;
        if (!(err <= 1e-5)) {
            test_failures++;
            fprintf(stderr, "%s (%lld x %lld->%lld, kt %lld, causal %lld, %lldx%lldx%lld%s): relative error %.3g\n",
                    what, (long long)s->batch, (long long)s->in_channels, (long long)s->out_channels,
                    (long long)s->kernel[0], (long long)s->causal_pad, (long long)s->in[0], (long long)s->in[1],
                    (long long)s->in[2], runs[run], err);
        }
        int64_t overwritten = 0;
        for (int64_t i = 0; i < yn; i++) overwritten += ref[i] == -7.0f && fast[i] != -7.0f;
        CHECK(overwritten == 0);
    }
    free(x), free(w), free(b), free(residual), free(fast), free(ref), free(w_t);
}

static void test_shapes(void) {
    static const struct {
        const char *what;
        int64_t batch, cin, cout, kt, causal, frames, h, w;
    } cases[] = {
        {"tokenizer latent", 1, 64, 80, 3, 2, 3, 8, 8},
        {"one frame", 1, 16, 24, 3, 2, 1, 5, 7},
        {"two frames", 2, 9, 5, 3, 2, 2, 3, 3},
        {"kt 2", 1, 12, 20, 2, 1, 6, 4, 5},
        {"kt 4", 1, 12, 20, 4, 3, 7, 3, 4},
        {"no causal padding", 1, 10, 11, 3, 0, 6, 4, 4},
        {"causal padding 1 of 2", 1, 10, 11, 3, 1, 5, 4, 4},
        {"frames in several runs", 1, 300, 40, 3, 2, 9, 9, 10},
        {"frames cut into tiles", 1, 1100, 20, 3, 2, 2, 17, 16},
        {"batch", 3, 33, 65, 3, 2, 5, 6, 6},
        {"one channel", 1, 1, 1, 3, 2, 4, 2, 2},
    };
    for (int threads = 1; threads <= 2; threads++) {
        orr_set_num_threads(threads);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            orr_conv_shape s = temporal(cases[c].batch, cases[c].cin, cases[c].cout, cases[c].kt, cases[c].causal,
                                        cases[c].frames, cases[c].h, cases[c].w);
            check_against_ref(cases[c].what, &s);
        }
        /* x and y as channel slices of bigger tensors */
        orr_conv_shape s = temporal(2, 40, 70, 3, 2, 4, 5, 6);
        s.x_stride[1] += 13, s.x_stride[0] = 40 * s.x_stride[1] + 5;
        s.y_stride[1] += 9, s.y_stride[0] = 70 * s.y_stride[1] + 3;
        check_against_ref("strided channels", &s);
    }
    orr_set_num_threads(0);
}

/* The transposed layout: w [cout][k_rows] -> w_t [k_rows][cout], also
 * for sizes that fill no whole block of the transpose. */
static void test_pack(void) {
    static const int64_t sizes[][2] = {{2, 12}, {33, 70}, {64, 64}, {1, 5}};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        int64_t cout = sizes[c][0], k_rows = sizes[c][1];
        float *w = filled(cout * k_rows, 31, 1.0f), *w_t = malloc(sizeof(float) * (size_t)(cout * k_rows));
        orr_cpu_conv3d_pack_co_inner(w_t, w, cout, k_rows);
        int64_t wrong = 0;
        for (int64_t co = 0; co < cout; co++)
            for (int64_t r = 0; r < k_rows; r++) wrong += w_t[r * cout + co] != w[co * k_rows + r];
        CHECK(wrong == 0);
        free(w), free(w_t);
    }
}

/* CausalConv3d (3,1,1) with causal padding 2 over frames 1, 2, 3 of one
 * pixel, taps (1, 10, 100): y_t = x_{t-2} + 10 x_{t-1} + 100 x_t with
 * frames before the first equal to it. */
static void test_by_hand(void) {
    orr_conv_shape s = temporal(1, 1, 1, 3, 2, 3, 1, 1);
    float x[3] = {1, 2, 3}, w[3] = {1, 10, 100}, b[1] = {0.5f}, y[3];
    CHECK_OK(orr_cpu_conv3d_temporal(y, x, w, b, &s));
    CHECK_NEAR(y[0], 111.5, 1e-4);
    CHECK_NEAR(y[1], 1 + 10 + 200 + 0.5, 1e-4);
    CHECK_NEAR(y[2], 1 + 20 + 300 + 0.5, 1e-4);
}

static void test_applies(void) {
    orr_conv_shape s = temporal(1, 64, 64, 3, 2, 3, 8, 8);
    CHECK(orr_cpu_conv3d_temporal_applies(&s));
    CHECK(orr_cpu_conv3d_temporal_scratch_bytes(&s) == 3 * 64 * 64 * sizeof(float));
    /* 192 output positions: packing 64 rows of weights costs less than
     * im2col; 16 positions, more */
    CHECK(orr_cpu_conv3d_temporal_pays(&s));
    orr_conv_shape few = temporal(1, 64, 64, 3, 2, 1, 4, 4);
    CHECK(!orr_cpu_conv3d_temporal_pays(&few));
    orr_conv_shape t = s;
    t.stride[0] = 2, t.causal_pad = 1, t.out[0] = orr_conv_out_extent(&t, 0);
    CHECK(!orr_cpu_conv3d_temporal_applies(&t));
    CHECK(orr_cpu_conv3d_temporal_scratch_bytes(&t) == 0);
    t = s, t.kernel[1] = t.kernel[2] = 3, t.padding[1] = t.padding[2] = 1;
    CHECK(!orr_cpu_conv3d_temporal_applies(&t));
    t = s, t.padding[0] = 1, t.out[0] = orr_conv_out_extent(&t, 0);
    CHECK(!orr_cpu_conv3d_temporal_applies(&t));
    t = s, t.groups = 2;
    CHECK(!orr_cpu_conv3d_temporal_applies(&t));
    t = s, t.dilation[0] = 2, t.out[0] = orr_conv_out_extent(&t, 0);
    CHECK(!orr_cpu_conv3d_temporal_applies(&t));
    t = s, t.kernel[0] = 1, t.causal_pad = 0;
    CHECK(!orr_cpu_conv3d_temporal_applies(&t));
    t = s, t.causal_pad = 3, t.out[0] = orr_conv_out_extent(&t, 0);
    CHECK(!orr_cpu_conv3d_temporal_applies(&t));
}

int main(void) {
    test_shapes();
    test_pack();
    test_by_hand();
    test_applies();
    return test_finish("test_conv_temporal");
}
