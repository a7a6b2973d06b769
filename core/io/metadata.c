/* metadata.c — orr_metadata, the ordered text key/value list that PNG text
 * chunks and video container metadata are read into and written from.
 * Keys compare without regard to ASCII case, as FFmpeg's dictionaries do:
 * Matroska stores its tag names upper-cased. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

struct orr_metadata {
    char **keys;
    char **values;
    int64_t count, capacity;
};

orr_status orr_metadata_create(orr_metadata **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "metadata_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return orr_error(ORR_ERR_MEMORY, "metadata_create: out of memory");
    return ORR_OK;
}

void orr_metadata_free(orr_metadata *m) {
    if (!m) return;
    for (int64_t i = 0; i < m->count; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    free(m);
}

static int64_t find_key(const orr_metadata *m, const char *key) {
    for (int64_t i = 0; i < m->count; i++)
        if (strcasecmp(m->keys[i], key) == 0) return i;
    return -1;
}

orr_status orr_metadata_set(orr_metadata *m, const char *key, const char *value) {
    if (!m || !key || !value)
        return orr_error(ORR_ERR_ARGUMENT, "metadata_set: %s is NULL", !m ? "m" : !key ? "key" : "value");
    if (!key[0]) return orr_error(ORR_ERR_ARGUMENT, "metadata_set: key is empty");
    char *v = strdup(value);
    if (!v) return orr_error(ORR_ERR_MEMORY, "metadata_set: out of memory for the value of '%s'", key);
    int64_t i = find_key(m, key);
    if (i >= 0) {
        free(m->values[i]);
        m->values[i] = v;
        return ORR_OK;
    }
    if (m->count == m->capacity) {
        int64_t cap = m->capacity ? 2 * m->capacity : 8;
        char **k2 = realloc(m->keys, (size_t)cap * sizeof *k2);
        if (k2) m->keys = k2;
        char **v2 = k2 ? realloc(m->values, (size_t)cap * sizeof *v2) : NULL;
        if (v2) m->values = v2;
        if (!k2 || !v2) {
            free(v);
            return orr_error(ORR_ERR_MEMORY, "metadata_set: out of memory adding '%s'", key);
        }
        m->capacity = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return orr_error(ORR_ERR_MEMORY, "metadata_set: out of memory adding '%s'", key);
    }
    m->keys[m->count] = k;
    m->values[m->count] = v;
    m->count++;
    return ORR_OK;
}

int64_t orr_metadata_count(const orr_metadata *m) { return m ? m->count : 0; }

const char *orr_metadata_key(const orr_metadata *m, int64_t index) {
    return m && index >= 0 && index < m->count ? m->keys[index] : NULL;
}

const char *orr_metadata_value(const orr_metadata *m, int64_t index) {
    return m && index >= 0 && index < m->count ? m->values[index] : NULL;
}

const char *orr_metadata_get(const orr_metadata *m, const char *key) {
    if (!m || !key) return NULL;
    int64_t i = find_key(m, key);
    return i >= 0 ? m->values[i] : NULL;
}
