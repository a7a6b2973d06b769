/*
 * orrery.h — the one public header of liborrery.
 *
 * Conventions (read once, they hold everywhere):
 *  - Every call that can fail returns an orr_status; on failure orr_last_error()
 *    holds a message naming the file, key, shape or value that was wrong.
 *    Nothing in the library aborts or exits on bad input.
 *  - Indices are 0-based. Shapes are PyTorch order (B,C,T,H,W); strides are in
 *    elements, not bytes.
 *  - Ops write into an output tensor the caller created with the right shape
 *    (like llm.c's forward functions); they never allocate hidden outputs.
 *    Inputs may be any dtype and any strides; compute is float32 on the CPU.
 *  - Objects come in create/free pairs; free(NULL) is a no-op.
 *
 * The Lua layer binds this header with ffi.cdef after the preprocessor has
 * run over it, so keep it plain C: no inline functions, no macros that
 * callers must expand.
 */
#ifndef ORRERY_H
#define ORRERY_H

/* The Lua binding preprocesses this header with ORR_FFI_CDEF defined:
 * LuaJIT's FFI knows the standard integer types itself. */
#ifndef ORR_FFI_CDEF
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Status and errors                                                          */

typedef enum orr_status {
    ORR_OK = 0,
    ORR_ERR_ARGUMENT,    /* a bad argument: NULL, out of range, wrong flag */
    ORR_ERR_SHAPE,       /* shapes disagree or a dimension is invalid */
    ORR_ERR_DTYPE,       /* a dtype the operation does not take */
    ORR_ERR_IO,          /* open/read/write/mmap failed */
    ORR_ERR_FORMAT,      /* a malformed file or string */
    ORR_ERR_NOT_FOUND,   /* a missing key, tensor or network */
    ORR_ERR_MEMORY,      /* allocation failed */
    ORR_ERR_UNSUPPORTED, /* valid but not implemented here (device, mode) */
    ORR_ERR_NONFINITE,   /* NaN or Inf where a finite value was needed */
    ORR_ERR_CANCELLED,   /* a callback asked to stop */
    ORR_ERR_MISMATCH     /* a verification found numbers out of tolerance */
} orr_status;

/* The message of the last failure on the calling thread ("" if none). */
const char *orr_last_error(void);
/* A short constant name for a status, e.g. "shape". */
const char *orr_status_name(orr_status status);
/* Forget the last error on the calling thread. */
void orr_clear_error(void);

/* ------------------------------------------------------------------------ */
/* Dtypes and devices                                                         */

typedef enum orr_dtype {
    ORR_F32 = 0,
    ORR_F64,
    ORR_BF16,
    ORR_F16,
    ORR_I64,
    ORR_I32,
    ORR_I16,
    ORR_I8,
    ORR_U8,
    ORR_BOOL,
    ORR_DTYPE_COUNT
} orr_dtype;

size_t orr_dtype_size(orr_dtype dtype);
/* "f32", "bf16", ... ; NULL for an invalid value. */
const char *orr_dtype_name(orr_dtype dtype);
/* Parses "f32"/"F32"/"float32"/"bf16"/... ; ORR_ERR_FORMAT if unknown. */
orr_status orr_dtype_from_name(const char *name, orr_dtype *out);

/* bf16/f16 <-> f32 scalar conversions (round to nearest even). */
float orr_bf16_to_f32(uint16_t v);
uint16_t orr_f32_to_bf16(float v);
float orr_f16_to_f32(uint16_t v);
uint16_t orr_f32_to_f16(float v);

typedef enum orr_device {
    ORR_CPU = 0,
    ORR_CUDA = 1, /* reserved: the CUDA backend fills this in */
    ORR_DEVICE_COUNT
} orr_device;

const char *orr_device_name(orr_device device);

/* ------------------------------------------------------------------------ */
/* Memory: accounting per device, a pressure hook, arenas                     */

typedef struct orr_mem_stats {
    int64_t bytes_in_use;   /* owned allocations alive now */
    int64_t bytes_peak;     /* high-water mark since start or last reset */
    int64_t bytes_mapped;   /* file mappings alive now (not counted above) */
    int64_t allocations;    /* owned allocations alive now */
    int64_t limit;          /* soft limit that triggers the pressure hook; 0 = none */
} orr_mem_stats;

void orr_mem_get_stats(orr_device device, orr_mem_stats *out);
void orr_mem_reset_peak(orr_device device);

/* Called when an allocation would take a device past its soft limit, and
 * again when an allocation fails, before the allocation is retried once.
 * The Lua layer runs its garbage collector here. `wanted` is the size of
 * the allocation in bytes. */
typedef void (*orr_pressure_fn)(void *user, orr_device device, int64_t wanted);
void orr_mem_set_pressure_hook(orr_pressure_fn fn, void *user);
void orr_mem_set_limit(orr_device device, int64_t bytes);

/* Raw accounted allocation (64-byte aligned). Used by storages and arenas. */
orr_status orr_mem_alloc(orr_device device, size_t bytes, void **out);
void orr_mem_free(orr_device device, void *ptr, size_t bytes);

/* An arena hands out bump-pointer allocations from one accounted block;
 * reset makes the whole block free again at once (activations of a run).
 * Tensors created in an arena must not outlive its reset or free. */
typedef struct orr_arena orr_arena;
orr_status orr_arena_create(orr_device device, size_t capacity, orr_arena **out);
void orr_arena_free(orr_arena *arena);
void orr_arena_reset(orr_arena *arena);
size_t orr_arena_used(const orr_arena *arena);
size_t orr_arena_peak(const orr_arena *arena);
size_t orr_arena_capacity(const orr_arena *arena);
orr_status orr_arena_alloc(orr_arena *arena, size_t bytes, void **out);

/* ------------------------------------------------------------------------ */
/* Storage and tensors                                                        */

/* An enum rather than a #define so that the Lua binding sees it too. */
enum { ORR_MAX_DIMS = 6 };

/* A refcounted block of bytes: owned, arena-backed, file-mapped or borrowed. */
typedef struct orr_storage orr_storage;

/* A strided view over a storage. The struct is public so that readers (and
 * LuaJIT) can read shape and strides directly; change it only through the
 * functions below. Each tensor holds one reference to its storage. */
typedef struct orr_tensor {
    orr_storage *storage;
    void *data;                      /* first element (storage base + offset) */
    int64_t offset;                  /* in elements, from the storage base */
    int64_t shape[ORR_MAX_DIMS];
    int64_t stride[ORR_MAX_DIMS];    /* in elements */
    int ndim;
    orr_dtype dtype;
    orr_device device;
} orr_tensor;

/* New tensors (uninitialised, zeroed) owning fresh storage. ndim 0 is a scalar. */
orr_status orr_tensor_empty(orr_tensor **out, orr_dtype dtype, int ndim, const int64_t *shape);
orr_status orr_tensor_zeros(orr_tensor **out, orr_dtype dtype, int ndim, const int64_t *shape);
/* A contiguous tensor in an arena. */
orr_status orr_tensor_empty_in(orr_arena *arena, orr_tensor **out, orr_dtype dtype, int ndim,
                               const int64_t *shape);
/* A contiguous tensor over memory the caller owns; `release(user)` is called
 * when the last view goes away (may be NULL). */
orr_status orr_tensor_wrap(orr_tensor **out, void *data, orr_dtype dtype, int ndim, const int64_t *shape,
                           void (*release)(void *user), void *user);
/* A new contiguous tensor holding a copy of the elements of `t` (converted to dtype). */
orr_status orr_tensor_clone(orr_tensor **out, const orr_tensor *t, orr_dtype dtype);
void orr_tensor_free(orr_tensor *t);

int64_t orr_tensor_numel(const orr_tensor *t);
size_t orr_tensor_nbytes(const orr_tensor *t);
bool orr_tensor_is_contiguous(const orr_tensor *t);
bool orr_tensor_same_shape(const orr_tensor *a, const orr_tensor *b);
/* Writes "f32[2,3,4]" into buf (always NUL-terminated). Returns buf. */
const char *orr_tensor_describe(const orr_tensor *t, char *buf, size_t size);

/* O(1) views: a new tensor object sharing t's storage. Negative dims count
 * from the end. */
orr_status orr_tensor_view(orr_tensor **out, const orr_tensor *t);
orr_status orr_tensor_narrow(orr_tensor **out, const orr_tensor *t, int dim, int64_t start, int64_t length);
orr_status orr_tensor_select(orr_tensor **out, const orr_tensor *t, int dim, int64_t index);
orr_status orr_tensor_permute(orr_tensor **out, const orr_tensor *t, const int *order);
orr_status orr_tensor_transpose(orr_tensor **out, const orr_tensor *t, int dim0, int dim1);
orr_status orr_tensor_unsqueeze(orr_tensor **out, const orr_tensor *t, int dim);
orr_status orr_tensor_squeeze(orr_tensor **out, const orr_tensor *t, int dim);
/* Broadcast size-1 dims to `shape` with stride 0 (read-only use). */
orr_status orr_tensor_expand(orr_tensor **out, const orr_tensor *t, int ndim, const int64_t *shape);
/* A view with a new shape when the strides allow it (one -1 is inferred);
 * ORR_ERR_SHAPE otherwise: use orr_tensor_reshape for the copying form. */
orr_status orr_tensor_view_as(orr_tensor **out, const orr_tensor *t, int ndim, const int64_t *shape);
/* A view when legal, else a contiguous copy. */
orr_status orr_tensor_reshape(orr_tensor **out, const orr_tensor *t, int ndim, const int64_t *shape);
/* `t` itself (a new view) when contiguous, else a contiguous copy. */
orr_status orr_tensor_contiguous(orr_tensor **out, const orr_tensor *t);

/* Element access by flat index over the logical (row-major) order, with
 * conversion; slow, for tests, tools and scalars. */
double orr_tensor_get(const orr_tensor *t, int64_t flat_index);
void orr_tensor_set(orr_tensor *t, int64_t flat_index, double value);

/* ------------------------------------------------------------------------ */
/* Threads                                                                    */

/* Number of threads the CPU kernels use (default: online cores, or the
 * ORR_NUM_THREADS environment variable). Also sets OpenBLAS's count. */
void orr_set_num_threads(int n);
int orr_get_num_threads(void);

/* Runs fn(user, begin, end) over [0, n) split into contiguous ranges across
 * the pool and waits. Calls made from inside a pool worker run serially. */
typedef void (*orr_range_fn)(void *user, int64_t begin, int64_t end);
void orr_parallel_for(int64_t n, orr_range_fn fn, void *user);

/* ------------------------------------------------------------------------ */
/* Random numbers: Philox 4x32-10, counter based                              */

/* The same (seed, offset) gives the same numbers on every backend and any
 * thread count: element i of a fill uses counter block (offset + i/4), lane
 * i%4. Each fill advances offset by ceil(numel/4) blocks. */
typedef struct orr_rng {
    uint64_t seed;
    uint64_t offset;
} orr_rng;

void orr_rng_init(orr_rng *rng, uint64_t seed);
/* One Philox4x32-10 block: 4 words from a 128-bit counter and a 64-bit key. */
void orr_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* Fill with uniform [0,1) or standard normal values (Box-Muller on lane pairs). */
orr_status orr_rng_uniform(orr_rng *rng, orr_tensor *t);
orr_status orr_rng_normal(orr_rng *rng, orr_tensor *t, float mean, float std);

/* ------------------------------------------------------------------------ */
/* safetensors                                                                */

/* A parsed file. Reading maps the file; tensors taken from it are zero-copy
 * views that keep the mapping alive after orr_st_close. */
typedef struct orr_safetensors orr_safetensors;

orr_status orr_st_open(const char *path, orr_safetensors **out);
/* Parses a buffer in memory (copied). `name` is used in error messages. */
orr_status orr_st_open_memory(const void *data, size_t size, const char *name, orr_safetensors **out);
void orr_st_close(orr_safetensors *st);

int64_t orr_st_count(const orr_safetensors *st);
/* Tensor names in file order (the order of their data offsets). */
const char *orr_st_name(const orr_safetensors *st, int64_t index);
bool orr_st_has(const orr_safetensors *st, const char *name);
/* Dtype and shape without creating a tensor; ORR_ERR_NOT_FOUND if absent. */
orr_status orr_st_info(const orr_safetensors *st, const char *name, orr_dtype *dtype, int *ndim,
                       int64_t shape[ORR_MAX_DIMS]);
/* A zero-copy view of the named tensor. */
orr_status orr_st_get(const orr_safetensors *st, const char *name, orr_tensor **out);
/* __metadata__: string values only, as the format requires. */
int64_t orr_st_metadata_count(const orr_safetensors *st);
const char *orr_st_metadata_key(const orr_safetensors *st, int64_t index);
/* NULL when the key is absent. */
const char *orr_st_metadata(const orr_safetensors *st, const char *key);
const char *orr_st_path(const orr_safetensors *st);

/* Writes n tensors (any strides; written contiguous) and string metadata to
 * `path` through a temporary file renamed at the end, so a failure never
 * leaves a partial file. meta_keys/meta_values may be NULL when n_meta is 0. */
orr_status orr_st_save(const char *path, int64_t n, const char *const *names, const orr_tensor *const *tensors,
                       int64_t n_meta, const char *const *meta_keys, const char *const *meta_values);

/* ------------------------------------------------------------------------ */
/* Ops. Output first, then inputs, then parameters. `out` has the result's    */
/* shape already; inputs may be strided views of any dtype.                   */

/* Element-wise with NumPy broadcasting of a and b to out's shape. */
typedef enum orr_binary_op { ORR_ADD, ORR_SUB, ORR_MUL, ORR_DIV, ORR_MAX, ORR_MIN } orr_binary_op;
orr_status orr_binary(orr_tensor *out, const orr_tensor *a, const orr_tensor *b, orr_binary_op op);

typedef enum orr_unary_op {
    ORR_IDENTITY,
    ORR_NEG,
    ORR_ABS,
    ORR_EXP,
    ORR_LOG,
    ORR_SQRT,
    ORR_RSQRT,
    ORR_TANH,
    ORR_SIGMOID,
    ORR_SILU,
    ORR_GELU_TANH, /* 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))) */
    ORR_GELU_ERF,  /* 0.5x(1+erf(x/sqrt2)) */
    ORR_RELU,
    ORR_SIN,
    ORR_COS
} orr_unary_op;
orr_status orr_unary(orr_tensor *out, const orr_tensor *a, orr_unary_op op);
/* out = a*scale + shift */
orr_status orr_affine(orr_tensor *out, const orr_tensor *a, float scale, float shift);
orr_status orr_fill(orr_tensor *out, double value);
/* Copies with dtype conversion and broadcasting of src to dst's shape. */
orr_status orr_copy(orr_tensor *dst, const orr_tensor *src);

/* Reductions over one dim; out has that dim removed or kept as size 1. */
typedef enum orr_reduce_op { ORR_SUM, ORR_MEAN, ORR_AMAX, ORR_AMIN } orr_reduce_op;
orr_status orr_reduce(orr_tensor *out, const orr_tensor *a, int dim, orr_reduce_op op);
/* Over all elements, accumulated in double. */
orr_status orr_reduce_all(const orr_tensor *a, orr_reduce_op op, double *result);
/* Counts NaN and Inf elements. */
orr_status orr_count_nonfinite(const orr_tensor *a, int64_t *count);

orr_status orr_softmax(orr_tensor *out, const orr_tensor *a, int dim);
orr_status orr_concat(orr_tensor *out, const orr_tensor *const *parts, int n, int dim);

typedef enum orr_pad_mode { ORR_PAD_CONSTANT, ORR_PAD_REPLICATE, ORR_PAD_REFLECT } orr_pad_mode;
/* pads[2*d], pads[2*d+1] = elements before/after along dim d (all ndim dims). */
orr_status orr_pad(orr_tensor *out, const orr_tensor *a, const int64_t *pads, orr_pad_mode mode, float value);
/* Repeats each element `repeats` times along dim (torch.repeat_interleave). */
orr_status orr_repeat_interleave(orr_tensor *out, const orr_tensor *a, int dim, int64_t repeats);

/* y[..., N] = x[..., K] · w[N, K]^T + b[N] (nn.Linear). w may be f32, bf16 or
 * f16 (widened on the fly); b may be NULL. */
orr_status orr_linear(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b);
/* c[..., M, N] = a[..., M, K] · b[..., K, N], batch dims broadcast. */
orr_status orr_matmul(orr_tensor *c, const orr_tensor *a, const orr_tensor *b);

typedef struct orr_conv_params {
    int stride[3];      /* t, h, w (conv2d uses h, w) */
    int padding[3];     /* zero padding on both sides */
    int dilation[3];
    int causal_pad;     /* frames of frame 0 prepended in time (CausalConv3d) */
    int groups;
} orr_conv_params;
void orr_conv_params_init(orr_conv_params *p); /* stride 1, pad 0, dilation 1, groups 1 */
/* x [B,Cin,T,H,W], w [Cout,Cin/groups,kt,kh,kw], b [Cout] or NULL. */
orr_status orr_conv3d(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b,
                      const orr_conv_params *p);
/* x [B,Cin,H,W], w [Cout,Cin/groups,kh,kw]. */
orr_status orr_conv2d(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b,
                      const orr_conv_params *p);
/* x [B,C,T,H,W]; no padding (avg_pool3d with the given kernel and stride). */
orr_status orr_avg_pool3d(orr_tensor *y, const orr_tensor *x, const int kernel[3], const int stride[3]);

/* x [B,C,...]: groups over channels and all trailing dims. w,b [C] or NULL. */
orr_status orr_group_norm(orr_tensor *y, const orr_tensor *x, int groups, const orr_tensor *w,
                          const orr_tensor *b, float eps);
/* Over the last dim; w,b [D] or NULL. */
orr_status orr_layer_norm(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b, float eps);
/* x / sqrt(mean(x^2) + eps) * w over the last dim; w [D] or NULL. */
orr_status orr_rms_norm(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, float eps);

/* Rotary embedding over the last dim D: out = x*cos + rot(x)*sin, cos/sin
 * broadcast to x. rot is rotate_half ([-x2, x1] on the halves) or, when
 * `interleaved`, the pairwise form ([-x1, x0] on (even, odd) pairs). */
orr_status orr_rope(orr_tensor *out, const orr_tensor *x, const orr_tensor *cos, const orr_tensor *sin,
                    bool interleaved);

/* Scaled dot-product attention, never materialising the whole score matrix.
 * q [B,H,Sq,D], k [B,Hk,Sk,D], v [B,Hk,Sk,Dv], H a multiple of Hk (grouped
 * heads); out [B,H,Sq,Dv]. mask (optional, bool/u8/numeric, broadcast to
 * [B,H,Sq,Sk]): zero = not attended. causal: key j > query i + (Sk-Sq) is
 * not attended. A row with nothing attended gives zeros. */
orr_status orr_attention(orr_tensor *out, const orr_tensor *q, const orr_tensor *k, const orr_tensor *v,
                         const orr_tensor *mask, float scale, bool causal);

/* Haar wavelet patching as the Cosmos tokenizers do it (patch size p = 1,2,4,
 * ...): video x [B,C,T,H,W] -> [B,C*p^3,(T+p-1)/p,H/p,W/p] with frame 0
 * replicated p-1 times first; the inverse drops those frames again. The 2-D
 * form takes [B,C,H,W] -> [B,C*p^2,H/p,W/p]. */
orr_status orr_haar3d_patch(orr_tensor *out, const orr_tensor *x, int p);
orr_status orr_haar3d_unpatch(orr_tensor *out, const orr_tensor *x, int p);
orr_status orr_haar2d_patch(orr_tensor *out, const orr_tensor *x, int p);
orr_status orr_haar2d_unpatch(orr_tensor *out, const orr_tensor *x, int p);

/* Resizes the trailing spatial dims of x [N,C,H,W] (or [N,C,T,H,W] for
 * trilinear/nearest) to out's, as torch.nn.functional.interpolate. */
typedef enum orr_resize_mode {
    ORR_RESIZE_NEAREST,
    ORR_RESIZE_BILINEAR,
    ORR_RESIZE_BICUBIC,
    ORR_RESIZE_TRILINEAR
} orr_resize_mode;
orr_status orr_resize(orr_tensor *out, const orr_tensor *x, orr_resize_mode mode, bool align_corners);

/* ------------------------------------------------------------------------ */
/* Cosmos tokenizers (core/models/tokenizer*.c)                               */

/* end of tokenizers */

/* ------------------------------------------------------------------------ */
/* Diffusion world model: DiT, EDM, samplers (core/models/dit*.c, sample/)    */

/* end of diffusion */

/* ------------------------------------------------------------------------ */
/* Verification against golden fixtures (orrery verify)                       */

/* A named list of tensors a network run produces. */
typedef struct orr_tensor_list orr_tensor_list;
orr_status orr_tensor_list_create(orr_tensor_list **out);
void orr_tensor_list_free(orr_tensor_list *list);
/* Takes ownership of t (freed with the list, also on failure). */
orr_status orr_tensor_list_add(orr_tensor_list *list, const char *name, orr_tensor *t);
int64_t orr_tensor_list_count(const orr_tensor_list *list);
const char *orr_tensor_list_name(const orr_tensor_list *list, int64_t index);
orr_tensor *orr_tensor_list_get(const orr_tensor_list *list, int64_t index);
orr_tensor *orr_tensor_list_find(const orr_tensor_list *list, const char *name);

/* What a registered network is handed: the three fixture files (inputs
 * and weights open; `outputs` lets a runner read the names it must make). */
typedef struct orr_fixture {
    const char *dir;
    const orr_safetensors *weights;
    const orr_safetensors *inputs;
    const orr_safetensors *outputs;
    const orr_safetensors *intermediates; /* NULL when the fixture has none */
} orr_fixture;

/* Runs the network of a fixture and adds what it computed to `results`
 * (outputs and any intermediates, by the fixture's names). */
typedef orr_status (*orr_verify_fn)(const orr_fixture *fixture, orr_tensor_list *results);

/* Registers a runner for the official class named in a fixture's `network`
 * metadata (e.g. "CausalContinuousVideoTokenizer"). */
orr_status orr_verify_register(const char *network, orr_verify_fn fn);
int orr_verify_network_count(void);
const char *orr_verify_network_name(int index);

typedef struct orr_verify_params {
    double tolerance;      /* max abs error / max |expected|; default 1e-4 */
    bool intermediates;    /* also compare intermediates; default true */
    bool verbose;          /* print every tensor, not only failures; default true */
} orr_verify_params;
void orr_verify_params_init(orr_verify_params *p);

/* Runs one fixture directory, prints a table of errors and a PASS/FAIL line
 * to `report` (a FILE*, may be NULL), and returns ORR_ERR_MISMATCH when any
 * tensor is out of tolerance. */
orr_status orr_verify_dir(const char *dir, const orr_verify_params *params, void *report);

#ifdef __cplusplus
}
#endif
#endif /* ORRERY_H */
