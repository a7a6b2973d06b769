/* test_models.c — the model registry: every entry's config is one the
 * loaders take, names are found, and a checkpoints folder is checked file
 * by file with messages naming what is missing or misshapen. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static char tmp_dir[64];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

static void copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CHECK(in && out);
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) CHECK(fwrite(buf, 1, n, out) == n);
    if (in) fclose(in);
    if (out) fclose(out);
}

/* The loaders read each config before they look for weights: with none,
 * they must stop at the first missing weight, not at the config. */
static void test_configs_parse(void) {
    const char *empty = tmp_path("empty.safetensors");
    FILE *f = fopen(empty, "wb");
    CHECK(f && fwrite("\x08\0\0\0\0\0\0\0{}      ", 1, 16, f) == 16);
    if (f) fclose(f);
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open(empty, &st));
    int diffusion = 0, tokenizers = 0;
    for (int i = 0; i < orr_model_count(); i++) {
        const orr_model_info *m = orr_model_at(i);
        CHECK(orr_model_find(m->name) == m && m->n_files > 0 && m->files);
        if (!strcmp(m->kind, "diffusion")) {
            orr_dit *dit = NULL;
            CHECK_FAILS(orr_dit_load(&dit, m->network, m->config_json, st), ORR_ERR_NOT_FOUND, "x_embedder");
            diffusion++;
        } else if (!strcmp(m->kind, "tokenizer")) {
            orr_tokenizer *tok = NULL;
            CHECK_FAILS(orr_tokenizer_load(&tok, m->config_json, empty, NULL), ORR_ERR_NOT_FOUND,
                        "no encoder.* or decoder.* tensors");
            tokenizers++;
        }
    }
    CHECK(diffusion == 4 && tokenizers == 8);
    orr_st_close(st);
    CHECK(orr_model_find("nvidia/Cosmos-Transfer1-7B") == orr_model_find("Cosmos-Transfer1-7B"));
    CHECK(orr_model_find("Cosmos-Predict1-7B-Text2World")->parameters == 7236192768);
    CHECK(orr_model_find("Cosmos-Predict9") == NULL && orr_model_at(orr_model_count()) == NULL);
}

static void test_check_folder(void) {
    char path[600], dir[600];
    CHECK_FAILS(orr_model_check(tmp_dir, "Cosmos-Predict9", NULL), ORR_ERR_NOT_FOUND, "unknown model 'Cosmos-Predict9'");
    CHECK_FAILS(orr_model_check(tmp_dir, "Cosmos-Predict1-7B-Text2World", NULL), ORR_ERR_NOT_FOUND,
                "Cosmos-Predict1-7B-Text2World/model.pt");

    /* the tiny official DiT in place of the 7B one: all keys, wrong sizes */
    snprintf(dir, sizeof dir, "%s/Cosmos-Predict1-7B-Text2World", tmp_dir);
    CHECK(mkdir(dir, 0777) == 0);
    copy_file("data/ckpt/dit_model_bf16.pt", tmp_path("Cosmos-Predict1-7B-Text2World/model.pt"));
    CHECK_FAILS(orr_model_check(tmp_dir, "Cosmos-Predict1-7B-Text2World", NULL), ORR_ERR_NOT_FOUND,
                "holds 51 tensors net.* where the GeneralDIT has 571");
    CHECK_OK(orr_model_path(tmp_dir, "Cosmos-Predict1-7B-Text2World", "model.pt", path, sizeof path));
    CHECK(!strcmp(path, tmp_path("Cosmos-Predict1-7B-Text2World/model.pt")));

    /* the Transfer1 scripts' layout, checkpoints/nvidia/<name>/ */
    snprintf(dir, sizeof dir, "%s/nvidia", tmp_dir);
    CHECK(mkdir(dir, 0777) == 0);
    snprintf(dir, sizeof dir, "%s/nvidia/Cosmos-Tokenize1-CV8x8x8-720p", tmp_dir);
    CHECK(mkdir(dir, 0777) == 0);
    copy_file("data/ckpt/encoder_bf16cast.jit", tmp_path("nvidia/Cosmos-Tokenize1-CV8x8x8-720p/encoder.jit"));
    CHECK_OK(orr_model_path(tmp_dir, "Cosmos-Tokenize1-CV8x8x8-720p", "encoder.jit", path, sizeof path));
    CHECK(strstr(path, "/nvidia/Cosmos-Tokenize1-CV8x8x8-720p/encoder.jit") != NULL);
    FILE *report = tmpfile();
    CHECK_FAILS(orr_model_check(tmp_dir, "Cosmos-Tokenize1-CV8x8x8-720p", report), ORR_ERR_SHAPE,
                "'encoder.conv_in.0.conv3d.weight' in");
    CHECK(strstr(orr_last_error(), "is bf16[8,192,1,3,3] where the config implies [128,192,1,3,3]"));
    if (report) {
        char text[4096] = "";
        rewind(report);
        size_t n = fread(text, 1, sizeof text - 1, report);
        text[n] = 0;
        CHECK(strstr(text, "FAIL  models: Cosmos-Tokenize1-CV8x8x8-720p: missing") != NULL); /* decoder.jit */
        CHECK(strstr(text, "autoencoder.jit (optional, absent)") != NULL);
        CHECK(strstr(text, "Cosmos-Tokenize1-CV8x8x8-720p: INCOMPLETE") != NULL);
        fclose(report);
    }
    CHECK_FAILS(orr_model_path(tmp_dir, "Cosmos-Tokenize1-CV8x8x8-720p", "decoder.jit", path, sizeof path),
                ORR_ERR_NOT_FOUND, "missing");
}

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child[1024];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat s;
        if (lstat(child, &s) == 0 && S_ISDIR(s.st_mode))
            remove_tree(child);
        else
            unlink(child);
    }
    if (d) closedir(d);
    rmdir(path);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/orr_test_models_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_configs_parse();
    test_check_folder();
    remove_tree(tmp_dir);
    return test_finish("test_models");
}
