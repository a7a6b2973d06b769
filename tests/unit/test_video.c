/* test_video.c — a video written and read back keeps its frame count, size
 * and fps, its pixels within the codec's loss (PSNR measured here) and its
 * metadata; seeking is exact; load resamples and resizes; the layout
 * conversions and resampling helpers are exact; damaged, truncated and
 * mislabelled files are refused with clear messages; a failed or
 * unfinished write leaves no file. Skips (77) in a build without FFmpeg. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

enum { T = 24, H = 96, W = 128 };

static char dir[] = "/tmp/orr_test_video_XXXXXX";
#include "test_files.h"

/* Smooth moving colour waves: what a codec handles well. */
static orr_tensor *smooth_frames(int64_t t, int64_t h, int64_t w) {
    int64_t shape[4] = {t, h, w, 3};
    orr_tensor *f = NULL;
    CHECK_OK(orr_tensor_empty(&f, ORR_U8, 4, shape));
    uint8_t *p = f->data;
    for (int64_t i = 0; i < t; i++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    *p++ = (uint8_t)(128 + 90 * sin(x * 0.07 + i * 0.2 + c * 2.1) * cos(y * 0.05 - i * 0.1 + c));
    return f;
}

static double psnr(const orr_tensor *a, const orr_tensor *b) {
    const uint8_t *x = a->data, *y = b->data;
    double se = 0;
    int64_t n = orr_tensor_numel(a);
    for (int64_t i = 0; i < n; i++) se += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    return se == 0 ? INFINITY : 10 * log10(255.0 * 255.0 / (se / (double)n));
}

static bool equal_frames(const orr_tensor *a, const orr_tensor *b) {
    return orr_tensor_nbytes(a) == orr_tensor_nbytes(b) && memcmp(a->data, b->data, orr_tensor_nbytes(a)) == 0;
}

static orr_metadata *generation_params(void) {
    orr_metadata *m = NULL;
    CHECK_OK(orr_metadata_create(&m));
    CHECK_OK(orr_metadata_set(m, "seed", "1234"));
    CHECK_OK(orr_metadata_set(m, "prompt", "a robot arm stacks red cubes; caf\xc3\xa9 \xe2\x86\x92 \xe4\xb8\x96"));
    CHECK_OK(orr_metadata_set(m, "orrery.sampler", "{\"steps\": 35, \"guidance\": 7.0, \"sigma_max\": 80}"));
    return m;
}

static void check_metadata(const char *what, const orr_metadata *want, const orr_metadata *got) {
    for (int64_t i = 0; i < orr_metadata_count(want); i++) {
        const char *key = orr_metadata_key(want, i), *have = orr_metadata_get(got, key);
        if (!have || strcmp(have, orr_metadata_value(want, i)) != 0) {
            test_failures++;
            fprintf(stderr, "%s: metadata '%s' came back as %s\n", what, key, have ? have : "(absent)");
        }
    }
}

/* Writes the frames, reads them back, and checks count, size, fps,
 * metadata and PSNR >= min_psnr. Returns the PSNR. */
static double round_trip(const char *name, const orr_tensor *frames, const orr_video_write_params *wp,
                         double min_psnr, bool keeps_metadata) {
    orr_metadata *meta = generation_params(), *got = NULL;
    orr_tensor *back = NULL;
    orr_video_info info;
    CHECK_OK(orr_metadata_create(&got));
    CHECK_OK(orr_video_save(in_dir(name), frames, wp, meta));
    CHECK_OK(orr_video_load(in_dir(name), NULL, &back, &info, got));
    double p = 0;
    if (back) {
        CHECK(back->shape[0] == T && back->shape[1] == H && back->shape[2] == W && back->shape[3] == 3);
        CHECK(info.frames == T && info.width == W && info.height == H);
        CHECK_NEAR(info.fps, wp ? wp->fps : 24, 1e-3);
        p = psnr(frames, back);
        printf("%-12s %-8s %-10s %2lld frames %lldx%lld %.3f fps  PSNR %.2f dB\n", name, info.codec,
               wp && wp->codec ? wp->codec : "(default)", (long long)info.frames, (long long)info.width,
               (long long)info.height, info.fps, p);
        CHECK(p >= min_psnr);
    }
    if (keeps_metadata) check_metadata(name, meta, got);
    orr_tensor_free(back);
    orr_metadata_free(meta);
    orr_metadata_free(got);
    return p;
}

static void test_round_trips(const orr_tensor *frames) {
    orr_video_write_params p;
    orr_video_write_params_init(&p);
    round_trip("x264.mp4", frames, NULL, 40, true);
    p.codec = "mpeg4";
    round_trip("mpeg4.mp4", frames, &p, 30, true);
    p.codec = NULL;
    p.fps = 30000.0 / 1001.0;
    round_trip("ntsc.mov", frames, &p, 40, true);
    p.fps = 12;
    round_trip("x264.mkv", frames, &p, 40, true);
    p.fps = 24;
    p.crf = 30;
    round_trip("vp9.webm", frames, &p, 30, true);

    /* The models' layout: float [3,T,H,W] in [-1,1]. */
    int64_t shape[4] = {3, T, H, W};
    orr_tensor *model = NULL, *back = NULL;
    CHECK_OK(orr_tensor_empty(&model, ORR_F32, 4, shape));
    CHECK_OK(orr_frames_to_model(model, frames));
    CHECK_OK(orr_video_save(in_dir("model.mp4"), model, NULL, NULL));
    CHECK_OK(orr_video_load(in_dir("model.mp4"), NULL, &back, NULL, NULL));
    CHECK(back && psnr(frames, back) > 40);
    orr_tensor_free(model);
    orr_tensor_free(back);
}

static void test_png_sequence(const orr_tensor *frames) {
    orr_metadata *meta = generation_params(), *got = NULL;
    CHECK_OK(orr_metadata_create(&got));
    mkdir(in_dir("seq"), 0755);
    CHECK_OK(orr_video_save(in_dir("seq/f_%03d.png"), frames, NULL, meta));
    CHECK(count_files(in_dir("seq")) == T);
    CHECK(access(in_dir("seq/f_000.png"), F_OK) == 0 && access(in_dir("seq/f_023.png"), F_OK) == 0);

    /* Lossless, and the first image's text chunks come back as metadata. */
    orr_video_read_params rp;
    orr_video_read_params_init(&rp);
    rp.default_fps = 16;
    orr_tensor *back = NULL;
    orr_video_info info;
    CHECK_OK(orr_video_load(in_dir("seq/f_%03d.png"), &rp, &back, &info, got));
    CHECK(back && equal_frames(frames, back));
    CHECK(info.frames == T && info.fps == 16 && strcmp(info.codec, "png") == 0);
    /* FFmpeg 5.1's PNG decoder reads tEXt but not iTXt: the ASCII values
     * come back through it, the others through orr_png_read. */
    CHECK(strcmp(orr_metadata_get(got, "seed"), "1234") == 0);
    CHECK(strcmp(orr_metadata_get(got, "orrery.sampler"), orr_metadata_get(meta, "orrery.sampler")) == 0);
    orr_metadata *text = NULL;
    orr_tensor *image = NULL;
    CHECK_OK(orr_metadata_create(&text));
    CHECK_OK(orr_png_read(in_dir("seq/f_017.png"), &image, text));
    check_metadata("png sequence image", meta, text);
    orr_metadata_free(text);
    orr_tensor_free(image);

    /* One image of the sequence is an image too. */
    orr_tensor *one = NULL, *first = NULL;
    CHECK_OK(orr_png_read(in_dir("seq/f_005.png"), &one, NULL));
    CHECK_OK(orr_tensor_select(&first, frames, 0, 5));
    CHECK(one && first && memcmp(one->data, first->data, H * W * 3) == 0);
    orr_tensor_free(one);
    orr_tensor_free(first);
    orr_tensor_free(back);
    orr_metadata_free(meta);
    orr_metadata_free(got);

    /* A sequence that fails midway leaves none of its images. */
    orr_video_writer *w = NULL;
    CHECK_OK(orr_video_writer_open(in_dir("seq/g_%03d.png"), W, H, NULL, NULL, &w));
    CHECK_OK(orr_video_writer_add(w, frames));
    orr_video_writer_free(w);
    CHECK(count_files(in_dir("seq")) == T);
    remove_all(in_dir("seq"));
}

static void test_seek(const orr_tensor *frames) {
    orr_tensor *all = NULL, *one = NULL, *want = NULL;
    CHECK_OK(orr_video_load(in_dir("x264.mp4"), NULL, &all, NULL, NULL));
    orr_video_reader *r = NULL;
    CHECK_OK(orr_video_open(in_dir("x264.mp4"), NULL, &r));
    if (!r || !all) return;
    int64_t shape[4] = {1, H, W, 3}, n = 0;
    CHECK_OK(orr_tensor_empty(&one, ORR_U8, 4, shape));
    const int64_t order[] = {17, 3, 20, 0, 23, 22, 9, 9};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        CHECK_OK(orr_video_seek(r, order[i]));
        CHECK(orr_video_position(r) == order[i]);
        CHECK_OK(orr_video_read(r, one, &n));
        CHECK_OK(orr_tensor_narrow(&want, all, 0, order[i], 1));
        CHECK(n == 1 && memcmp(one->data, want->data, H * W * 3) == 0);
        CHECK(orr_video_position(r) == order[i] + 1);
        orr_tensor_free(want);
    }
    /* Reading past the end returns fewer frames. */
    int64_t shape5[4] = {5, H, W, 3};
    orr_tensor *five = NULL;
    CHECK_OK(orr_tensor_empty(&five, ORR_U8, 4, shape5));
    CHECK_OK(orr_video_seek(r, 21));
    CHECK_OK(orr_video_read(r, five, &n));
    CHECK(n == 3);
    CHECK_OK(orr_video_read(r, five, &n));
    CHECK(n == 0);
    CHECK_FAILS(orr_video_seek(r, 24), ORR_ERR_ARGUMENT, "cannot seek to frame 24 of 24");
    int64_t bad_shape[4] = {1, H, W + 2, 3};
    orr_tensor *bad = NULL;
    CHECK_OK(orr_tensor_empty(&bad, ORR_U8, 4, bad_shape));
    CHECK_FAILS(orr_video_read(r, bad, &n), ORR_ERR_SHAPE, "has frames [96,128,3]");
    orr_tensor_free(bad);
    orr_tensor_free(five);
    orr_tensor_free(one);
    orr_tensor_free(all);
    orr_video_close(r);
    (void)frames;
}

static void test_load_params(const orr_tensor *frames) {
    orr_video_read_params p;
    orr_video_read_params_init(&p);
    orr_tensor *all = NULL, *t = NULL, *want = NULL;
    orr_video_info info;
    CHECK_OK(orr_video_load(in_dir("x264.mp4"), NULL, &all, NULL, NULL));

    /* 24 -> 12 fps from frame 2: every other frame. */
    p.start = 2;
    p.fps = 12;
    CHECK_OK(orr_video_load(in_dir("x264.mp4"), &p, &t, &info, NULL));
    CHECK(t && t->shape[0] == 11 && info.frames == 11 && info.fps == 12);
    for (int64_t j = 0; t && j < t->shape[0]; j++) {
        CHECK_OK(orr_tensor_narrow(&want, all, 0, 2 + 2 * j, 1));
        CHECK(memcmp((uint8_t *)t->data + j * H * W * 3, want->data, H * W * 3) == 0);
        orr_tensor_free(want);
    }
    orr_tensor_free(t);

    /* 24 -> 36 fps, 10 frames: source frames 0,1,1,2,3,3,4,5,5,6. */
    p.start = 0;
    p.fps = 36;
    p.count = 10;
    CHECK_OK(orr_video_load(in_dir("x264.mp4"), &p, &t, &info, NULL));
    const int64_t src[10] = {0, 1, 1, 2, 3, 3, 4, 5, 5, 6};
    for (int64_t j = 0; t && j < 10; j++) {
        CHECK_OK(orr_tensor_narrow(&want, all, 0, src[j], 1));
        CHECK(memcmp((uint8_t *)t->data + j * H * W * 3, want->data, H * W * 3) == 0);
        orr_tensor_free(want);
    }
    CHECK(t && t->shape[0] == 10);
    orr_tensor_free(t);

    /* Resizing while reading: cover-crop and stretch to 48x48. */
    orr_video_read_params_init(&p);
    p.width = 48;
    p.height = 48;
    int64_t small[4] = {T, 48, 48, 3};
    orr_tensor *ref = NULL;
    CHECK_OK(orr_tensor_empty(&ref, ORR_U8, 4, small));
    for (int fit = 0; fit < 2; fit++) {
        p.fit = (orr_fit)fit;
        CHECK_OK(orr_video_load(in_dir("x264.mp4"), &p, &t, &info, NULL));
        CHECK_OK(orr_frames_resize(ref, frames, (orr_fit)fit));
        CHECK(t && info.width == 48 && info.height == 48 && info.source_width == W && info.source_height == H);
        double q = t ? psnr(ref, t) : 0;
        printf("read at 48x48 (%s): PSNR %.2f dB against orr_frames_resize of the originals\n",
               fit ? "stretch" : "cover", q);
        CHECK(q > 35);
        orr_tensor_free(t);
    }
    /* Only a width: the height follows the aspect ratio. */
    orr_video_read_params_init(&p);
    p.width = 64;
    CHECK_OK(orr_video_load(in_dir("x264.mp4"), &p, &t, &info, NULL));
    CHECK(t && t->shape[1] == 48 && t->shape[2] == 64);
    orr_tensor_free(t);

    orr_video_read_params_init(&p);
    p.start = 24;
    CHECK_FAILS(orr_video_load(in_dir("x264.mp4"), &p, &t, NULL, NULL), ORR_ERR_ARGUMENT, "start 24 is past its last frame (23)");
    p.start = 0;
    p.width = -1;
    CHECK_FAILS(orr_video_load(in_dir("x264.mp4"), &p, &t, NULL, NULL), ORR_ERR_ARGUMENT, "width -1");
    orr_tensor_free(ref);
    orr_tensor_free(all);
}

static void test_bad_files(const orr_tensor *frames) {
    orr_video_reader *r = NULL;
    orr_tensor *t = NULL;
    CHECK_FAILS(orr_video_open(in_dir("absent.mp4"), NULL, &r), ORR_ERR_IO, "absent.mp4: cannot open");
    const char text[] = "this is a text file, not a video\n";
    write_all(in_dir("notes.mp4"), text, sizeof text);
    CHECK_FAILS(orr_video_open(in_dir("notes.mp4"), NULL, &r), ORR_ERR_FORMAT, "notes.mp4: not a video FFmpeg can read");
    CHECK(r == NULL);

    /* A PNG named .mp4 is read for what it is: one frame. */
    orr_tensor *first = NULL;
    CHECK_OK(orr_tensor_select(&first, frames, 0, 0));
    CHECK_OK(orr_png_write(in_dir("image.mp4"), first, NULL));
    orr_video_info info;
    CHECK_OK(orr_video_open(in_dir("image.mp4"), NULL, &r));
    orr_video_get_info(r, &info);
    CHECK(r && info.frames == 1 && info.width == W);
    orr_video_close(r);
    orr_tensor_free(first);

    /* Every cut of a file is refused at open with a message, or (cut
     * inside the last frames' data of a faststart file) found short. */
    size_t size = 0;
    unsigned char *good = read_all(in_dir("x264.mp4"), &size);
    int refused = 0, cuts = 0;
    for (size_t n = 0; good && n < size; n += size / 40 + 1, cuts++) {
        orr_status st = orr_video_open_memory(good, n, "cut.mp4", NULL, &r);
        if (st != ORR_OK) {
            refused += strstr(orr_last_error(), "cut.mp4") != NULL && r == NULL;
            continue;
        }
        orr_video_get_info(r, &info);
        refused += info.frames < T;
        orr_video_close(r);
    }
    printf("mp4 cuts refused or found short: %d of %d\n", refused, cuts);
    CHECK(refused == cuts);
    write_all(in_dir("half.mp4"), good, size / 2);
    CHECK_FAILS(orr_video_open(in_dir("half.mp4"), NULL, &r), ORR_ERR_FORMAT, "half.mp4");
    printf("half an mp4: %s\n", orr_last_error());

    /* Damaged bytes anywhere: an error or frames, never a crash. */
    unsigned char *bad = good ? malloc(size) : NULL;
    int64_t shape[4] = {T, H, W, 3}, n_read;
    CHECK_OK(orr_tensor_empty(&t, ORR_U8, 4, shape));
    for (int k = 0; bad && k < 32; k++) {
        memcpy(bad, good, size);
        for (size_t i = (size_t)k * 997 % size; i < size; i += size / 7 + 13) bad[i] ^= (unsigned char)(0x5a + k);
        if (orr_video_open_memory(bad, size, "damaged.mp4", NULL, &r) == ORR_OK) {
            orr_video_get_info(r, &info);
            if (info.width == W && info.height == H) orr_video_read(r, t, &n_read);
            orr_video_close(r);
        } else {
            CHECK(strstr(orr_last_error(), "damaged.mp4") != NULL);
        }
    }
    orr_tensor_free(t);
    free(bad);
    free(good);
}

static void test_write_errors(const orr_tensor *frames) {
    int before = count_files(dir);
    orr_video_writer *w = NULL;
    CHECK_FAILS(orr_video_save(in_dir("no/such/dir/x.mp4"), frames, NULL, NULL), ORR_ERR_IO, "cannot create");
    CHECK_FAILS(orr_video_save(in_dir("x.unknown"), frames, NULL, NULL), ORR_ERR_ARGUMENT, "cannot tell the container");
    CHECK_FAILS(orr_video_save(in_dir("x_%03d.jpg"), frames, NULL, NULL), ORR_ERR_ARGUMENT, "end it in .png");
    CHECK_FAILS(orr_video_save(in_dir("one.png"), frames, NULL, NULL), ORR_ERR_ARGUMENT, "names one image");
    orr_video_write_params p;
    orr_video_write_params_init(&p);
    p.codec = "no_such_encoder";
    CHECK_FAILS(orr_video_save(in_dir("x.mp4"), frames, &p, NULL), ORR_ERR_UNSUPPORTED, "no video encoder 'no_such_encoder'");

    /* yuv420p needs even sizes. */
    orr_tensor *odd = NULL;
    CHECK_OK(orr_tensor_narrow(&odd, frames, 1, 0, H - 1));
    CHECK_FAILS(orr_video_save(in_dir("odd.mp4"), odd, NULL, NULL), ORR_ERR_SHAPE, "divisible by 2 and 2; the frames are 128x95");
    orr_tensor_free(odd);

    /* Frames of the wrong size, no frames, an unfinished writer. */
    CHECK_OK(orr_video_writer_open(in_dir("partial.mp4"), W / 2, H, NULL, NULL, &w));
    CHECK_FAILS(orr_video_writer_add(w, frames), ORR_ERR_SHAPE, "but the video is 64x96 RGB");
    orr_video_writer_free(w);
    CHECK_OK(orr_video_writer_open(in_dir("empty.mp4"), W, H, NULL, NULL, &w));
    CHECK_FAILS(orr_video_writer_finish(w), ORR_ERR_ARGUMENT, "no frames were added");
    orr_video_writer_free(w);
    CHECK_OK(orr_video_writer_open(in_dir("unfinished.mp4"), W, H, NULL, NULL, &w));
    CHECK_OK(orr_video_writer_add(w, frames));
    orr_video_writer_free(w);

    /* NaN in model frames. */
    int64_t shape[4] = {3, 2, H, W};
    orr_tensor *model = NULL;
    CHECK_OK(orr_tensor_zeros(&model, ORR_F32, 4, shape));
    orr_tensor_set(model, 1 * H * W + 5 * W + 7, NAN);
    CHECK_FAILS(orr_video_save(in_dir("nan.mp4"), model, NULL, NULL), ORR_ERR_NONFINITE, "frame 1: frames_from_model: x[0,0,5,7] is nan");
    orr_tensor_free(model);
    CHECK(count_files(dir) == before);
}

static void test_layouts(void) {
    int64_t fs[4] = {2, 3, 5, 3}, ms[4] = {3, 2, 3, 5};
    orr_tensor *frames = NULL, *model = NULL, *back = NULL, *half = NULL;
    CHECK_OK(orr_tensor_empty(&frames, ORR_U8, 4, fs));
    CHECK_OK(orr_tensor_empty(&model, ORR_F32, 4, ms));
    CHECK_OK(orr_tensor_empty(&half, ORR_BF16, 4, ms));
    CHECK_OK(orr_tensor_empty(&back, ORR_U8, 4, fs));
    for (int64_t i = 0; i < 90; i++) orr_tensor_set(frames, i, (double)(i * 37 % 256));
    orr_tensor_set(frames, 0, 0);
    orr_tensor_set(frames, 1, 255);
    CHECK_OK(orr_frames_to_model(model, frames));
    CHECK(orr_tensor_get(model, 0) == -1.0);                  /* [0,0,0,0] <- frames[0,0,0,0] = 0 */
    CHECK(orr_tensor_get(model, 30) == 1.0);                  /* [1,0,0,0] <- frames[0,0,0,1] = 255 */
    CHECK_NEAR(orr_tensor_get(model, 2 * 30 + 15 + 5 + 1), orr_tensor_get(frames, 45 + 15 + 3 + 2) / 127.5 - 1, 1e-6);
    CHECK_OK(orr_frames_from_model(back, model));
    CHECK(equal_frames(frames, back));
    CHECK_OK(orr_frames_to_model(half, frames));
    CHECK_OK(orr_frames_from_model(back, half)); /* bf16 keeps 8 bits: still exact */
    CHECK(equal_frames(frames, back));

    /* Out of range values clamp; round to nearest. */
    orr_tensor_set(model, 0, -3.0);
    orr_tensor_set(model, 30, 2.0);
    orr_tensor_set(model, 60, 0.5 / 127.5 - 1 + 1e-6); /* 0.5 + eps -> 1 */
    CHECK_OK(orr_frames_from_model(back, model));
    CHECK(orr_tensor_get(back, 0) == 0 && orr_tensor_get(back, 1) == 255 && orr_tensor_get(back, 2) == 1);

    CHECK_FAILS(orr_frames_to_model(back, frames), ORR_ERR_SHAPE, "out is u8[2,3,5,3] but the frames need [3,2,3,5]");
    CHECK_FAILS(orr_frames_from_model(back, frames), ORR_ERR_SHAPE, "x is u8[2,3,5,3]");
    CHECK_FAILS(orr_frames_to_model(model, model), ORR_ERR_DTYPE, "frames is f32[3,2,3,5]; frames are u8");
    orr_tensor_free(frames);
    orr_tensor_free(model);
    orr_tensor_free(half);
    orr_tensor_free(back);
}

static void test_resample(void) {
    int64_t s10[2] = {10, 2}, s8[2] = {8, 2}, s4[2] = {4, 2};
    orr_tensor *src = NULL, *out = NULL, *spread = NULL;
    CHECK_OK(orr_tensor_empty(&src, ORR_I32, 2, s10));
    CHECK_OK(orr_tensor_empty(&out, ORR_I32, 2, s8));
    CHECK_OK(orr_tensor_empty(&spread, ORR_I32, 2, s4));
    for (int i = 0; i < 20; i++) orr_tensor_set(src, i, i / 2);
    /* 30 -> 24 fps: j*1.25 rounded: 0 1 3 4 5 6 8 9 */
    CHECK_OK(orr_frames_resample(out, src, 0, 30, 24));
    const int want[8] = {0, 1, 3, 4, 5, 6, 8, 9};
    for (int j = 0; j < 8; j++) CHECK(orr_tensor_get(out, 2 * j) == want[j] && orr_tensor_get(out, 2 * j + 1) == want[j]);
    /* 10 -> 30 fps past the end repeats the last frame */
    CHECK_OK(orr_frames_resample(out, src, 0, 10, 40));
    CHECK(orr_tensor_get(out, 0) == 0 && orr_tensor_get(out, 2 * 2) == 1 && orr_tensor_get(out, 2 * 7) == 2);
    CHECK_OK(orr_frames_spread(spread, src, 0));
    const int ends[4] = {0, 3, 6, 9};
    for (int j = 0; j < 4; j++) CHECK(orr_tensor_get(spread, 2 * j) == ends[j]);
    CHECK_FAILS(orr_frames_resample(out, src, 0, 0, 24), ORR_ERR_ARGUMENT, "src_fps 0");
    CHECK_FAILS(orr_frames_resample(out, spread, 1, 30, 24), ORR_ERR_SHAPE, "must agree except along dim 1");
    orr_tensor_free(src);
    orr_tensor_free(out);
    orr_tensor_free(spread);
}

static void test_resize(void) {
    /* Left half black, right half white, 40x20 -> cover 10x10 keeps the
     * middle: the split stays in the middle; stretch to 10x10 too. */
    int64_t s[3] = {20, 40, 1}, d[3] = {10, 10, 1}, big[3] = {20, 40, 3};
    orr_tensor *img = NULL, *out = NULL, *wrong = NULL;
    CHECK_OK(orr_tensor_empty(&img, ORR_U8, 3, s));
    CHECK_OK(orr_tensor_empty(&out, ORR_U8, 3, d));
    CHECK_OK(orr_tensor_empty(&wrong, ORR_U8, 3, big));
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 40; x++) orr_tensor_set(img, y * 40 + x, x < 20 ? 0 : 255);
    CHECK_OK(orr_frames_resize(out, img, ORR_FIT_COVER));
    CHECK(orr_tensor_get(out, 0) == 0 && orr_tensor_get(out, 9) == 255);
    CHECK(orr_tensor_get(out, 3) < 40 && orr_tensor_get(out, 6) > 215);
    CHECK_OK(orr_frames_resize(out, img, ORR_FIT_STRETCH));
    CHECK(orr_tensor_get(out, 0) == 0 && orr_tensor_get(out, 9) == 255);
    CHECK_FAILS(orr_frames_resize(out, wrong, ORR_FIT_COVER), ORR_ERR_SHAPE, "agree in all but H and W");
    orr_tensor_free(img);
    orr_tensor_free(out);
    orr_tensor_free(wrong);
}

int main(void) {
    test_layouts();
    test_resample();
    orr_video_reader *probe = NULL;
    if (orr_video_open("/nonexistent", NULL, &probe) == ORR_ERR_UNSUPPORTED) {
        printf("test_video: built without FFmpeg, video I/O skipped\n");
        return test_failures ? test_finish("test_video") : 77;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    orr_tensor *frames = smooth_frames(T, H, W);
    test_resize();
    test_round_trips(frames);
    test_png_sequence(frames);
    test_seek(frames);
    test_load_params(frames);
    test_bad_files(frames);
    test_write_errors(frames);
    orr_tensor_free(frames);
    remove_all(dir);
    return test_finish("test_video");
}
