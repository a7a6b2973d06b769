/* tensor_list.c — a named, owning list of tensors (what a network run
 * hands back to `orrery verify`). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct orr_tensor_list {
    int64_t count, capacity;
    char **names;
    orr_tensor **tensors;
    double *allowances; /* max abs error a verify runner allows; 0 = none */
};

orr_status orr_tensor_list_create(orr_tensor_list **out) {
    *out = calloc(1, sizeof **out);
    return *out ? ORR_OK : orr_error(ORR_ERR_MEMORY, "tensor list: out of host memory");
}

void orr_tensor_list_free(orr_tensor_list *list) {
    if (!list) return;
    for (int64_t i = 0; i < list->count; i++) {
        free(list->names[i]);
        orr_tensor_free(list->tensors[i]);
    }
    free(list->names);
    free(list->tensors);
    free(list->allowances);
    free(list);
}

orr_status orr_tensor_list_add(orr_tensor_list *list, const char *name, orr_tensor *t) {
    if (!list || !name || !t) {
        orr_tensor_free(t);
        return orr_error(ORR_ERR_ARGUMENT, "tensor list: NULL list, name or tensor");
    }
    if (orr_tensor_list_find(list, name)) {
        orr_tensor_free(t);
        return orr_error(ORR_ERR_ARGUMENT, "tensor list: '%s' is already in the list", name);
    }
    if (list->count == list->capacity) {
        int64_t cap = list->capacity ? list->capacity * 2 : 16;
        char **names = realloc(list->names, (size_t)cap * sizeof *names);
        if (names) list->names = names;
        orr_tensor **tensors = names ? realloc(list->tensors, (size_t)cap * sizeof *tensors) : NULL;
        if (tensors) list->tensors = tensors;
        double *allowances = tensors ? realloc(list->allowances, (size_t)cap * sizeof *allowances) : NULL;
        if (!allowances) {
            orr_tensor_free(t);
            return orr_error(ORR_ERR_MEMORY, "tensor list: out of host memory");
        }
        list->allowances = allowances;
        list->capacity = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        orr_tensor_free(t);
        return orr_error(ORR_ERR_MEMORY, "tensor list: out of host memory");
    }
    list->names[list->count] = copy;
    list->allowances[list->count] = 0;
    list->tensors[list->count++] = t;
    return ORR_OK;
}

int64_t orr_tensor_list_count(const orr_tensor_list *list) { return list ? list->count : 0; }

const char *orr_tensor_list_name(const orr_tensor_list *list, int64_t index) {
    return list && index >= 0 && index < list->count ? list->names[index] : NULL;
}

orr_tensor *orr_tensor_list_get(const orr_tensor_list *list, int64_t index) {
    return list && index >= 0 && index < list->count ? list->tensors[index] : NULL;
}

orr_tensor *orr_tensor_list_find(const orr_tensor_list *list, const char *name) {
    for (int64_t i = 0; list && i < list->count; i++)
        if (strcmp(list->names[i], name) == 0) return list->tensors[i];
    return NULL;
}

orr_status orr_tensor_list_allow(orr_tensor_list *list, const char *name, double max_abs_error) {
    for (int64_t i = 0; list && i < list->count; i++)
        if (strcmp(list->names[i], name) == 0) return list->allowances[i] = max_abs_error, ORR_OK;
    return orr_error(ORR_ERR_NOT_FOUND, "tensor list: no '%s' to allow an error on", name ? name : "(null)");
}

double orr_tensor_list_allowance(const orr_tensor_list *list, const char *name) {
    for (int64_t i = 0; list && i < list->count; i++)
        if (strcmp(list->names[i], name) == 0) return list->allowances[i];
    return 0;
}
