/* The Transfer1 preprocessors against the cut preproc fixture (made by the
 * official augmentors with OpenCV 4.6 and torch 1.13): edge (Canny) exact
 * for every preset, the vis blur stage exact, vis within 1 (torch's
 * bicubic sums round one pixel of very_high the other way); the
 * single-image Canny and bilateral calls; presets; the error paths. */
#include "test_util.h"

#define DATA "data/transfer/"

static const char *presets[] = {"none", "very_low", "low", "medium", "high", "very_high"};

/* Elements that differ, and the largest difference. */
static int64_t differ(const orr_tensor *a, const orr_tensor *b, int *max_diff) {
    int64_t n = orr_tensor_numel(b), count = 0;
    *max_diff = 0;
    const uint8_t *pa = a->data, *pb = b->data;
    for (int64_t i = 0; i < n; i++) {
        int d = abs((int)pa[i] - (int)pb[i]);
        count += d != 0;
        if (d > *max_diff) *max_diff = d;
    }
    return count;
}

static void test_videos(void) {
    orr_safetensors *f = NULL;
    CHECK_OK(orr_st_open(DATA "preproc.safetensors", &f));
    if (!f) return;
    orr_tensor *video = NULL, *out = NULL;
    CHECK_OK(orr_st_get(f, "video", &video));
    CHECK_OK(orr_tensor_empty(&out, ORR_U8, 4, video->shape));
    if (!video || !out) return;
    for (int p = 0; p < 6; p++) {
        orr_control_preset preset;
        CHECK_OK(orr_control_preset_from_name(presets[p], &preset));
        CHECK(preset == (orr_control_preset)p && !strcmp(orr_control_preset_name(preset), presets[p]));
        static const char *kinds[3] = {"edge", "vis", "vis_blur"};
        orr_status (*fns[3])(orr_tensor *, const orr_tensor *, orr_control_preset) = {orr_control_edge, orr_control_vis,
                                                                                      orr_control_vis_blur};
        for (int k = 0; k < 3; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s.%s", kinds[k], presets[p]);
            if (!orr_st_has(f, name)) continue;
            orr_tensor *want = NULL;
            CHECK_OK(orr_st_get(f, name, &want));
            CHECK_OK(fns[k](out, video, preset));
            int max_diff;
            int64_t n = differ(out, want, &max_diff);
            if (k == 1) {
                CHECK(max_diff <= 1 && n <= 1);
            } else {
                CHECK(n == 0);
            }
            if (n) fprintf(stderr, "%s: %lld elements differ, by at most %d\n", name, (long long)n, max_diff);
            orr_tensor_free(want);
        }
    }
    orr_tensor_free(out);
    orr_tensor_free(video);
    orr_st_close(f);
}

/* Frame t of a [3, T, H, W] video as a contiguous [H, W, 3] image. */
static orr_tensor *frame(const orr_tensor *video, int t) {
    orr_tensor *sel = NULL, *hwc = NULL, *img = NULL;
    CHECK_OK(orr_tensor_select(&sel, video, 1, t));
    CHECK_OK(orr_tensor_permute(&hwc, sel, (int[]){1, 2, 0}));
    CHECK_OK(orr_tensor_clone(&img, hwc, ORR_U8));
    orr_tensor_free(sel);
    orr_tensor_free(hwc);
    return img;
}

static void test_images(void) {
    orr_safetensors *f = NULL;
    CHECK_OK(orr_st_open(DATA "preproc.safetensors", &f));
    if (!f) return;
    orr_tensor *video = NULL, *edges_video = NULL, *vis = NULL;
    CHECK_OK(orr_st_get(f, "video", &video));
    CHECK_OK(orr_st_get(f, "edge.medium", &edges_video));
    if (!video || !edges_video) return;
    int64_t H = video->shape[2], W = video->shape[3];
    orr_tensor *img = frame(video, 4), *edges = NULL, *strided = NULL, *filtered = NULL, *ref = NULL;
    CHECK_OK(orr_tensor_empty(&edges, ORR_U8, 2, (int64_t[]){H, W}));
    CHECK_OK(orr_canny(edges, img, 200, 100)); /* thresholds in either order */
    orr_tensor *want = NULL;
    CHECK_OK(orr_tensor_select(&strided, edges_video, 0, 0));
    CHECK_OK(orr_tensor_select(&want, strided, 0, 4));
    int max_diff;
    CHECK(differ(edges, want, &max_diff) == 0);
    /* strided input gives the same */
    orr_tensor *sel = NULL, *hwc = NULL;
    CHECK_OK(orr_tensor_select(&sel, video, 1, 4));
    CHECK_OK(orr_tensor_permute(&hwc, sel, (int[]){1, 2, 0}));
    CHECK_OK(orr_canny(edges, hwc, 100, 200));
    CHECK(differ(edges, want, &max_diff) == 0);
    /* the high preset's blur is the bilateral filter alone */
    CHECK_OK(orr_tensor_empty(&filtered, ORR_U8, 3, img->shape));
    CHECK_OK(orr_bilateral_filter(filtered, img, 50, 300, 150));
    CHECK_OK(orr_tensor_empty(&vis, ORR_U8, 4, video->shape));
    CHECK_OK(orr_control_vis_blur(vis, video, ORR_PRESET_HIGH));
    orr_tensor *blur_frame = frame(vis, 4);
    CHECK(differ(filtered, blur_frame, &max_diff) == 0);
    /* d = 1 is a 3x3 disc: a flat image stays flat */
    CHECK_OK(orr_tensor_empty(&ref, ORR_U8, 3, img->shape));
    CHECK_OK(orr_fill(ref, 77));
    CHECK_OK(orr_bilateral_filter(filtered, ref, 1, 1, 1));
    CHECK(differ(filtered, ref, &max_diff) == 0);

    /* errors */
    orr_tensor *f32 = NULL, *gray2 = NULL, *big = NULL;
    CHECK_OK(orr_tensor_empty(&f32, ORR_F32, 3, img->shape));
    CHECK_FAILS(orr_canny(edges, f32, 1, 2), ORR_ERR_DTYPE, "canny: image is f32[48,64,3], expected u8");
    CHECK_OK(orr_tensor_empty(&gray2, ORR_U8, 3, (int64_t[]){H, W, 2}));
    CHECK_FAILS(orr_bilateral_filter(gray2, gray2, 5, 10, 10), ORR_ERR_SHAPE, "expected [H,W,C] with C 1 or 3");
    CHECK_FAILS(orr_canny(f32, img, 1, 2), ORR_ERR_SHAPE,
                "canny: edges is f32[48,64,3], expected a contiguous u8 [48,64]");
    CHECK_FAILS(orr_control_edge(vis, img, ORR_PRESET_LOW), ORR_ERR_SHAPE,
                "video is u8[48,64,3], expected u8 [3,T,H,W]");
    CHECK_FAILS(orr_control_vis(vis, video, (orr_control_preset)9), ORR_ERR_ARGUMENT, "preset 9 is invalid");
    CHECK_OK(orr_tensor_empty(&big, ORR_U8, 4, (int64_t[]){3, 1, 720, 1280}));
    CHECK_FAILS(orr_control_edge(big, big, ORR_PRESET_LOW), ORR_ERR_UNSUPPORTED,
                "1280x720 frames are larger than the 1280x704");
    orr_control_preset p;
    CHECK_FAILS(orr_control_preset_from_name("strong", &p), ORR_ERR_NOT_FOUND, "unknown 'strong'");
    orr_tensor *all[] = {video, edges_video, vis, img,        edges, strided, filtered, ref,
                         want,  sel,         hwc, blur_frame, f32,   gray2,   big};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_st_close(f);
}

int main(void) {
    test_videos();
    test_images();
    return test_finish("test_preproc");
}
