/* preproc_verify.c — `orrery verify` runner for the preprocessor fixture
 * (preproc): get_augmentor_for_eval for edge and vis with every preset
 * named in its "presets" metadata, on the fixture's u8 [3,T,H,W] video:
 * edge.<preset>, vis.<preset> and the blur stage vis_blur.<preset>. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "preprocess.h"

static orr_status run_one(const orr_tensor *video, const char *name, orr_control_preset preset,
                          orr_tensor_list *results) {
    orr_status (*fns[3])(orr_tensor *, const orr_tensor *, orr_control_preset) = {orr_control_edge, orr_control_vis,
                                                                                  orr_control_vis_blur};
    static const char *kinds[3] = {"edge", "vis", "vis_blur"};
    orr_status st = ORR_OK;
    for (int k = 0; k < 3 && !st; k++) {
        orr_tensor *out;
        char full[64];
        if ((st = orr_tensor_empty(&out, ORR_U8, 4, video->shape))) break;
        st = fns[k](out, video, preset);
        snprintf(full, sizeof full, "%s.%s", kinds[k], name);
        if (!st)
            st = orr_tensor_list_add(results, full, out);
        else
            orr_tensor_free(out);
        /* the fixture allows +-1 on vis: torchvision's bicubic rounds its taps differently */
        if (!st && k == 1) st = orr_tensor_list_allow(results, full, 1.0);
    }
    return st;
}

static orr_status run_preproc(const orr_fixture *fx, orr_tensor_list *results) {
    const char *json = orr_st_metadata(fx->inputs, "presets");
    if (!json) return orr_error(ORR_ERR_FORMAT, "verify preproc: no 'presets' metadata");
    orr_tensor *video = NULL;
    orr_json *doc = NULL;
    orr_status st = orr_st_get(fx->inputs, "video", &video);
    if (!st) st = orr_json_parse(json, strlen(json), NULL, &doc);
    const orr_json_value *list = doc ? orr_json_root(doc) : NULL;
    for (size_t i = 0; !st && i < orr_json_length(list); i++) {
        const char *name = orr_json_string(orr_json_at(list, i), NULL);
        orr_control_preset preset;
        st = orr_control_preset_from_name(name, &preset);
        if (!st) st = run_one(video, name, preset, results);
    }
    orr_json_free(doc);
    orr_tensor_free(video);
    return st;
}

void orr_preproc_register_verify(void) { orr_verify_register("get_augmentor_for_eval", run_preproc); }
