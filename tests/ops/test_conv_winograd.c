/* test_conv_winograd.c — the Winograd F(4x4, 3x3) spatial convolution
 * against the scalar reference: odd frame sizes (partial and lone edge
 * tiles), channel counts that fill no whole block, several batch items and
 * frames, tile counts that take several blocks, strided channels, with and
 * without bias; its error bound at tokenizer widths on uniform and on
 * activation-like data; values worked by hand; and which shapes it
 * accepts. */
#include <math.h>

#include "conv_winograd.h"
#include "test_util.h"

/* A (1,3,3) stride-1 padding-(0,1,1) geometry over contiguous x [batch, cin,
 * frames, h, w] and y [batch, cout, frames, h, w]. */
static orr_conv_shape spatial_3x3(int64_t batch, int64_t cin, int64_t cout, int64_t frames, int64_t h, int64_t w) {
    orr_conv_shape s = {.batch = batch, .in_channels = cin, .out_channels = cout, .groups = 1,
                        .in = {frames, h, w}, .kernel = {1, 3, 3}, .stride = {1, 1, 1}, .padding = {0, 1, 1},
                        .dilation = {1, 1, 1}};
    for (int a = 0; a < 3; a++) s.out[a] = orr_conv_out_extent(&s, a);
    s.x_stride[1] = s.y_stride[1] = frames * h * w;
    s.x_stride[0] = cin * s.x_stride[1];
    s.y_stride[0] = cout * s.y_stride[1];
    return s;
}

static float *filled(int64_t n, unsigned seed, float scale, float offset) {
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    test_fill(v, (long)n, seed);
    for (int64_t i = 0; i < n; i++) v[i] = v[i] * scale + offset;
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

/* Runs the kernel and the reference on x and w from test_fill (x scaled by
 * x_scale plus x_offset, w by 1/sqrt(fan in) as PyTorch initialises it),
 * with and without bias, and checks the relative error against `bound`. */
static void check_against_ref(const char *what, const orr_conv_shape *s, float x_scale, float x_offset, double bound) {
    int64_t xn = s->batch * s->x_stride[0], yn = s->batch * s->y_stride[0], wn = s->out_channels * s->in_channels * 9;
    float *x = filled(xn, 11, x_scale, x_offset), *w = filled(wn, 12, 1.0f / sqrtf(9.0f * s->in_channels), 0.0f);
    float *b = filled(s->out_channels, 13, 0.5f, 0.0f);
    float *fast = malloc(sizeof(float) * (size_t)yn), *ref = malloc(sizeof(float) * (size_t)yn);
    CHECK(orr_cpu_conv3d_winograd_applies(s));
    for (int bias = 0; bias < 2; bias++) {
        /* gaps between strided channels must be left alone */
        for (int64_t i = 0; i < yn; i++) fast[i] = ref[i] = -7.0f;
        orr_ref_conv3d(ref, x, w, bias ? b : NULL, s);
        CHECK_OK(orr_cpu_conv3d_winograd(fast, x, w, bias ? b : NULL, s));
        double err = relative_error(fast, ref, s);
        test_checks++;
        if (!(err <= bound)) {
            test_failures++;
            fprintf(stderr, "%s (%lld x %lld->%lld x %lldx%lldx%lld%s): relative error %.3g > %.3g\n", what,
                    (long long)s->batch, (long long)s->in_channels, (long long)s->out_channels, (long long)s->in[0],
                    (long long)s->in[1], (long long)s->in[2], bias ? ", bias" : "", err, bound);
        }
        int64_t overwritten = 0;
        for (int64_t i = 0; i < yn; i++) overwritten += ref[i] == -7.0f && fast[i] != -7.0f;
        CHECK(overwritten == 0);
    }
    free(x), free(w), free(b), free(fast), free(ref);
}

static void test_shapes(void) {
    static const struct {
        const char *what;
        int64_t batch, cin, cout, frames, h, w;
    } cases[] = {
        {"one whole tile", 1, 32, 32, 1, 4, 4},
        {"few channels", 1, 4, 8, 2, 6, 5},
        {"one input channel", 2, 1, 40, 2, 5, 6},
        {"input channels in two chunks of U", 2, 150, 20, 2, 7, 6},
        {"single pixel", 1, 32, 32, 1, 1, 1},
        {"thin frames", 1, 33, 40, 2, 1, 9},
        {"odd sizes, partial tiles", 1, 37, 35, 3, 7, 9},
        {"batch and frames", 2, 48, 50, 3, 13, 17},
        {"tiles_w 1, tall", 1, 32, 17 + 32, 2, 23, 3},
        {"tokenizer 8x8 latent", 1, 64, 80, 3, 8, 8},
        {"tokenizer 16x16", 1, 48, 64, 5, 16, 16},
        {"several blocks of groups", 2, 32, 33, 3, 40, 38},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        orr_conv_shape s = spatial_3x3(cases[c].batch, cases[c].cin, cases[c].cout, cases[c].frames, cases[c].h,
                                       cases[c].w);
        check_against_ref(cases[c].what, &s, 1.0f, 0.0f, 1e-5);
    }
    /* x and y as channel slices of bigger tensors */
    orr_conv_shape s = spatial_3x3(2, 32, 36, 3, 6, 7);
    s.x_stride[1] += 13, s.x_stride[0] = 32 * s.x_stride[1] + 5;
    s.y_stride[1] += 9, s.y_stride[0] = 36 * s.y_stride[1] + 3;
    check_against_ref("strided channels", &s, 1.0f, 0.0f, 1e-5);
}

/* The error the tokenizer sees: wide input channels, inputs either
 * uniform in [-1, 1) or shaped like the SiLU of a GroupNorm output (mostly
 * small positive values) with an offset that the filters must cancel. */
static void test_error_bound(void) {
    orr_conv_shape s = spatial_3x3(1, 512, 32, 3, 8, 8);
    check_against_ref("512 channels, uniform", &s, 1.0f, 0.0f, 1e-5);
    check_against_ref("512 channels, offset", &s, 0.6f, 0.4f, 1e-5);
    s = spatial_3x3(1, 256, 48, 2, 16, 16);
    check_against_ref("256 channels, offset", &s, 1.5f, 1.0f, 1e-5);
}

/* Ones convolved with ones: each output counts the taps inside the frame
 * (zero padding), times 4 input channels; plus the bias. */
static void test_by_hand(void) {
    orr_conv_shape s = spatial_3x3(1, 4, 8, 2, 5, 6);
    float x[4 * 2 * 5 * 6], w[8 * 4 * 9], b[8], y[8 * 2 * 5 * 6];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = 1.0f;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) w[i] = 1.0f;
    for (int co = 0; co < 8; co++) b[co] = (float)co;
    CHECK_OK(orr_cpu_conv3d_winograd(y, x, w, b, &s));
    const float *last = y + 7 * 60 + 30; /* channel 7, frame 1 */
    CHECK_NEAR(last[0], 4 * 4 + 7, 1e-4);          /* corner */
    CHECK_NEAR(last[3], 4 * 6 + 7, 1e-4);          /* top edge */
    CHECK_NEAR(last[2 * 6 + 5], 4 * 6 + 7, 1e-4);  /* right edge */
    CHECK_NEAR(last[2 * 6 + 2], 4 * 9 + 7, 1e-4);  /* inside */
    CHECK_NEAR(last[4 * 6 + 5], 4 * 4 + 7, 1e-4);  /* corner */
    CHECK_NEAR(y[1 * 6 + 1], 4 * 9, 1e-4);         /* channel 0, frame 0 */
}

static void test_applies(void) {
    orr_conv_shape s = spatial_3x3(1, 64, 64, 3, 8, 8);
    CHECK(orr_cpu_conv3d_winograd_applies(&s));
    orr_conv_shape t = s;
    t.stride[1] = t.stride[2] = 2;
    t.out[1] = t.out[2] = 4;
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    t = s, t.padding[1] = t.padding[2] = 0, t.out[1] = t.out[2] = 6;
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    t = s, t.groups = 2;
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    t = s, t.causal_pad = 1, t.out[0] = 4;
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    t = s, t.kernel[0] = 3, t.causal_pad = 2;
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    t = s, t.dilation[2] = 2, t.out[2] = 6;
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    /* few channels: im2col is faster */
    t = spatial_3x3(1, 3, 3, 3, 8, 8);
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    t = spatial_3x3(1, 1, 16, 3, 8, 8);
    CHECK(!orr_cpu_conv3d_winograd_applies(&t));
    t = spatial_3x3(1, 4, 8, 3, 8, 8);
    CHECK(orr_cpu_conv3d_winograd_applies(&t));
}

int main(void) {
    test_shapes();
    test_error_bound();
    test_by_hand();
    test_applies();
    return test_finish("test_conv_winograd");
}
