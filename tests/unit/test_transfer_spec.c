/* The official Transfer1 control spec: the released example specs read,
 * written back and read again unchanged (order, numbers as written, keys
 * the official ignores); the arguments with transfer.py's defaults; the
 * controls through the struct API; validate_controlnet_specs's checks and
 * orrery's own; weights from numbers and .pt maps; errors naming the key. */
#include "test_util.h"

#define DATA "data/transfer/"

/* assets/inference_cosmos_transfer1_multi_control.json, with arguments of
 * every type and the ignored sigma_max of robot_sample_spec.json */
static const char *multi =
    "{\n"
    "    \"prompt\": \"The video is set in a modern, well-lit office environment \\u00e9.\",\n"
    "    \"input_video_path\": \"assets/nurec2.mp4\",\n"
    "    \"sigma_max\": 70, \"seed\": 3, \"guidance\": 6.5, \"num_steps\": 10, \"canny_threshold\": \"high\",\n"
    "    \"vis\": {\"control_weight\": 0.3},\n"
    "    \"edge\": {\"control_weight\": 0.70},\n"
    "    \"seg\": {\"input_control\": \"assets/seg.mp4\", \"control_weight\": \"1.0\", \"sigma_max\": 70},\n"
    "    \"depth\": {\"input_control\": \"assets/depth.mp4\", \"control_weight\": 0.1, \"ckpt_path\": "
    "\"ck/depth.pt\"},\n"
    "    \"regional_prompts\": [{\"prompt\": \"a red car\", \"region_definitions_path\": [0, 0, 0.5, 1]}],\n"
    "    \"my_own_flag\": [1, 2]\n"
    "}\n";

/* assets/sample_av_hdmap_multiview_spec.json (abridged) */
static const char *multiview =
    "{\"hdmap\": {\"control_weight\": 1, \"input_control\": [\"v0.mp4\", \"v1.mp4\", \"v2.mp4\"], "
    "\"ckpt_path\": \"t2w_hdmap_control.pt\"}, \"prompt\": \"a road\", \"sigma_max\": 80}";

static char *text(const orr_transfer_spec *s) {
    size_t len = 0;
    CHECK_OK(orr_transfer_spec_write(s, NULL, 0, &len));
    char *buf = malloc(len + 1);
    size_t again = 0;
    CHECK_OK(orr_transfer_spec_write(s, buf, len + 1, &again));
    CHECK(again == len && strlen(buf) == len);
    return buf;
}

static void test_round_trip(void) {
    orr_transfer_spec *s = NULL, *back = NULL;
    CHECK_OK(orr_transfer_spec_parse(&s, multi, strlen(multi), "multi.json"));
    if (!s) return;
    char *t1 = text(s);
    CHECK_OK(orr_transfer_spec_parse(&back, t1, strlen(t1), "back"));
    char *t2 = back ? text(back) : NULL;
    CHECK(t2 && !strcmp(t1, t2));
    /* numbers as written, order kept, unknown members kept */
    CHECK(strstr(t1, "\"control_weight\": 0.70"));
    CHECK(strstr(t1, "\"my_own_flag\": [1, 2]"));
    CHECK(strstr(t1, "\"sigma_max\": 70\n  }"));
    CHECK(strstr(t1, "\"vis\"") < strstr(t1, "\"edge\"") && strstr(t1, "\"edge\"") < strstr(t1, "\"seg\""));
    CHECK(!strcmp(orr_transfer_spec_get(s, "seed"), "3"));
    CHECK(!strcmp(orr_transfer_spec_get(s, "regional_prompts"),
                  "[{\"prompt\": \"a red car\", \"region_definitions_path\": [0, 0, 0.5, 1]}]"));
    CHECK(orr_transfer_spec_get(s, "edge") == NULL && orr_transfer_spec_get(s, "fps") == NULL);
    /* a file round trip */
    CHECK_OK(orr_transfer_spec_save(s, "/tmp/orrery_test_spec.json"));
    orr_transfer_spec *file = NULL;
    CHECK_OK(orr_transfer_spec_read(&file, "/tmp/orrery_test_spec.json"));
    char *t3 = file ? text(file) : NULL;
    CHECK(t3 && !strcmp(t1, t3));
    remove("/tmp/orrery_test_spec.json");
    free(t1), free(t2), free(t3);
    orr_transfer_spec_free(back);
    orr_transfer_spec_free(file);
    orr_transfer_spec_free(s);
}

static void test_args_and_controls(void) {
    orr_transfer_spec *s = NULL, *mv = NULL;
    CHECK_OK(orr_transfer_spec_parse(&s, multi, strlen(multi), "multi.json"));
    CHECK_OK(orr_transfer_spec_parse(&mv, multiview, strlen(multiview), NULL));
    if (!s || !mv) return;
    orr_transfer_args a;
    CHECK_OK(orr_transfer_spec_args(s, &a));
    CHECK(a.sigma_max == 70 && a.seed == 3 && a.guidance == 6.5 && a.num_steps == 10 && a.fps == 24);
    CHECK(a.canny_threshold == ORR_PRESET_HIGH && a.blur_strength == ORR_PRESET_MEDIUM && a.num_input_frames == 1);
    CHECK(!strcmp(a.input_video_path, "assets/nurec2.mp4") && a.negative_prompt == NULL);
    CHECK(!strcmp(a.prompt, "The video is set in a modern, well-lit office environment \xc3\xa9."));
    CHECK(orr_transfer_spec_controls(s) == 4);
    orr_control_spec c;
    CHECK_OK(orr_transfer_spec_control(s, 2, &c));
    CHECK(c.kind == ORR_CONTROL_SEG && c.control_weight == 1.0 && c.has_control_weight && !c.control_weight_path);
    CHECK(!strcmp(c.input_control, "assets/seg.mp4") && c.n_input_controls == 1);
    CHECK_OK(orr_transfer_spec_find(s, ORR_CONTROL_DEPTH, &c));
    CHECK(!strcmp(c.ckpt_path, "ck/depth.pt") && c.control_weight == 0.1);
    CHECK_FAILS(orr_transfer_spec_find(s, ORR_CONTROL_LIDAR, &c), ORR_ERR_NOT_FOUND, "no 'lidar' control");
    CHECK_FAILS(orr_transfer_spec_control(s, 4, &c), ORR_ERR_NOT_FOUND, "no control 4 (it has 4)");
    CHECK_OK(orr_transfer_spec_find(mv, ORR_CONTROL_HDMAP, &c));
    CHECK(c.n_input_controls == 3 && !strcmp(c.input_control, "v0.mp4"));
    CHECK(!strcmp(orr_transfer_spec_input_control(mv, ORR_CONTROL_HDMAP, 2), "v2.mp4"));
    CHECK(orr_transfer_spec_input_control(mv, ORR_CONTROL_HDMAP, 3) == NULL);

    /* the struct API: replace in place keeping other members, add, remove */
    CHECK_OK(orr_transfer_spec_find(s, ORR_CONTROL_SEG, &c));
    c.control_weight = 0.25;
    CHECK_OK(orr_transfer_spec_set_control(s, &c));
    orr_control_spec k = {
        .kind = ORR_CONTROL_KEYPOINT, .input_control = "pose.mp4", .control_weight = 1, .has_control_weight = true};
    CHECK_OK(orr_transfer_spec_set_control(s, &k));
    char *t = text(s);
    CHECK(strstr(t, "\"seg\": {\n    \"sigma_max\": 70,\n    \"input_control\": \"assets/seg.mp4\",\n    "
                    "\"control_weight\": 0.25\n  }"));
    CHECK(strstr(t, "\"keypoint\": {\n    \"input_control\": \"pose.mp4\",\n    \"control_weight\": 1.0\n  }\n}"));
    free(t);
    CHECK_OK(orr_transfer_spec_remove_control(s, ORR_CONTROL_VIS));
    CHECK(orr_transfer_spec_controls(s) == 4);
    CHECK_OK(orr_transfer_spec_set(s, "fps", "30"));
    CHECK_OK(orr_transfer_spec_set(s, "seed", NULL));
    CHECK_OK(orr_transfer_spec_args(s, &a));
    CHECK(a.fps == 30 && a.seed == 1);
    k.control_weight = -1;
    CHECK_FAILS(orr_transfer_spec_set_control(s, &k), ORR_ERR_FORMAT, "'keypoint'.'control_weight' is -1");
    CHECK_FAILS(orr_transfer_spec_set(s, "seed", "\"one\""), ORR_ERR_FORMAT, "'seed' must be an integer");
    CHECK_FAILS(orr_transfer_spec_set(s, "edge", "{}"), ORR_ERR_ARGUMENT, "'edge' is a control");
    orr_transfer_spec_free(s);
    orr_transfer_spec_free(mv);
}

static orr_status parse(const char *json) {
    orr_transfer_spec *s = NULL;
    orr_status st = orr_transfer_spec_parse(&s, json, strlen(json), "bad.json");
    orr_transfer_spec_free(s);
    return st;
}

static orr_status validate(const char *json) {
    orr_transfer_spec *s = NULL;
    orr_status st = orr_transfer_spec_parse(&s, json, strlen(json), "v.json");
    if (!st) st = orr_transfer_spec_validate(s);
    orr_transfer_spec_free(s);
    return st;
}

static void test_errors(void) {
    CHECK_FAILS(parse("{\"normal\": {\"control_weight\": 1}}"), ORR_ERR_NOT_FOUND,
                "(bad.json): 'normal' is an object but not a modality");
    CHECK_FAILS(parse("{\"edge\": {\"control_weight\": -0.5}}"), ORR_ERR_FORMAT,
                "'edge'.'control_weight' is -0.5; it must be a non-negative number");
    CHECK_FAILS(parse("{\"edge\": {\"control_weight\": \"-2\"}}"), ORR_ERR_FORMAT, "'edge'.'control_weight' is -2");
    CHECK_FAILS(parse("{\"edge\": {\"control_weight\": \"heavy\"}}"), ORR_ERR_FORMAT,
                "'edge'.'control_weight' must be a non-negative number or a path to a .pt weight map");
    CHECK_FAILS(parse("{\"edge\": {\"input_control\": 3}}"), ORR_ERR_FORMAT, "'edge'.'input_control' must be a path");
    CHECK_FAILS(parse("{\"edge\": 1}"), ORR_ERR_FORMAT, "'edge' is a number; a control is an object");
    CHECK_FAILS(parse("{\"edge\": {}, \"num_steps\": 0}"), ORR_ERR_FORMAT, "'num_steps' is 0");
    CHECK_FAILS(parse("{\"blur_strength\": \"max\"}"), ORR_ERR_FORMAT, "'blur_strength' must be one of");
    CHECK_FAILS(parse("{\"regional_prompts\": [{\"prompt\": \"x\"}]}"), ORR_ERR_FORMAT,
                "'regional_prompts'[0] needs 'region_definitions_path' or 'mask_prompt'");
    CHECK_FAILS(parse("[1]"), ORR_ERR_FORMAT, "expected a JSON object");
    CHECK_FAILS(parse("{\"edge\": {}, \"edge\": {}}"), ORR_ERR_FORMAT, "bad.json");

    CHECK_OK(validate("{\"input_video_path\": \"in.mp4\", \"edge\": {\"control_weight\": 1.0}}"));
    CHECK_FAILS(validate("{\"edge\": {\"input_control\": \"e.mp4\"}}"), ORR_ERR_ARGUMENT,
                "'sigma_max' is 70 but no 'input_video_path' is given");
    CHECK_FAILS(validate("{\"sigma_max\": 80, \"edge\": {}}"), ORR_ERR_NOT_FOUND,
                "'edge'.'input_control' is missing and no 'input_video_path' is given");
    CHECK_FAILS(validate("{\"input_video_path\": \"in.mp4\", \"depth\": {}}"), ORR_ERR_UNSUPPORTED,
                "'depth'.'input_control' is missing: orrery makes edge and vis controls from the input video, but "
                "depth needs a model that is not part of orrery (Depth-Anything)");
    CHECK_FAILS(validate("{\"input_video_path\": \"in.mp4\", \"vis\": {\"control_weight_prompt\": \"arms\"}}"),
                ORR_ERR_UNSUPPORTED, "'vis'.'control_weight_prompt' needs GroundingDINO and SAM2");
    CHECK_FAILS(validate("{\"prompt\": \"p\"}"), ORR_ERR_NOT_FOUND, "no control");
}

static void test_weights(void) {
    const char *json =
        "{\"edge\": {\"control_weight\": \"" DATA "edge_weights.pt\"}, \"depth\": {\"control_weight\": 0.5}}";
    orr_transfer_spec *s = NULL;
    CHECK_OK(orr_transfer_spec_parse(&s, json, strlen(json), NULL));
    if (!s) return;
    CHECK(orr_transfer_spec_has_maps(s));
    orr_tensor *w = NULL, *map = NULL;
    CHECK_OK(orr_tensor_empty(&w, ORR_F32, 4, (int64_t[]){2, 3, 4, 4}));
    CHECK_OK(orr_transfer_spec_weights(s, w, false));
    orr_checkpoint *pt = NULL;
    CHECK_OK(orr_ckpt_open(DATA "edge_weights.pt", &pt));
    CHECK_OK(orr_ckpt_get(pt, "tensor", &map));
    for (int64_t i = 0; map && i < 48; i++) {
        double e = orr_tensor_get(map, i);
        e = e < 0 ? 0 : e;
        double sum = e + 0.5 < 1 ? 1 : e + 0.5;
        CHECK_NEAR(orr_tensor_get(w, i), e / sum, 1e-6);
        CHECK_NEAR(orr_tensor_get(w, 48 + i), 0.5 / sum, 1e-6);
    }
    orr_tensor *small = NULL;
    CHECK_OK(orr_tensor_empty(&small, ORR_F32, 1, (int64_t[]){2}));
    CHECK_FAILS(orr_transfer_spec_weights(s, small, false), ORR_ERR_SHAPE, "expected [2,T,H,W]");
    orr_transfer_spec_free(s);
    /* numbers only */
    json = "{\"vis\": {\"control_weight\": 0.3}, \"edge\": {\"control_weight\": \"0.9\"}, \"seg\": {}}";
    CHECK_OK(orr_transfer_spec_parse(&s, json, strlen(json), NULL));
    orr_tensor *three = NULL;
    CHECK_OK(orr_tensor_empty(&three, ORR_F32, 1, (int64_t[]){3}));
    CHECK(!orr_transfer_spec_has_maps(s));
    CHECK_OK(orr_transfer_spec_weights(s, three, false));
    CHECK_NEAR(orr_tensor_get(three, 2), 0.5 / 1.7, 1e-6); /* seg takes the default 0.5 */
    orr_transfer_spec_free(s);
    /* a map of the wrong rank names the key */
    json = "{\"edge\": {\"control_weight\": \"" DATA "bad_weights.pt\"}}";
    CHECK_OK(orr_transfer_spec_parse(&s, json, strlen(json), "bad.json"));
    CHECK_FAILS(orr_transfer_spec_weights(s, w, false), ORR_ERR_SHAPE,
                "'edge'.'control_weight' (" DATA "bad_weights.pt) is f32[2,2,2,2]; a weight map is [T,H,W] or [H,W]");
    orr_transfer_spec_free(s);
    json = "{\"edge\": {\"control_weight\": \"missing.pt\"}}";
    CHECK_OK(orr_transfer_spec_parse(&s, json, strlen(json), "bad.json"));
    CHECK_FAILS(orr_transfer_spec_weights(s, w, false), ORR_ERR_IO, "'edge'.'control_weight'");
    orr_transfer_spec_free(s);
    orr_tensor_free(w), orr_tensor_free(map), orr_tensor_free(small), orr_tensor_free(three);
    orr_ckpt_close(pt);
}

int main(void) {
    test_round_trip();
    test_args_and_controls();
    test_errors();
    test_weights();
    return test_finish("test_transfer_spec");
}
