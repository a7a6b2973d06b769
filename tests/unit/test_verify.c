/* The verify framework: dispatch on the fixture's network, comparison of
 * outputs and intermediates, and failure on numbers, shapes and unknowns. */
#include <unistd.h>

#include "test_util.h"

static float scale_factor = 2.0f;

/* y = scale * w * x, with the intermediate h = w * x. */
static orr_status scaled_product(const orr_fixture *f, orr_tensor_list *results) {
    orr_tensor *x, *w, *y, *h;
    orr_status st;
    if ((st = orr_st_get(f->inputs, "x", &x))) return st;
    if ((st = orr_st_get(f->weights, "w", &w))) return orr_tensor_free(x), st;
    orr_tensor_empty(&y, ORR_F32, x->ndim, x->shape);
    orr_tensor_empty(&h, ORR_F32, x->ndim, x->shape);
    for (int64_t i = 0; i < orr_tensor_numel(x); i++) {
        double hv = orr_tensor_get(w, 0) * orr_tensor_get(x, i);
        orr_tensor_set(h, i, hv);
        orr_tensor_set(y, i, scale_factor * hv);
    }
    orr_tensor_free(x);
    orr_tensor_free(w);
    if ((st = orr_tensor_list_add(results, "y", y))) return orr_tensor_free(h), st;
    return orr_tensor_list_add(results, "h", h);
}

/* The same with the protocol allowing y an absolute error of 0.01. */
static orr_status scaled_product_lenient(const orr_fixture *f, orr_tensor_list *results) {
    orr_status st = scaled_product(f, results);
    return st ? st : orr_tensor_list_allow(results, "y", 0.01);
}

static void save1(const char *dir, const char *file, const char *name, orr_tensor *t, const char *network) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, file);
    const char *keys[] = {"network"}, *values[] = {network};
    const orr_tensor *ts[] = {t};
    CHECK_OK(orr_st_save(path, 1, &name, ts, network ? 1 : 0, keys, values));
}

static void make_fixture(const char *dir, const char *network, float out_scale, int64_t out_len) {
    orr_tensor *x, *w, *y, *h;
    orr_tensor_empty(&x, ORR_F32, 1, (int64_t[]){5});
    orr_tensor_empty(&w, ORR_F32, 1, (int64_t[]){1});
    orr_tensor_empty(&y, ORR_F32, 1, (int64_t[]){out_len});
    orr_tensor_empty(&h, ORR_F32, 1, (int64_t[]){5});
    orr_tensor_set(w, 0, 3.0);
    for (int i = 0; i < 5; i++) {
        orr_tensor_set(x, i, i - 2);
        orr_tensor_set(h, i, 3.0 * (i - 2));
    }
    for (int i = 0; i < out_len; i++) orr_tensor_set(y, i, out_scale * 3.0 * (i - 2));
    save1(dir, "inputs", "x", x, network);
    save1(dir, "weights", "w", w, network);
    save1(dir, "outputs", "y", y, network);
    save1(dir, "intermediates", "h", h, network);
    orr_tensor_free(x);
    orr_tensor_free(w);
    orr_tensor_free(y);
    orr_tensor_free(h);
}

int main(void) {
    char dir[] = "/tmp/orr_verify_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    orr_verify_params p;
    orr_verify_params_init(&p);
    CHECK(p.tolerance == 1e-4);

    CHECK_OK(orr_verify_register("ScaledProduct", scaled_product));
    bool listed = false;
    for (int i = 0; i < orr_verify_network_count(); i++)
        listed |= strcmp(orr_verify_network_name(i), "ScaledProduct") == 0;
    CHECK(listed);

    make_fixture(dir, "ScaledProduct", 2.0f, 5);
    CHECK_OK(orr_verify_dir(dir, &p, stdout));

    scale_factor = 2.001f; /* 5e-4 relative: out of tolerance */
    CHECK_FAILS(orr_verify_dir(dir, &p, stdout), ORR_ERR_MISMATCH, "1 tensors");
    p.tolerance = 1e-3;
    CHECK_OK(orr_verify_dir(dir, &p, NULL));
    scale_factor = 2.0f;

    /* y is off by up to 0.006: out of tolerance, within what the runner allows */
    p.tolerance = 1e-4;
    scale_factor = 2.001f;
    CHECK_OK(orr_verify_register("ScaledProductLenient", scaled_product_lenient));
    make_fixture(dir, "ScaledProductLenient", 2.0f, 5);
    CHECK_OK(orr_verify_dir(dir, &p, stdout));
    scale_factor = 2.01f; /* off by 0.06 */
    CHECK_FAILS(orr_verify_dir(dir, &p, NULL), ORR_ERR_MISMATCH, "1 tensors");
    scale_factor = 2.0f;

    make_fixture(dir, "ScaledProduct", 2.0f, 4); /* expected output of another shape */
    CHECK_FAILS(orr_verify_dir(dir, &p, stdout), ORR_ERR_MISMATCH, "out of tolerance");

    make_fixture(dir, "NoSuchNet", 2.0f, 5);
    CHECK_FAILS(orr_verify_dir(dir, &p, stdout), ORR_ERR_NOT_FOUND, "no runner for network 'NoSuchNet'");

    make_fixture(dir, NULL, 2.0f, 5);
    CHECK_FAILS(orr_verify_dir(dir, &p, NULL), ORR_ERR_FORMAT, "names no network");

    char path[600];
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    unlink(path);
    /* weights are optional; the runner says what it misses */
    make_fixture(dir, "ScaledProduct", 2.0f, 5);
    unlink(path);
    CHECK_FAILS(orr_verify_dir(dir, &p, NULL), ORR_ERR_ARGUMENT, "ScaledProduct failed");
    CHECK_FAILS(orr_verify_dir("/nonexistent/fixture", &p, NULL), ORR_ERR_NOT_FOUND, "no inputs.safetensors");

    const char *files[] = {"inputs", "outputs", "intermediates"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return test_finish("test_verify");
}
