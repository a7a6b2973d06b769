/* replay_main.c — runs a fuzz target's LLVMFuzzerTestOneInput over every file
 * in the directories (or files) named on the command line, so the kept
 * corpus replays in every ctest run without libFuzzer. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    struct stat s;
    if (!f || fstat(fileno(f), &s) != 0) {
        perror(path);
        if (f) fclose(f);
        return -1;
    }
    size_t size = (size_t)s.st_size;
    uint8_t *data = malloc(size ? size : 1);
    bool ok = data && fread(data, 1, size, f) == size;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s: cannot read it\n", path);
        free(data);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

/* Regular files in dir, in name order; returns how many ran, -1 on error. */
static int run_dir(const char *dir) {
    struct dirent **entries;
    int n = scandir(dir, &entries, NULL, alphasort), ran = 0;
    if (n < 0) {
        perror(dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat s;
        snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
        if (ran >= 0 && stat(path, &s) == 0 && S_ISREG(s.st_mode)) ran = run_file(path) ? -1 : ran + 1;
        free(entries[i]);
    }
    free(entries);
    return ran;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int a = 1; a < argc; a++) {
        struct stat s;
        int ran = stat(argv[a], &s) == 0 && S_ISREG(s.st_mode) ? (run_file(argv[a]) ? -1 : 1) : run_dir(argv[a]);
        if (ran <= 0) {
            fprintf(stderr, "%s: %s\n", argv[a], ran ? "cannot be read" : "no inputs in it");
            return 1;
        }
        total += ran;
    }
    printf("%s: %d inputs replayed\n", argv[0], total);
    return 0;
}
