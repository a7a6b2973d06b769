/* internal.h — helpers shared inside liborrery; not part of the public API. */
#ifndef ORR_INTERNAL_H
#define ORR_INTERNAL_H

#include <time.h>

#include "orrery.h"

#if defined(__GNUC__)
#define ORR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ORR_PRINTF(f, a)
#endif

/* bf16 <-> f32 inline, for the hot conversion loops (the public
 * orr_bf16_to_f32/orr_f32_to_bf16 are these). Round to nearest even; NaN
 * stays NaN. */
static inline float orr_bf16_bits_to_f32(uint16_t v) {
    union {
        uint32_t u;
        float f;
    } x = {(uint32_t)v << 16};
    return x.f;
}

static inline uint16_t orr_f32_to_bf16_bits(float v) {
    union {
        float f;
        uint32_t u;
    } x = {v};
    if ((x.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x.u >> 16) | 0x40);
    return (uint16_t)((x.u + 0x7fffu + ((x.u >> 16) & 1u)) >> 16);
}

/* Wall-clock seconds from an arbitrary start (CLOCK_MONOTONIC), for the
 * timings and ETAs the pipelines report. */
static inline double orr_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Records a message for orr_last_error() and returns `status`, so that
 * failures read `return orr_error(ORR_ERR_SHAPE, "linear: ...", ...);`. */
orr_status orr_error(orr_status status, const char *fmt, ...) ORR_PRINTF(2, 3);
/* Prefixes the current message with more context ("loading x.safetensors: ")
 * and returns status unchanged. */
orr_status orr_error_context(orr_status status, const char *fmt, ...) ORR_PRINTF(2, 3);

/* Storage: a refcounted block. `release(user, base, bytes)` frees it when
 * the count reaches zero (NULL = nothing to free). */
typedef void (*orr_release_fn)(void *user, void *base, size_t bytes);
orr_status orr_storage_create(orr_device device, void *base, size_t bytes, orr_release_fn release, void *user,
                              orr_storage **out);
/* An owned, accounted allocation. */
orr_status orr_storage_alloc(orr_device device, size_t bytes, bool zero, orr_storage **out);
void orr_storage_retain(orr_storage *s);
void orr_storage_release(orr_storage *s);
void *orr_storage_base(const orr_storage *s);
size_t orr_storage_bytes(const orr_storage *s);

/* A tensor over `storage` (one new reference is taken), contiguous from
 * element `offset`. Fails with ORR_ERR_SHAPE if it would not fit. */
orr_status orr_tensor_over(orr_tensor **out, orr_storage *storage, int64_t offset, orr_dtype dtype, int ndim,
                           const int64_t *shape);

/* Accounting of file mappings (kept apart from owned bytes). */
void orr_mem_note_mapped(orr_device device, int64_t delta);

/* Validation helpers: each returns ORR_OK or a status with a message that
 * starts with `op` and names the argument. */
orr_status orr_check_cpu(const char *op, const char *arg, const orr_tensor *t);
orr_status orr_check_ndim(const char *op, const char *arg, const orr_tensor *t, int ndim);
orr_status orr_check_dim(const char *op, const char *arg, const orr_tensor *t, int dim, int64_t size);
orr_status orr_check_same_shape(const char *op, const char *arg_a, const orr_tensor *a, const char *arg_b,
                                const orr_tensor *b);
/* Normalises a possibly negative dim; error names op and the bad dim. */
orr_status orr_norm_dim(const char *op, int ndim, int *dim);

/* Reading an input as contiguous float32: *data points into t when t is
 * already contiguous f32, else into a converted copy held in *tmp (free
 * with orr_tensor_free; NULL when no copy was needed). */
orr_status orr_input_f32(const orr_tensor *t, orr_tensor **tmp, const float **data);
/* Writing a float32 result: *data points into out when out is contiguous
 * f32, else into a scratch tensor; orr_output_f32_end copies it back (with
 * conversion) and frees the scratch. */
orr_status orr_output_f32_begin(orr_tensor *out, orr_tensor **tmp, float **data);
orr_status orr_output_f32_end(orr_tensor *out, orr_tensor *tmp);

/* One element at p as a double, or stored from one, with conversion. */
double orr_load_element(const void *p, orr_dtype dtype);
void orr_store_element(void *p, orr_dtype dtype, double value);

/* Shapes in messages: "[2,3,4]" into buf. */
const char *orr_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* Checked size arithmetic: false on overflow. */
bool orr_mul_overflows(int64_t a, int64_t b, int64_t *out);

#endif /* ORR_INTERNAL_H */
