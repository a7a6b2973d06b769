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
    ORR_CUDA = 1, /* see "CUDA backend" below */
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
/* CUDA backend (core/cuda/, kernels/cuda/)                                   */

/* Tensors live on a device: ORR_CPU, or ORR_CUDA (device 0 of those
 * CUDA_VISIBLE_DEVICES shows) in builds with the toolkit. Views work on
 * either; ops run where their operands are (all on one device, else
 * ORR_ERR_ARGUMENT naming the odd one); host-only functions given a cuda
 * tensor fail with "<op>: <arg> is on cuda; ...". Device work is queued
 * in order on one stream: results are there for the next op, and
 * orr_tensor_to / orr_copy to the cpu wait for them. Device memory is
 * accounted under ORR_CUDA (orr_mem_get_stats; bytes handed to tensors),
 * with the soft limit and pressure hook as on the cpu. */

/* True when this orrery was built with CUDA and a device is present and
 * usable. Never fails: no driver or no device reads as false. */
bool orr_cuda_available(void);

typedef struct orr_cuda_info {
    char name[256];       /* "NVIDIA H100 80GB HBM3" */
    int major, minor;     /* compute capability */
    int multiprocessors;
    int64_t total_memory; /* bytes on the device */
    int64_t free_memory;  /* bytes the driver has free now */
    int64_t cached_bytes; /* freed blocks the allocator keeps for reuse */
} orr_cuda_info;
/* ORR_ERR_UNSUPPORTED, saying why, when no device can be used. */
orr_status orr_cuda_get_info(orr_cuda_info *out);
/* Waits for all queued device work; reports an error it raised. */
orr_status orr_cuda_synchronize(void);
/* Hands the allocator's cached blocks back to the driver. */
void orr_cuda_empty_cache(void);

/* orr_tensor_empty / orr_tensor_zeros on a given device. */
orr_status orr_tensor_empty_on(orr_device device, orr_tensor **out, orr_dtype dtype, int ndim,
                               const int64_t *shape);
orr_status orr_tensor_zeros_on(orr_device device, orr_tensor **out, orr_dtype dtype, int ndim,
                               const int64_t *shape);
/* t on `device`: a new view of t when it is there already, else a
 * contiguous copy there with t's dtype (strided sources included). */
orr_status orr_tensor_to(orr_tensor **out, const orr_tensor *t, orr_device device);

/* ---- The diffusion transformer on a device (core/models/dit_device.c) ---- */

/* A DiT (see "Diffusion world model" below) runs where its weights are:
 * orr_dit_forward takes inputs and output on that device, and
 * orr_dit_sample / orr_world_generate run its network there (the
 * sampler's state and its updates there too: see "Samplers and Transfer1
 * on a device" below; the initial noise is drawn on the DiT's device, the same
 * Philox numbers as on the cpu). On cuda the residual stream, norms and
 * AdaLN terms are f32; the GEMMs and the attention run in the weights'
 * dtype (bf16 products with f32 accumulation, or f32).
 *
 * Memory modes on cuda:
 *  - ORR_DIT_RESIDENT: every weight on the device (the 7B in bf16: 14.5 GB).
 *  - ORR_DIT_STREAMED: the blocks' matrices stay in pinned host memory and
 *    are copied to the device one block ahead of use into two block
 *    buffers, on a copy stream overlapping the previous block's compute;
 *    the device holds the rest (embedders, final layer, norms) and the
 *    two buffers. The 7B in bf16 then needs about 1.2 GB of device memory
 *    for weights, so that a 121x704x1280 run fits within 24 GB (see
 *    orr_dit_memory_estimate; its 14.3 GB of block weights are pinned). */
typedef enum orr_dit_memory_mode { ORR_DIT_RESIDENT = 0, ORR_DIT_STREAMED = 1 } orr_dit_memory_mode;
struct orr_dit; /* orr_dit, declared with the diffusion world model below */

/* Moves dit's weights to `device` with its matrices (the GEMM weights) in
 * `dtype`: f32 or bf16 on cuda (bf16 is the released models' inference
 * dtype), f32, bf16 or f16 on the cpu; norm weights, biases and position
 * tables stay f32. ORR_DIT_STREAMED only on cuda. Works from any placement
 * (back to the cpu too); the caches of earlier forwards are dropped. On
 * failure dit is left as it was. */
orr_status orr_dit_to_device(struct orr_dit *dit, orr_device device, orr_dtype dtype, orr_dit_memory_mode mode);
/* Where dit's weights are (ORR_CPU for NULL). */
orr_device orr_dit_device(const struct orr_dit *dit);

/* What a forward of dit needs in memory, in bytes, were its weights placed
 * as orr_dit_to_device(dit, device, dtype, mode) places them, for a network
 * input x of x_shape [B, C, T, H, W] (B = 2 for a sampler with guidance:
 * the conditioned and unconditioned passes run as one batch) and text of
 * text_len tokens. */
typedef struct orr_dit_memory {
    int64_t weights;        /* on `device`: all weights, or when streamed those outside the blocks and
                             * the two block buffers */
    int64_t pinned_weights; /* host memory of the streamed blocks (0 when resident) */
    int64_t activations;    /* the forward's activation buffers (sized per input shape) */
    int64_t caches;         /* position tables, cross-attention keys and values (kept between calls) */
    int64_t workspace;      /* library workspace (cuBLASLt) and staging */
    int64_t total;          /* on `device`: weights + activations + caches + workspace */
} orr_dit_memory;
orr_status orr_dit_memory_estimate(const struct orr_dit *dit, orr_device device, orr_dtype dtype,
                                   orr_dit_memory_mode mode, const int64_t x_shape[5], int64_t text_len,
                                   orr_dit_memory *out);

/* ---- Samplers and Transfer1 on a device (core/sample/, core/models/transfer*.c) ---- */

/* A sampling run (orr_dit_sample, orr_world_generate, orr_transfer_sample,
 * orr_transfer_generate) keeps its state where its network is. On cuda the
 * state, the estimates and every update (the denoisers' input and output
 * maps, guidance, the Euler, Heun, DPM-Solver++(2M) and RES "2ab" steps,
 * the bf16 rounding) run as kernels there (kernels/cuda/sampler_step.cu)
 * with the cpu's float operations in the cpu's order and no fused
 * multiply-add, so that a step given the same network output gives the
 * cpu's numbers bit for bit; RES keeps its float64 state on the device
 * (float64 arithmetic there too). The host reads back one NaN count per
 * denoiser call; a preview callback receives host copies of x and x0.
 * `out`, the text and the conditions may lie on either device: they are
 * copied to the network's device once per run.
 *
 * A MultiControlNet runs where its networks are. orr_transfer_to_device
 * places the base and every branch: their DiTs as orr_dit_to_device does
 * (either memory mode), the branches' hint paths and zero projections
 * with their matrices in `dtype` and biases f32 (always resident). Then
 * orr_transfer_forward takes its inputs on that device; a branch runs the
 * DiT's device blocks, and its residuals (times the control weight,
 * scalars or token maps) are summed and added to the base's blocks on the
 * device in f32. Each network keeps activation buffers of its own (per
 * network the activations of orr_dit_memory_estimate), and a forward
 * holds the residual sums (control blocks x B*N*D floats) besides.
 * orr_transfer_generate runs the tokenizer where it is and moves the
 * latents between it and the network. On failure tr is placed as before
 * (the parts already moved keep a narrower dtype's rounding). */
struct orr_transfer; /* orr_transfer, declared with Cosmos-Transfer1 below */
orr_status orr_transfer_to_device(struct orr_transfer *tr, orr_device device, orr_dtype dtype,
                                  orr_dit_memory_mode mode);
/* Where tr's networks are (ORR_CPU for NULL). */
orr_device orr_transfer_device(const struct orr_transfer *tr);

/* ---- The tokenizers on a device (core/models/tokenizer_device.c) ---- */

/* A tokenizer (see "Cosmos tokenizers" below) runs where its weights are:
 * encode, decode, decode_indices, autoencode and decode_tiled compute
 * there, their inputs may lie on either device (copied over once) and
 * their outputs too (the results copied back). On cuda the convolutions
 * run through cuDNN in the weights' dtype (bf16 inputs with f32
 * accumulation, or f32; the causal frames prepended and the input
 * converted in one copy), the activations between them, the per-frame
 * and group norms, SiLU, the attention (f32), Haar patching, upsampling
 * and FSQ stay f32 on the device; the host reads back one NaN count per
 * stage. decode_tiled blends its tiles on the device and plans with the
 * device's temporaries (cuDNN workspace, the causal-pad copies) within
 * memory_budget of device memory. orr_world_generate and
 * orr_transfer_generate encode and decode where the tokenizer is: with
 * the tokenizer and the network on cuda the latents and frames stay
 * there (the video comes back once, as uint8 where it is uint8).
 *
 * orr_tokenizer_to_device moves the weights: on cuda the conv weights and
 * biases in `dtype` (f32 or bf16), norm gains and biases f32; on the cpu
 * f32 only (the temporal convs' weights transposed again for their
 * kernel). Works from any placement; back on the cpu an f32 placement
 * gives the cpu's numbers exactly. On failure tok is left as it was. */
struct orr_tokenizer; /* orr_tokenizer, declared with the tokenizers below */
orr_status orr_tokenizer_to_device(struct orr_tokenizer *tok, orr_device device, orr_dtype dtype);
/* Where tok's weights are (ORR_CPU for NULL). */
orr_device orr_tokenizer_device(const struct orr_tokenizer *tok);

/* ------------------------------------------------------------------------ */
/* Threads                                                                    */

/* Number of threads the CPU kernels use (default: online cores, or the
 * ORR_NUM_THREADS environment variable). OpenBLAS itself stays at one
 * thread: the kernels split work across the pool and call it per block. */
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
 * form takes [B,C,H,W] -> [B,C*p^2,H/p,W/p]. Sizes that are not multiples
 * of p are reflect-padded at each level, which halves rounding up. */
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

/* The Cosmos-Tokenize1 autoencoders, number for number with the official
 * networks: continuous video (CV: CausalContinuousVideoTokenizer), discrete
 * video (DV: FSQ codes and indices), continuous and discrete image (CI, DI).
 * Pixels are in [-1,1]: video [B,3,T,H,W], image [B,3,H,W]. */
typedef struct orr_tokenizer orr_tokenizer;

typedef enum orr_tokenizer_kind {
    ORR_TOKENIZER_CV,
    ORR_TOKENIZER_DV,
    ORR_TOKENIZER_CI,
    ORR_TOKENIZER_DI
} orr_tokenizer_kind;

/* Loads the official weights (keys encoder.*, decoder.*, quant_conv.*,
 * post_quant_conv.*; bf16/f16 are widened to f32 once) from one file holding
 * both halves (decoder_path NULL) or from separate encoder and decoder files:
 * safetensors, or the released TorchScript encoder.jit / decoder.jit.
 * A file with only one half gives a tokenizer that can only do that half.
 * config_json holds the official constructor arguments (the `config` of the
 * golden fixtures, e.g. {"name": "CV", "channels": 128, ...}); NULL takes the
 * `config` metadata of the files. Every tensor is checked against the config
 * and the first missing or mis-shaped one is named. */
orr_status orr_tokenizer_load(orr_tokenizer **out, const char *config_json, const char *path,
                              const char *decoder_path);
/* Both halves with random weights (PyTorch's default initialisation drawn
 * from Philox `seed`), for benchmarks and demos. */
orr_status orr_tokenizer_create_random(orr_tokenizer **out, const char *config_json, uint64_t seed);
void orr_tokenizer_free(orr_tokenizer *tok);

typedef struct orr_tokenizer_info {
    orr_tokenizer_kind kind;
    int pixel_channels;       /* 3 */
    int latent_channels;      /* CV/CI latent channels; DV/DI code dimension (6) */
    int spatial_compression;  /* 8 or 16 */
    int temporal_compression; /* 4 or 8; 1 for images */
    int64_t codebook_size;    /* DV/DI: product of the FSQ levels (64000); else 0 */
    bool has_encoder, has_decoder;
    int64_t n_params;         /* parameters loaded */
} orr_tokenizer_info;
void orr_tokenizer_get_info(const orr_tokenizer *tok, orr_tokenizer_info *out);

/* The shape the encoder makes from a pixel shape, or the decoder from a
 * latent shape (ndim 5 for video, 4 for image; the latent of DV/DI counts
 * the code channels). Pixel sizes must be valid for the network as is:
 * T = 1 + k*temporal_compression, H and W multiples of spatial_compression. */
orr_status orr_tokenizer_latent_shape(const orr_tokenizer *tok, int ndim, const int64_t *pixel_shape,
                                      int64_t *latent_shape);
orr_status orr_tokenizer_pixel_shape(const orr_tokenizer *tok, int ndim, const int64_t *latent_shape,
                                     int64_t *pixel_shape);

/* The networks as the official encode / decode, on valid sizes only.
 * encode: CV/CI write the latent [B,C,t,h,w] / [B,C,h,w] into `latent`;
 * DV/DI write the FSQ codes (values in [-1,1]) into `latent` and the
 * codebook indices [B,t,h,w] / [B,h,w] (any dtype that holds them) into
 * `indices`; either may be NULL. decode: latent (CV/CI) or codes (DV/DI)
 * to pixels; decode_indices: DV/DI indices (an integer dtype, each in
 * [0, codebook_size)) to pixels. NaN/Inf inputs are refused, and a NaN/Inf
 * appearing inside names the stage where it appeared. */
orr_status orr_tokenizer_encode(orr_tokenizer *tok, orr_tensor *latent, orr_tensor *indices,
                                const orr_tensor *pixels);
orr_status orr_tokenizer_decode(orr_tokenizer *tok, orr_tensor *pixels, const orr_tensor *latent);
orr_status orr_tokenizer_decode_indices(orr_tokenizer *tok, orr_tensor *pixels, const orr_tensor *indices);

/* Inputs of any size, long videos and memory (tokenizer_pipeline.c, tokenizer_tiles.c). */
typedef struct orr_tokenizer_params {
    int temporal_window; /* frames per independent window (official CLI: 17); 0 = all at once */
    int spatial_align;   /* pad H, W centred with black (-1) to a multiple of this, crop back
                            after (official: 16; raised to a multiple of the compression) */
    int temporal_align;  /* repeat the edge frames (centred) until T-1 is a multiple of this
                            (official: 8; raised to a multiple of the compression) */
    int tile;            /* decoder tiles: latent pixels per side (0 = chosen from memory_budget) */
    int tile_overlap;    /* latent pixels shared by neighbouring tiles, blended linearly */
    int64_t memory_budget; /* bytes the tiled decoder's activations may take (0 = no tiling) */
    void *plan_report;   /* FILE* to print the memory plan to, or NULL */
} orr_tokenizer_params;
/* The official defaults: windows of 17 frames, aligns 16 and 8, no tiling,
 * overlap 4 when tiling. */
void orr_tokenizer_params_init(orr_tokenizer_params *p);

/* The official CausalVideoTokenizer.forward (images: the image tokenizer's)
 * on pixels of any size: windows of temporal_window frames, each padded,
 * encoded, decoded and cropped back. out has the pixels' shape; its values
 * are the decoder's floats, before the official conversion to uint8. */
orr_status orr_tokenizer_autoencode(orr_tokenizer *tok, orr_tensor *out, const orr_tensor *pixels,
                                    const orr_tokenizer_params *p);

/* Decoding in spatial tiles of the latent, overlapping by tile_overlap and
 * blended with linear ramps, so that a large video decodes within
 * memory_budget (or with the given tile size). The tiles see no context
 * beyond their edges, so the result differs from orr_tokenizer_decode
 * near the seams; one tile covering everything is exact. */
typedef struct orr_tokenizer_plan {
    int64_t tile_h, tile_w;       /* latent pixels per tile */
    int64_t tiles_y, tiles_x;
    int64_t overlap;
    int64_t peak_tile_bytes;      /* estimated activation peak of one tile */
    int64_t output_bytes;         /* the f32 output plus the blend weights */
    int64_t weight_bytes;
} orr_tokenizer_plan;
orr_status orr_tokenizer_plan_decode(const orr_tokenizer *tok, int ndim, const int64_t *latent_shape,
                                     const orr_tokenizer_params *p, orr_tokenizer_plan *plan);
orr_status orr_tokenizer_decode_tiled(orr_tokenizer *tok, orr_tensor *pixels, const orr_tensor *latent,
                                      const orr_tokenizer_params *p);

/* The diffusion models' latent normalisation (diffusion/module/
 * pretrained_vae.py and DiffusionT2WModel.encode): out = (latent - mean) /
 * std * sigma_data, mean and std per channel and latent frame. mean and std
 * hold C*N values (the official mean_std.pt viewed as [C, N]); frame t of
 * the latent [B,C,T,H,W] uses column t, so T <= N. denormalize is the
 * inverse used before decoding: out = latent / sigma_data * std + mean. */
orr_status orr_tokenizer_normalize_latent(orr_tensor *out, const orr_tensor *latent, const orr_tensor *mean,
                                          const orr_tensor *std, float sigma_data);
orr_status orr_tokenizer_denormalize_latent(orr_tensor *out, const orr_tensor *latent, const orr_tensor *mean,
                                            const orr_tensor *std, float sigma_data);

/* end of tokenizers */

/* ------------------------------------------------------------------------ */
/* Diffusion world model: DiT, EDM, samplers (core/models/dit*.c, sample/)    */

/* A Cosmos-Predict1 diffusion transformer: GeneralDIT (Text2World) or
 * VideoExtendGeneralDIT (Video2World, whose input has one more channel: the
 * condition mask). The weights stay zero-copy views of the file they came
 * from; bf16/f16 weights are widened on the fly and everything is computed
 * in float32. One forward at a time per handle (it owns its activations). */
typedef struct orr_dit orr_dit;

/* `network` is the official class name, "GeneralDIT" or
 * "VideoExtendGeneralDIT"; `config_json` holds its constructor arguments as a
 * JSON object (the official net config; absent keys take the class's
 * defaults, unknown keys are ignored). Weight keys are found with or without
 * the "net." prefix of released checkpoints; "_extra_state" entries and the
 * non-network keys of a checkpoint are never read. */
orr_status orr_dit_load(orr_dit **out, const char *network, const char *config_json,
                        const orr_safetensors *weights);
/* The same from an official checkpoint of any format orr_ckpt_open reads
 * (model.pt as released, diffusers safetensors after orrery convert). */
struct orr_checkpoint; /* declared with the checkpoint readers below */
orr_status orr_dit_load_checkpoint(orr_dit **out, const char *network, const char *config_json,
                                   const struct orr_checkpoint *weights);
/* The same network with random weights (normal, std 0.02, drawn from Philox
 * `seed`; RMSNorm weights 1), for benchmarks and demos. */
orr_status orr_dit_create_random(orr_dit **out, const char *network, const char *config_json, uint64_t seed);
void orr_dit_free(orr_dit *dit);

typedef struct orr_dit_info {
    bool video_conditioned;     /* VideoExtendGeneralDIT */
    int latent_channels;        /* channels of x (in_channels less the condition mask) */
    int out_channels;
    int model_channels, num_blocks, num_heads, head_dim;
    int patch_spatial, patch_temporal;
    int crossattn_channels;     /* width of the text embedding */
    int max_t, max_h, max_w;    /* the largest latent the position tables cover */
    int64_t parameters;         /* elements of all weights the network reads */
} orr_dit_info;
orr_status orr_dit_get_info(const orr_dit *dit, orr_dit_info *out);

/* One forward's inputs, as the official forward takes them. */
typedef struct orr_dit_inputs {
    const orr_tensor *x;              /* [B, latent_channels, T, H, W]: the scaled input c_in*x */
    const orr_tensor *timesteps;      /* [B]: c_noise = ln(sigma)/4 */
    const orr_tensor *crossattn_emb;  /* [B, L, crossattn_channels]; not masked (zero slots attend) */
    const orr_tensor *fps;            /* [B] (fps[0] scales the temporal RoPE); NULL for images (T = 1) */
    const orr_tensor *padding_mask;   /* [B, 1, Hpx, Wpx], resized (nearest) to H, W; NULL = zeros */
    const orr_tensor *condition_mask; /* Video2World only: [B, 1, T, H, W], 1 on conditioning frames */
} orr_dit_inputs;

/* out [B, out_channels, T, H, W]. `trace` (may be NULL) receives a copy of
 * every stage under its official module name: "x_embedder",
 * "extra_pos_embedder", "pos_embedder" (the RoPE angles), "t_embedder.0",
 * "t_embedder.1", "affline_norm", "blocks.block<i>" (in the config's
 * block_x_format) and "final_layer". A NaN or Inf gives ORR_ERR_NONFINITE
 * with the sub-block where it first appeared. */
struct orr_tensor_list; /* declared with `orrery verify` below */
orr_status orr_dit_forward(orr_dit *dit, orr_tensor *out, const orr_dit_inputs *in, struct orr_tensor_list *trace);

/* What the sampler conditions on. Text embeddings come precomputed (T5
 * encoder output, B x L x 1024 for the released models) with the slots past
 * each prompt's length zeroed, as the official code does. */
typedef struct orr_diffusion_cond {
    const orr_tensor *text;             /* [B, L, crossattn_channels] */
    const orr_tensor *neg_text;         /* the negative prompt, same shape; NULL = zeros */
    const int *text_lengths;            /* B prompt lengths: slots from there on are zeroed; NULL = as given */
    const int *neg_text_lengths;        /* the same for neg_text */
    float fps;                          /* 24 */
    const orr_tensor *padding_mask;     /* [B, 1, Hpx, Wpx] or NULL (zeros, as at inference) */
    /* Video2World */
    const orr_tensor *condition_latent; /* [B, C, T, H, W]: the encoded input frames from t = 0 */
    int condition_frames;               /* latent frames conditioned on (1 for 1 input frame, 2 for 9); 1 */
    float augment_sigma;                /* noise added to the condition; 0.001 */
    const orr_tensor *augment_noise;    /* [B, C, T, H, W] unit noise for it, or NULL = from the seed */
    bool input_frames_guidance;         /* false: the uncondition sees the frames too (official default) */
} orr_diffusion_cond;
void orr_diffusion_cond_init(orr_diffusion_cond *c);

typedef enum orr_sampler_kind {
    ORR_SAMPLER_EULER,    /* the official loop: diffusers' EDMEulerScheduler */
    ORR_SAMPLER_HEUN,     /* EDM's 2nd-order Heun (Karras et al. algorithm 1) */
    ORR_SAMPLER_RES_2AB,  /* RES multistep "2ab" of the official training code, float64 state */
    ORR_SAMPLER_DPMPP_2M  /* DPM-Solver++(2M) */
} orr_sampler_kind;

typedef struct orr_sampler_progress {
    int step, steps;          /* the step just finished (0-based) and their number */
    double sigma, sigma_next;
    double seconds_per_step;  /* mean over the steps so far */
    double eta_seconds;
} orr_sampler_progress;

typedef void (*orr_progress_fn)(void *user, const orr_sampler_progress *progress);
/* After `step`: x [B, C, T, H, W], the sampler's state (now at the step's
 * sigma_next), and x0, the denoised estimate the step made; both are valid
 * during the call only. */
typedef void (*orr_preview_fn)(void *user, int step, const orr_tensor *x, const orr_tensor *x0);
/* Polled between steps; true stops the run with ORR_ERR_CANCELLED. */
typedef bool (*orr_cancel_fn)(void *user);
/* Sigma i (0 <= i <= steps) of a schedule of `steps` steps. */
typedef double (*orr_schedule_fn)(void *user, int i, int steps);
/* The guidance scale of step i at `sigma`. */
typedef double (*orr_guidance_fn)(void *user, int i, double sigma);

typedef struct orr_sampler_params {
    orr_sampler_kind kind;
    int steps;                      /* 35 */
    /* The schedule: Karras (rho) from sigma_max to sigma_min, then a final 0
     * (RES: steps+1 Karras sigmas ending at sigma_min, as the official RES
     * sampler). Or `sigmas` (steps+1 values), or `schedule`. The schedule must
     * decrease strictly; when its last sigma is not 0 the sample is the
     * denoised estimate at that sigma (one more network call, as RES does). */
    double sigma_max, sigma_min, rho; /* 80, 0.0002 (RES: 0.002), 7 */
    const double *sigmas;           /* NULL */
    orr_schedule_fn schedule;       /* NULL */
    void *schedule_user;
    double sigma_data;              /* 0.5 */
    /* Classifier-free guidance on the network output: F_c + g (F_c - F_u). */
    double guidance;                /* 7 */
    orr_guidance_fn guidance_fn;    /* per-step override; NULL */
    void *guidance_user;
    /* The start: x = init_latent + sigma_0 * noise when init_latent is set
     * (video-to-video: lower sigma_max for less change), else noise times
     * sqrt(sigma_0^2 + 1) (Euler, as diffusers' init_noise_sigma) or sigma_0. */
    uint64_t seed;                  /* Philox seed of the noise; 0 */
    const orr_tensor *init_noise;   /* [B, C, T, H, W] unit noise to use instead; NULL */
    const orr_tensor *init_latent;  /* NULL */
    /* Round the state, the network input and output and c_noise to bf16
     * as the official bf16 inference does; false = float32 throughout. */
    bool bf16;
    orr_progress_fn progress;
    void *progress_user;
    orr_preview_fn preview;
    int preview_every;              /* steps between previews; 1 */
    void *preview_user;
    orr_cancel_fn cancel;
    void *cancel_user;
} orr_sampler_params;

/* The defaults of the official code for that sampler (the list above). */
void orr_sampler_params_init(orr_sampler_params *p, orr_sampler_kind kind);
/* The schedule p describes: steps+1 sigmas into `sigmas`, checked. */
orr_status orr_sampler_sigmas(const orr_sampler_params *p, double *sigmas, int capacity);

/* Samples a latent: out [B, C, T, H, W] (B, T, H, W from out's shape). */
orr_status orr_dit_sample(orr_dit *dit, orr_tensor *out, const orr_diffusion_cond *cond,
                          const orr_sampler_params *p);

/* Text2World and Video2World as the official world_generation_pipeline.py
 * runs them, from precomputed text embeddings: latent noise -> sampler ->
 * tokenizer decode; Video2World first encodes the last `input_frames`
 * frames of the input, placed at t = 0 and padded with zeros (mid-grey) to
 * the video's length, into the condition latent. */
typedef struct orr_world_params {
    int frames;                     /* 121 */
    int height, width;              /* 704, 1280 */
    int input_frames;               /* Video2World: 1 + k * temporal compression (1 or 9); 1 */
    /* The tokenizer's latent statistics (mean_std.pt: C*N values each, see
     * orr_tokenizer_normalize_latent); NULL = mean 0, std 1. */
    const orr_tensor *latent_mean, *latent_std;
    /* fps (24), augment_sigma, augment_noise, input_frames_guidance; the
     * pipeline sets the text and condition fields from its arguments */
    orr_diffusion_cond cond;
    orr_sampler_params sampler;     /* the official Euler loop; seed 1 */
} orr_world_params;
void orr_world_params_init(orr_world_params *p);

typedef struct orr_world_timings {
    double encode_seconds;  /* input frames to the condition latent (Video2World) */
    double sample_seconds;
    double decode_seconds;
} orr_world_timings;

/* video [B, 3, frames, height, width]: a u8 tensor receives the official
 * uint8(255 * clamp(1 + x, 0, 2) / 2) (truncating), a float tensor the
 * decoder's values. text, neg_text (may be NULL) [B, L, crossattn_channels].
 * input: Video2World frames [B, 3, Tin, height, width] in [-1, 1] (the
 * official reading is x/128 - 1), NULL for Text2World. timings may be NULL. */
orr_status orr_world_generate(orr_dit *dit, orr_tokenizer *tok, orr_tensor *video, const orr_tensor *text,
                              const orr_tensor *neg_text, const orr_tensor *input, const orr_world_params *p,
                              orr_world_timings *timings);

/* end of diffusion */

/* ------------------------------------------------------------------------ */
/* Cosmos-Transfer1: control branches, MultiControlNet, preprocessors, specs  */

/* The modalities of the released control branches, by the keys of the
 * official control spec. */
typedef enum orr_control_kind {
    ORR_CONTROL_VIS,      /* "vis": the blurred video */
    ORR_CONTROL_EDGE,     /* "edge": Canny edges */
    ORR_CONTROL_DEPTH,    /* "depth" */
    ORR_CONTROL_SEG,      /* "seg": segmentation colours */
    ORR_CONTROL_KEYPOINT, /* "keypoint": human pose skeletons */
    ORR_CONTROL_UPSCALE,  /* "upscale": the 4K upscaler */
    ORR_CONTROL_HDMAP,    /* "hdmap": rendered HD maps (Sample-AV) */
    ORR_CONTROL_LIDAR,    /* "lidar": rendered LiDAR (Sample-AV) */
    ORR_CONTROL_KIND_COUNT
} orr_control_kind;

/* "vis", "edge", ...; NULL for an invalid value. */
const char *orr_control_kind_name(orr_control_kind kind);
/* ORR_ERR_NOT_FOUND (naming the valid keys) for an unknown name. */
orr_status orr_control_kind_from_name(const char *name, orr_control_kind *out);

enum { ORR_TRANSFER_MAX_CONTROLS = 8 };

/* A MultiControlNet (core/models/transfer*.c): the base Video2World DiT
 * (VideoExtendGeneralDIT) and up to ORR_TRANSFER_MAX_CONTROLS control
 * branches (GeneralDITEncoder), number for number with the official
 * networks. A branch is a copy of the base's first blocks with its own
 * patch, timestep and position embeddings; the control video's latent goes
 * through its hint embedding and MLP and is added after its block 0; each
 * of its blocks feeds a zero-initialised projection whose output, times the
 * control weight, is added to the output of the base block of the same
 * index. Branches run in the order added (the spec's key order). Weights
 * stay zero-copy views of their files, which must outlive the network. One
 * forward at a time per handle. */
typedef struct orr_transfer orr_transfer;

/* base_config_json: the base's constructor arguments (as orr_dit_load
 * takes them for VideoExtendGeneralDIT); its keys are found bare, under
 * "net." (a released base_model.pt) or under "base_model.net." (the
 * pipeline's state dict). */
orr_status orr_transfer_create(orr_transfer **out, const char *base_config_json, const orr_safetensors *base_weights);
/* Random weights (as orr_dit_create_random), for benchmarks and demos. */
orr_status orr_transfer_create_random(orr_transfer **out, const char *base_config_json, uint64_t seed);
void orr_transfer_free(orr_transfer *tr);
/* The base network alone (orr_dit_forward, orr_dit_sample without control);
 * owned by tr. */
orr_dit *orr_transfer_base(orr_transfer *tr);

/* Adds a control branch. config_json: the GeneralDITEncoder arguments (the
 * base's plus hint_channels, and layer_mask or num_control_blocks, which
 * give the number of blocks copied). prefix: where the branch's keys lie in
 * the file: "net." in a released <kind>_control.pt, "net.hint_encoders.<i>."
 * in a multi-control state dict; NULL tries "net." and then none. */
orr_status orr_transfer_add_control(orr_transfer *tr, orr_control_kind kind, const char *config_json,
                                    const orr_safetensors *weights, const char *prefix);
orr_status orr_transfer_add_control_random(orr_transfer *tr, orr_control_kind kind, const char *config_json,
                                           uint64_t seed);

typedef struct orr_transfer_info {
    orr_dit_info base;
    int controls;                                      /* branches added */
    orr_control_kind kind[ORR_TRANSFER_MAX_CONTROLS];
    int control_blocks[ORR_TRANSFER_MAX_CONTROLS];     /* base blocks each branch feeds (the first n) */
    int hint_channels[ORR_TRANSFER_MAX_CONTROLS];      /* latent channels its hint takes (zero-padded) */
    int64_t control_parameters[ORR_TRANSFER_MAX_CONTROLS];
    int64_t parameters;                                /* base and branches */
} orr_transfer_info;
orr_status orr_transfer_get_info(const orr_transfer *tr, orr_transfer_info *out);

/* One forward's inputs. `net` as the base takes them (condition_mask
 * required); every branch sees the same. */
typedef struct orr_transfer_inputs {
    orr_dit_inputs net;
    /* [B, N, C, T, H, W]: the latent of branch i's control video at [:, i]
     * (the tokenizer's encoding of the control frames), C <= its
     * hint_channels; N = the number of branches. */
    const orr_tensor *latent_hint;
    /* NULL (1 for every branch), [N] scalars, or [N, B, 1, T/pt, H/ps, W/ps]
     * maps over the token grid (orr_control_weights_to_tokens). */
    const orr_tensor *control_weight;
} orr_transfer_inputs;

/* out [B, out_channels, T, H, W]. trace (may be NULL) receives the base's
 * stages (orr_dit_forward's names) as "base.<stage>", with its RoPE angles
 * as "base.rope_emb"; per branch i the same as "branch<i>.<stage>" and
 * "branch<i>.x_embedder2" (the hint patch embedding), "branch<i>.guided_hint",
 * "branch<i>.zero_blocks.block<k>" (the projection) and
 * "branch<i>.residual.block<k>" (times the weight); "x_ctrl.block<k>", the
 * sum added to the output of base block k. Block tensors are T,H,W,B,D. */
orr_status orr_transfer_forward(orr_transfer *tr, orr_tensor *out, const orr_transfer_inputs *in,
                                struct orr_tensor_list *trace);

/* A control weight as the official spec gives it: a scalar (map NULL) or a
 * map [T,H,W] or [H,W] (any size and dtype; a [H,W] map holds for every
 * frame). */
typedef struct orr_control_weight {
    double value; /* the weight where map is NULL; >= 0 */
    const orr_tensor *map;
} orr_control_weight;

/* The official load_spatial_temporal_weights for one video: each weight
 * becomes a map at the control video's pixel size (scalars constant, maps
 * of another size resized trilinearly, align_corners false), clamped at 0,
 * and w_i / max(sum_j w_j, 1) per pixel: the maps are rescaled only where
 * they sum past 1. out (any dtype) is [n] when all are scalars (the same
 * on the vector, as the official), else [n, T, H, W], whose T, H, W are
 * the size wanted (the official T is the chunk's 121 frames, whatever the
 * video's length). bf16 rounds as the official bf16 math does (its
 * numbers); false computes in float32. */
orr_status orr_control_weights_normalize(orr_tensor *out, int n, const orr_control_weight *weights, bool bf16);

/* The official resize_control_weight_map of one chunk: maps [..., T, H, W]
 * over the chunk's pixel frames to out [..., t, h, w] over the token grid
 * (latent frames, latent size / patch): pixel frame 0 to token frame 0 and
 * the other frames to the other token frames, each trilinearly; T must be
 * t or 8(t-1)+1. bf16 as above. */
orr_status orr_control_weights_to_tokens(orr_tensor *out, const orr_tensor *maps, bool bf16);

/* What the Transfer1 sampler conditions on. */
typedef struct orr_transfer_cond {
    /* text, neg_text (the negative prompt, for the unconditioned pass),
     * their lengths, fps and padding_mask as for orr_dit_sample; and the
     * previous chunk: condition_latent (NULL for none, as the first chunk),
     * the latent frames it conditions on (condition_frames: 1 after the
     * first chunk), augment_sigma (0.001) and augment_noise. Both passes
     * see the condition frames (input_frames_guidance is not read). */
    orr_diffusion_cond base;
    const orr_tensor *latent_hint;    /* [B, N, C, T, H, W], as orr_transfer_inputs */
    const orr_tensor *control_weight; /* as orr_transfer_inputs; the same in both passes */
} orr_transfer_cond;
/* orr_diffusion_cond_init's defaults, no hints. */
void orr_transfer_cond_init(orr_transfer_cond *c);

/* RES "2ab" (the only loop of the official pipeline), 35 steps from sigma
 * 80 to 0.002, guidance 5 (transfer.py's default), seed 1. */
void orr_transfer_sampler_params_init(orr_sampler_params *p);

/* Samples a latent as the official generate_world_from_control:
 * out [B, C, T, H, W]. Each denoiser call runs the conditioned and the
 * unconditioned pass (as one network batch), replaces the condition frames
 * of both estimates by the condition latent, guides x0 = x0_c + g (x0_c -
 * x0_u) and applies the official one-tile merge_patches_into_video (which
 * scales latent row 0 and column 0 by 0.9999, their corner by 0.990099).
 * p: RES_2AB in float32 only (other kinds and bf16 are ORR_ERR_UNSUPPORTED);
 * init_latent + sigma_max noise is the official start when an input video
 * is given (sigma_max 70 by the official CLI), pure noise times sigma_max
 * otherwise. The noise is Philox, not the official generators'. */
orr_status orr_transfer_sample(orr_transfer *tr, orr_tensor *out, const orr_transfer_cond *cond,
                               const orr_sampler_params *p);

/* Control videos from an RGB video, as the official deterministic
 * augmentors (get_augmentor_for_eval) make them, uint8 for uint8
 * (core/preprocess/). The presets, from the weakest control: */
typedef enum orr_control_preset {
    ORR_PRESET_NONE,      /* edge: Canny (20, 50); vis: no blur, no down/up */
    ORR_PRESET_VERY_LOW,  /* (20, 50); bilateral (15, 100, 50), down/up 4 */
    ORR_PRESET_LOW,       /* (50, 100); bilateral (15, 100, 50) at 1/4 size, down/up 4 */
    ORR_PRESET_MEDIUM,    /* (100, 200); bilateral (30, 150, 100) at 1/2 size, down/up 10 (the default) */
    ORR_PRESET_HIGH,      /* (200, 300); bilateral (50, 300, 150), down/up 16 */
    ORR_PRESET_VERY_HIGH  /* (300, 400); bilateral (50, 300, 150) at 1/4 size, down/up 16 */
} orr_control_preset;

/* "none", "very_low", ...; NULL for an invalid value. */
const char *orr_control_preset_name(orr_control_preset preset);
/* ORR_ERR_NOT_FOUND (naming the valid names) for an unknown name. */
orr_status orr_control_preset_from_name(const char *name, orr_control_preset *out);

/* cv2.Canny(image, low, high) (aperture 3, L1 gradient; of several channels
 * the one with the largest gradient at each pixel): image u8 [H,W,C], C 1
 * or 3; edges a contiguous u8 [H,W] of 0 and 255. */
orr_status orr_canny(orr_tensor *edges, const orr_tensor *image, double low, double high);
/* cv2.bilateralFilter(image, d, sigma_color, sigma_space) (reflect-101
 * borders; d <= 0 takes the radius from sigma_space): image u8 [H,W,C], C 1
 * or 3; out a contiguous u8 of its shape. */
orr_status orr_bilateral_filter(orr_tensor *out, const orr_tensor *image, int d, double sigma_color,
                                double sigma_space);

/* video and out u8 [3,T,H,W] (RGB, the official C,T,H,W), frames at most
 * 1280x704 (the official shrinks larger ones first). edge: Canny with the
 * preset's thresholds, replicated to 3 channels. vis: the blur (frames
 * shrunk by the preset's factor with INTER_AREA, bilateral-filtered and
 * enlarged back with INTER_LINEAR; the frame size must divide by that
 * factor), then every plane down by the down/up factor and back up with
 * torchvision's antialiased bicubic resize. vis_blur: the blur alone.
 * Depth, segmentation and keypoint controls come from models that are not
 * part of orrery: give their videos as input_control. */
orr_status orr_control_edge(orr_tensor *out, const orr_tensor *video, orr_control_preset preset);
orr_status orr_control_vis(orr_tensor *out, const orr_tensor *video, orr_control_preset preset);
orr_status orr_control_vis_blur(orr_tensor *out, const orr_tensor *video, orr_control_preset preset);

/* A generation of any length, as the official pipeline runs it after the
 * text encoder and the preprocessors (core/models/transfer_pipeline.c):
 * chunks of chunk_frames sharing one frame, the controls (and the input
 * video) padded with their last frame to whole chunks; per chunk the
 * control frames encoded into the latent hints, the weight maps' slice
 * resized to the token grid, the input chunk encoded and noised to
 * sigma_max (else pure noise at the sampler's sigma_max, 80), chunk i > 0
 * conditioned on the last frame of chunk i-1 (through uint8, in an
 * otherwise black chunk), seed + i; every chunk after the first drops its
 * first frame. */
typedef struct orr_transfer_params {
    int chunk_frames;                 /* 121 (1 + k * temporal compression) */
    double sigma_max;                 /* 70: the start's noise when an input video is given */
    const orr_tensor *latent_mean, *latent_std; /* the tokenizer's statistics; NULL = mean 0, std 1 */
    orr_transfer_cond cond;           /* fps, augment_sigma (the pipeline sets text, hints, condition) */
    orr_sampler_params sampler;       /* orr_transfer_sampler_params_init's; chunk i uses seed + i */
    bool bf16_weights;                /* resize weight maps in bf16 as the official; true */
} orr_transfer_params;
void orr_transfer_params_init(orr_transfer_params *p);

/* video [B,3,T,H,W] (u8: the official uint8 frames; float: the same in
 * [-1,1]). controls [B,N,3,T,H,W] in [-1,1], a video per branch in the
 * order added. input (may be NULL) [B,3,T',H,W] in [-1,1]. text, neg_text
 * (may be NULL) [B,L,crossattn_channels]. weights: NULL (1 each), [N]
 * scalars, or [N,T'',H',W''] maps over the pixel frames from frame 0 as
 * orr_control_weights_normalize makes them (the same for every batch item;
 * maps shorter than the video hold their last frame, as the official's
 * 121-frame maps do). timings (may be NULL) sum over the chunks. */
orr_status orr_transfer_generate(orr_transfer *tr, orr_tokenizer *tok, orr_tensor *video, const orr_tensor *controls,
                                 const orr_tensor *input, const orr_tensor *text, const orr_tensor *neg_text,
                                 const orr_tensor *weights, const orr_transfer_params *p, orr_world_timings *timings);

/* The official control spec: the JSON that transfer.py --controlnet_specs
 * reads (core/models/transfer_spec.c). Top-level keys naming a modality
 * hold its control; every other key is an argument of transfer.py
 * ("prompt", "negative_prompt", "input_video_path", "sigma_max", "seed",
 * "num_steps", "guidance", "fps", "blur_strength", "canny_threshold",
 * "regional_prompts", ... ; unknown ones are kept as the official keeps
 * them). Members keep their document order and their text (numbers as
 * written), so a spec read and written back reads the same. Type errors
 * name the key ("'edge'.'control_weight' is -1; it must be a non-negative
 * number"). */
typedef struct orr_transfer_spec orr_transfer_spec;

orr_status orr_transfer_spec_create(orr_transfer_spec **out); /* empty */
/* `name` (may be NULL) is used in messages. */
orr_status orr_transfer_spec_parse(orr_transfer_spec **out, const char *json, size_t size, const char *name);
orr_status orr_transfer_spec_read(orr_transfer_spec **out, const char *path);
void orr_transfer_spec_free(orr_transfer_spec *s);
/* The spec as JSON text, snprintf-style: at most cap-1 bytes and a NUL go
 * to buf (may be NULL with cap 0); *length (may be NULL) gets the full
 * length. */
orr_status orr_transfer_spec_write(const orr_transfer_spec *s, char *buf, size_t cap, size_t *length);
/* Written through a temporary file renamed at the end. */
orr_status orr_transfer_spec_save(const orr_transfer_spec *s, const char *path);

/* A top-level argument as JSON text ("\"a prompt\"", "70", ...), NULL when
 * absent (or a control's key); valid until the spec changes. */
const char *orr_transfer_spec_get(const orr_transfer_spec *s, const char *key);
/* Sets an argument to a JSON value (type-checked for the documented keys),
 * or removes it when json is NULL. */
orr_status orr_transfer_spec_set(orr_transfer_spec *s, const char *key, const char *json);

/* The arguments with transfer.py's defaults for those absent. The strings
 * are NULL when absent and valid until the spec changes or is freed. */
typedef struct orr_transfer_args {
    const char *prompt, *negative_prompt, *input_video_path;
    double sigma_max;                  /* 70 (used only with an input video; 80 is pure noise) */
    double guidance;                   /* 5 */
    double fps;                        /* 24 */
    int64_t seed;                      /* 1 (chunk i uses seed + i) */
    int num_steps;                     /* 35 */
    int num_input_frames;              /* 1, the only value the official takes */
    orr_control_preset blur_strength;  /* medium */
    orr_control_preset canny_threshold; /* medium */
    bool is_av_sample, use_distilled;  /* false */
} orr_transfer_args;
orr_status orr_transfer_spec_args(orr_transfer_spec *s, orr_transfer_args *out);

/* One control. Strings are NULL when absent; they stay valid until the
 * spec changes or is freed. */
typedef struct orr_control_spec {
    orr_control_kind kind;
    const char *input_control;         /* the control video or image; NULL: made from the input video */
    int n_input_controls;              /* > 1 for a list (multiview): see orr_transfer_spec_input_control */
    double control_weight;             /* the number (0.5 when absent, as the official) */
    bool has_control_weight;           /* the key is present */
    const char *control_weight_path;   /* a weight map (.pt) instead of a number */
    const char *control_weight_prompt; /* text for a GroundingDINO + SAM2 map (not part of orrery) */
    const char *input_control_prompt;  /* seg: text for the automatic segmentation */
    const char *ckpt_path;             /* the branch's checkpoint; NULL: the default */
} orr_control_spec;

int orr_transfer_spec_controls(const orr_transfer_spec *s);
/* Control `index` in document order (the order the branches run). */
orr_status orr_transfer_spec_control(orr_transfer_spec *s, int index, orr_control_spec *out);
/* ORR_ERR_NOT_FOUND when the spec has no such control. */
orr_status orr_transfer_spec_find(orr_transfer_spec *s, orr_control_kind kind, orr_control_spec *out);
/* Input k of a control's list (or its single input at 0); NULL if none. */
const char *orr_transfer_spec_input_control(orr_transfer_spec *s, orr_control_kind kind, int k);
/* Adds the control (at the end) or replaces the one of its kind in place,
 * keeping the members the struct does not hold. control_weight is written
 * when has_control_weight is set and control_weight_path is NULL. */
orr_status orr_transfer_spec_set_control(orr_transfer_spec *s, const orr_control_spec *c);
orr_status orr_transfer_spec_remove_control(orr_transfer_spec *s, orr_control_kind kind);

/* The official validate_controlnet_specs, and what orrery cannot make:
 * "sigma_max" below 80 without "input_video_path"; a control without
 * "input_control" and no input video; depth, seg, keypoint, hdmap or lidar
 * without "input_control" (their models are not part of orrery:
 * ORR_ERR_UNSUPPORTED naming the model); a control_weight_prompt. */
orr_status orr_transfer_spec_validate(orr_transfer_spec *s);

/* Whether any control's weight is a map file. */
bool orr_transfer_spec_has_maps(orr_transfer_spec *s);
/* The controls' weights through orr_control_weights_normalize: out [n]
 * when all are numbers, else [n, T, H, W] at the size wanted (the
 * official's 121 frames at the control video's size). Map files are
 * torch.save'd tensors [T,H,W] or [H,W] (another shape: ORR_ERR_SHAPE
 * naming the key). */
orr_status orr_transfer_spec_weights(orr_transfer_spec *s, orr_tensor *out, bool bf16);

/* end of transfer */

/* ------------------------------------------------------------------------ */
/* Media: PNG and video in and out (core/io/png.c, core/io/video*.c)          */

/* An ordered list of text key/value pairs (UTF-8): PNG text chunks and
 * video container metadata, where the generation parameters travel. Keys
 * compare without regard to ASCII case (Matroska upper-cases them). */
typedef struct orr_metadata orr_metadata;
orr_status orr_metadata_create(orr_metadata **out);
void orr_metadata_free(orr_metadata *m);
/* Adds the pair, or replaces the value of an existing key in its place. */
orr_status orr_metadata_set(orr_metadata *m, const char *key, const char *value);
int64_t orr_metadata_count(const orr_metadata *m);
const char *orr_metadata_key(const orr_metadata *m, int64_t index);
const char *orr_metadata_value(const orr_metadata *m, int64_t index);
/* NULL when the key is absent. */
const char *orr_metadata_get(const orr_metadata *m, const char *key);

/* PNG images are [H,W,C] tensors, C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA:
 * u8 for 8-bit files, i32 holding 0..65535 for 16-bit ones (depth maps).
 * Reading expands palettes and 1/2/4-bit gray to 8-bit (with an alpha
 * channel when the file has transparency). Text chunks (tEXt, zTXt, iTXt)
 * are added to `text`, which may be NULL. */
orr_status orr_png_read(const char *path, orr_tensor **out, orr_metadata *text);
/* The same from a buffer; `name` is used in error messages. */
orr_status orr_png_read_memory(const void *data, size_t size, const char *name, orr_tensor **out,
                               orr_metadata *text);
/* image: u8 or i32 [H,W,C] or [H,W] (gray), any strides. Keys must be PNG
 * keywords (1-79 printable ASCII characters, no leading, trailing or double
 * spaces); ASCII values go in tEXt chunks, others in iTXt. Written to a
 * temporary name and renamed. text may be NULL. */
orr_status orr_png_write(const char *path, const orr_tensor *image, const orr_metadata *text);

/* Frames in memory are u8 [T,H,W,C] (C = 3, RGB), as decoded; the Cosmos
 * networks take float [C,T,H,W] in [-1,1]. These convert between the two:
 * x = v/127.5 - 1 into a float out (any float dtype), and back
 * v = round((x+1)*127.5) clamped to 0..255 into a u8 out (NaN or Inf is
 * refused). Any strides on both sides. */
orr_status orr_frames_to_model(orr_tensor *out, const orr_tensor *frames);
orr_status orr_frames_from_model(orr_tensor *out, const orr_tensor *x);

/* Frame-rate resampling along `dim` of any tensor (0 for [T,H,W,C], 1 for
 * [C,T,H,W]): frame j of out shows the source frame nearest to time
 * j/dst_fps; the last source frame repeats past the end. out's length along
 * dim says how many frames to make. */
orr_status orr_frames_resample(orr_tensor *out, const orr_tensor *frames, int dim, double src_fps,
                               double dst_fps);
/* out's frames spread evenly from the first source frame to the last
 * (a target frame count for the same span). */
orr_status orr_frames_spread(orr_tensor *out, const orr_tensor *frames, int dim);

/* The calls from orr_frames_resize on need FFmpeg: a build without it
 * (ORR_FFMPEG=OFF) answers them with ORR_ERR_UNSUPPORTED. */

/* How frames meet a size with another aspect ratio. */
typedef enum orr_fit {
    ORR_FIT_COVER,  /* keep the aspect ratio, scale to cover, crop the centre */
    ORR_FIT_STRETCH /* scale each axis on its own (Cosmos Video2World's input resize) */
} orr_fit;
/* Resizes u8 frames [T,H,W,C] (C 1, 3 or 4; or one [H,W,C] image) to out's
 * H,W with swscale's bicubic filter (which low-passes when shrinking). */
orr_status orr_frames_resize(orr_tensor *out, const orr_tensor *frames, orr_fit fit);

typedef struct orr_video_info {
    int64_t width, height;               /* of the frames as read */
    int64_t source_width, source_height; /* as stored */
    int64_t frames;                      /* counted from the stream */
    double fps;
    double duration; /* seconds: frames / fps */
    char codec[32];  /* "h264", "vp9", "gif", "png", ... */
    char format[64]; /* FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
} orr_video_info;

typedef struct orr_video_read_params {
    int64_t width, height; /* frame size to read at; 0,0 keeps the source's (default) */
    orr_fit fit;           /* default ORR_FIT_COVER */
    double default_fps;    /* rate of streams that store none (image sequences); default 24 */
    /* orr_video_load only: */
    int64_t start; /* first source frame; default 0 */
    int64_t count; /* most frames to return; -1 = to the end (default) */
    double fps;    /* resample to this rate; 0 keeps the source's (default) */
} orr_video_read_params;
void orr_video_read_params_init(orr_video_read_params *p);

/* A decoding reader. Opens any container and codec FFmpeg reads (mp4, mov,
 * mkv, webm, animated gif, ...) or an image sequence named by a printf
 * pattern ("frames/%05d.png"). The stream is scanned once to count frames,
 * and the first frame is decoded, so an undecodable file, or a truncated
 * one whose container lists its frames (mp4, mov), fails here; a cut
 * Matroska file reads as the frames it still holds. The content decides
 * the format, not the name: a PNG named .mp4 reads as one frame. Frames
 * with alpha are composited over white (as Cosmos reads them). params may
 * be NULL (defaults). */
typedef struct orr_video_reader orr_video_reader;
orr_status orr_video_open(const char *path, const orr_video_read_params *params, orr_video_reader **out);
/* The same over a buffer (copied); `name` is used in error messages. */
orr_status orr_video_open_memory(const void *data, size_t size, const char *name,
                                 const orr_video_read_params *params, orr_video_reader **out);
void orr_video_close(orr_video_reader *r);
void orr_video_get_info(const orr_video_reader *r, orr_video_info *out);
/* Container metadata, plus the first frame's own (a PNG's text chunks).
 * Owned by the reader. */
const orr_metadata *orr_video_metadata(const orr_video_reader *r);
/* Index of the frame the next read starts at. */
int64_t orr_video_position(const orr_video_reader *r);
/* Makes frame `index` the next one read; exact between key frames. */
orr_status orr_video_seek(orr_video_reader *r, int64_t index);
/* Decodes up to out's T frames into out, u8 [T,height,width,3] (any
 * strides); *n_read gets the count, fewer than T at the end of the stream. */
orr_status orr_video_read(orr_video_reader *r, orr_tensor *out, int64_t *n_read);
/* Opens, reads params->count frames from params->start resampled to
 * params->fps, and closes: a new u8 [T,H,W,3]. info (the frames returned,
 * at their rate) and metadata (added to) may be NULL. */
orr_status orr_video_load(const char *path, const orr_video_read_params *params, orr_tensor **frames,
                          orr_video_info *info, orr_metadata *metadata);

typedef struct orr_video_write_params {
    double fps;         /* default 24 */
    const char *codec;  /* an FFmpeg encoder name; NULL (default): libx264 when the container
                           takes H.264 and FFmpeg has it, else the container's own default */
    int crf;            /* quality of encoders with a CRF (libx264, libvpx): lower is better; default 18 */
    int qscale;         /* quantiser of encoders without one (mpeg4): 1 (best)..31; default 2 */
    const char *preset; /* libx264's speed preset; default "medium" */
} orr_video_write_params;
void orr_video_write_params_init(orr_video_write_params *p);

/* An encoding writer. The container comes from the extension (.mp4, .mov,
 * .mkv, .webm, .gif, ...); a printf pattern ending in .png ("out/%05d.png")
 * writes a PNG sequence, numbered from 0, with the metadata in each
 * image's text chunks. MP4, MOV, MKV and WebM keep any metadata key (MKV
 * and WebM upper-case them), AVI only its few INFO keys, GIF none; GIF
 * also rounds frame times to 1/100 s (24 fps reads back as 25). YUV
 * output is tagged BT.709, a key frame every second. Everything goes to
 * temporary names renamed by finish, so a failed or unfinished writer
 * leaves no file. metadata may be NULL; params may be NULL (defaults). */
typedef struct orr_video_writer orr_video_writer;
orr_status orr_video_writer_open(const char *path, int64_t width, int64_t height,
                                 const orr_video_write_params *params, const orr_metadata *metadata,
                                 orr_video_writer **out);
/* Appends frames: u8 [T,H,W,3] or one [H,W,3], or a float tensor [3,T,H,W]
 * in [-1,1]; any strides. */
orr_status orr_video_writer_add(orr_video_writer *w, const orr_tensor *frames);
/* Flushes the encoder and renames the result into place. */
orr_status orr_video_writer_finish(orr_video_writer *w);
/* Frees the writer; one not finished removes what it wrote. */
void orr_video_writer_free(orr_video_writer *w);
/* open + add + finish + free. */
orr_status orr_video_save(const char *path, const orr_tensor *frames, const orr_video_write_params *params,
                          const orr_metadata *metadata);

/* end of media */

/* ------------------------------------------------------------------------ */
/* Official checkpoints: PyTorch zip, TorchScript, registry (core/io/torch*.c) */

/* A read-only set of named tensors from a weights file orrery did not write:
 * a torch.save zip (model.pt, mean_std.pt, iter_*.pt), a TorchScript
 * archive (encoder.jit, decoder.jit) or a safetensors file (diffusers
 * weights), told apart by their bytes, never by the file name. The file is
 * mapped; tensors are zero-copy views of it with the strides the file gives
 * them (a copy only where a record is misaligned for its dtype), and they
 * stay valid after orr_ckpt_close.
 *
 * Names: a torch.save file gives its state-dict keys, nested dicts joined
 * with '/' ("ema/net.x_embedder.proj.1.weight"), tuple and list items by
 * index ("0", "1" in mean_std.pt); a bare tensor is called "tensor". A
 * TorchScript archive gives the keys of torch.jit.load(f).state_dict(): the
 * dotted attribute path of every tensor in its module tree. Transformer-
 * Engine `_extra_state` entries saved as io.BytesIO become u8 [n] tensors of
 * their bytes. Values that are not tensors (numbers, strings, None) are
 * skipped.
 *
 * Nothing in the file is executed: its pickle is read by an interpreter of
 * data opcodes that knows only the globals a state dict uses (tensor and
 * parameter rebuilds, OrderedDict, the typed storages, BytesIO and its
 * latin-1 bytes, TorchScript module classes) and refuses anything else
 * with ORR_ERR_FORMAT naming the opcode or global and its byte offset. Every
 * storage record must hold exactly its declared size and every view must
 * lie inside its storage. */
typedef struct orr_checkpoint orr_checkpoint;

typedef enum orr_checkpoint_format {
    ORR_CKPT_TORCH,       /* torch.save (PyTorch >= 1.6 zip) */
    ORR_CKPT_TORCHSCRIPT, /* torch.jit.save */
    ORR_CKPT_SAFETENSORS
} orr_checkpoint_format;

orr_status orr_ckpt_open(const char *path, orr_checkpoint **out);
/* The same over a buffer (copied); `name` is used in error messages. */
orr_status orr_ckpt_open_memory(const void *data, size_t size, const char *name, orr_checkpoint **out);
void orr_ckpt_close(orr_checkpoint *ckpt);

orr_checkpoint_format orr_ckpt_format(const orr_checkpoint *ckpt);
const char *orr_ckpt_path(const orr_checkpoint *ckpt);
int64_t orr_ckpt_count(const orr_checkpoint *ckpt);
/* Tensor names in file order (the pickle's; safetensors: by data offset). */
const char *orr_ckpt_name(const orr_checkpoint *ckpt, int64_t index);
bool orr_ckpt_has(const orr_checkpoint *ckpt, const char *name);
/* Dtype and shape; ORR_ERR_NOT_FOUND if absent. */
orr_status orr_ckpt_info(const orr_checkpoint *ckpt, const char *name, orr_dtype *dtype, int *ndim,
                         int64_t shape[ORR_MAX_DIMS]);
/* A new view of the named tensor. */
orr_status orr_ckpt_get(const orr_checkpoint *ckpt, const char *name, orr_tensor **out);
/* Facts about the file: "format" ("torch", "torchscript", "safetensors"),
 * "archive_prefix" (the zip's root folder), "archive_version" (its version
 * record), and a safetensors file's own metadata. */
int64_t orr_ckpt_metadata_count(const orr_checkpoint *ckpt);
const char *orr_ckpt_metadata_key(const orr_checkpoint *ckpt, int64_t index);
/* NULL when the key is absent. */
const char *orr_ckpt_metadata(const orr_checkpoint *ckpt, const char *key);

/* Writes t as torch.save(t) does: a zip of data.pkl (a rebuilt tensor),
 * its storage and a version record, which torch.load and the official
 * Transfer1 control_weight reader take (core/io/torch_save.c). Written
 * through a temporary file renamed at the end. */
orr_status orr_torch_save_tensor(const orr_tensor *t, const char *path);

/* Name layouts of other tools, mapped to the official names orrery's
 * loaders read (core/models/diffusers_names.c). */
typedef enum orr_name_map {
    ORR_NAMES_AUTO,          /* a diffusers layout when the names show one, else as they are */
    ORR_NAMES_OFFICIAL,      /* as they are */
    ORR_NAMES_DIFFUSERS_DIT, /* diffusers CosmosTransformer3DModel (Cosmos-1.0 DiT) -> "net.*" */
    ORR_NAMES_DIFFUSERS_VAE  /* diffusers AutoencoderKLCosmos -> the tokenizer's encoder.* / decoder.* */
} orr_name_map;

/* The official name of the tensor called `name` in layout `map` (not
 * AUTO), into buf. ORR_ERR_NOT_FOUND when the layout has no such tensor. */
orr_status orr_name_map_apply(orr_name_map map, const char *name, char *buf, size_t size);
/* The layout a file's names are in (never AUTO). */
orr_name_map orr_name_map_detect(const orr_checkpoint *ckpt);

typedef struct orr_convert_params {
    bool bf16;          /* f32, f64 and f16 tensors are written as bf16, integers kept; default false */
    bool extra_state;   /* also write "_extra_state" entries (opaque TransformerEngine state); default false */
    const char *prefix; /* only tensors named prefix..., written without it ("ema/"); default NULL: all */
    orr_name_map names; /* default ORR_NAMES_AUTO */
} orr_convert_params;
void orr_convert_params_init(orr_convert_params *p);

/* `orrery convert`: writes the tensors of any file orr_ckpt_open reads to
 * out_path as orrery's safetensors (contiguous, renamed, in file order by element size)
 * with metadata "source_file", "source_format" and "archive_prefix". Tensors
 * kept in their dtype stream from the mapped input; converted ones are held
 * in memory until the file is written. p may be NULL (defaults). */
orr_status orr_ckpt_convert(const char *in_path, const char *out_path, const orr_convert_params *p);

/* The released Cosmos models (core/models/registry.c), by the folder name
 * the official download scripts give them under checkpoints/. */
typedef struct orr_model_file {
    const char *name;  /* "model.pt", "encoder.jit", "mean_std.pt" */
    const char *holds; /* what it is, for listings */
    bool optional;     /* downloaded with the model but not needed to run it */
} orr_model_file;

typedef struct orr_model_info {
    const char *name;        /* "Cosmos-Predict1-7B-Text2World" */
    const char *kind;        /* "diffusion", "tokenizer", "transfer", "autoregressive" */
    const char *network;     /* the official class ("GeneralDIT", "CausalContinuousVideoTokenizer") */
    const char *config_json; /* its constructor arguments, as orr_dit_load / orr_tokenizer_load take them */
    int64_t parameters;      /* elements of its official weights; 0 when not known */
    const char *requires;    /* the model whose files the pipeline also needs (its tokenizer), or NULL */
    int n_files;
    const orr_model_file *files;
} orr_model_info;

int orr_model_count(void);
const orr_model_info *orr_model_at(int index);
/* NULL when unknown; "nvidia/<name>" is accepted too. */
const orr_model_info *orr_model_find(const char *name);
/* The path of a model's file in a directory laid out like the official
 * checkpoints/ folder: <dir>/<name>/<file>, or <dir>/nvidia/<name>/<file>
 * where only that exists (the Transfer1 scripts' layout). */
orr_status orr_model_path(const char *checkpoints_dir, const char *name, const char *file, char *buf, size_t size);
/* Checks that such a directory holds `name` and the model it requires:
 * every needed file is present and opens, and holds the tensors the config
 * implies with their shapes. Prints a line per file to `report` (a FILE*,
 * may be NULL). ORR_ERR_NOT_FOUND names the first missing file or tensor,
 * ORR_ERR_SHAPE a tensor of another shape. */
orr_status orr_model_check(const char *checkpoints_dir, const char *name, void *report);

/* end of checkpoints */

/* ------------------------------------------------------------------------ */
/* Viewer (viewer/, SDL2)                                                     */

/* A cheap look at a latent without the decoder: each output colour is
 * sum_c matrix[j*C + c] * z_c over the channels standardised to zero mean
 * and unit variance, then mapped from mean +- 2.5 std to 0..255. matrix
 * (3 x C, row-major) may be NULL: channel c then feeds colour c % 3.
 * latent [C,T,h,w] or [B,C,T,h,w] (batch 0 is shown), any dtype and
 * strides; frames u8 [T,h,w,3]. */
orr_status orr_latent_preview(orr_tensor *frames, const orr_tensor *latent, const float *matrix);

/* A Text2World / Video2World generation (orr_world_generate) running on a
 * worker thread, so that a viewer, a REPL or a script can watch it and
 * cancel it. The job replaces the sampler's progress, preview and cancel
 * callbacks with its own; params->sampler.schedule and guidance_fn (when
 * set) run on the worker thread, so they must not be LuaJIT callbacks.
 * The params and the sampler's `sigmas` are copied; dit, tok, video, text,
 * neg_text, input and every tensor the params point to must stay alive
 * until orr_world_job_free. */
typedef struct orr_world_job orr_world_job;

orr_status orr_world_job_start(orr_world_job **out, orr_dit *dit, orr_tokenizer *tok, orr_tensor *video,
                               const orr_tensor *text, const orr_tensor *neg_text, const orr_tensor *input,
                               const orr_world_params *p);

typedef struct orr_world_job_state {
    bool done;                     /* the worker has returned */
    orr_status status;             /* its result, once done */
    char error[256];               /* its message when status is not ORR_OK */
    bool cancel_requested;
    orr_sampler_progress progress; /* of the last step finished; progress.step is -1 before the first */
    int64_t preview_version;       /* counts the previews made; 0 before the first */
    int preview_step;              /* the step of the latest preview */
    bool preview_decoded;          /* the latest preview is a full decode, not the projection */
    double elapsed_seconds;        /* since the start (until done) */
} orr_world_job_state;

/* The job's state now, after waiting up to wait_seconds (0: no wait) for
 * the next step or the end. */
void orr_world_job_poll(orr_world_job *job, orr_world_job_state *out, double wait_seconds);
/* Asks the sampler to stop before its next step (ORR_ERR_CANCELLED). */
void orr_world_job_cancel(orr_world_job *job);
/* Asks for the next preview to be a full tokenizer decode of the x0
 * estimate (slower: the decode runs on the worker between steps). */
void orr_world_job_request_decode(orr_world_job *job);
/* A copy of the latest preview, u8 [T,H,W,3]: orr_latent_preview of the x0
 * estimate (latent size), or its decoded frames after a decode request.
 * ORR_ERR_NOT_FOUND before the first step. */
orr_status orr_world_job_preview(orr_world_job *job, orr_tensor **frames);
/* Waits for the worker and returns its status, with its message. */
orr_status orr_world_job_wait(orr_world_job *job, orr_world_timings *timings);
/* Cancels the run if it is still going, waits for it and frees the job. */
void orr_world_job_free(orr_world_job *job);
/* A guidance_fn for a job's sampler: user points to steps+1 doubles, the
 * guidance of step i at [i] (a schedule evaluated beforehand, since the
 * worker thread cannot call back into Lua). */
double orr_guidance_from_table(void *user, int i, double sigma);

/* An SDL2 window playing videos in synchronised panes (side by side or in a
 * grid), with overlays, a HUD, screenshots and live generation previews.
 * The keys are listed in viewer/README.md and on `?` in the window. All
 * calls come from the thread that opened it, and one viewer is open at a
 * time. */
typedef struct orr_viewer orr_viewer;

typedef enum orr_viewer_layout {
    ORR_LAYOUT_AUTO,   /* a row of up to 3 panes, else a grid */
    ORR_LAYOUT_ROW,
    ORR_LAYOUT_COLUMN,
    ORR_LAYOUT_GRID
} orr_viewer_layout;

typedef struct orr_viewer_params {
    const char *title;          /* window title; "orrery" */
    int width, height;          /* window size; 0, 0 = from the panes, within the screen (default) */
    bool fullscreen;            /* false */
    bool loop;                  /* true */
    double speed;               /* playback speed; 1 */
    orr_viewer_layout layout;   /* AUTO */
    const char *screenshot_dir; /* where the screenshot key writes PNGs; "." */
    const char *script;         /* a key script (viewer/README.md) that orr_viewer_run plays first; NULL */
} orr_viewer_params;
void orr_viewer_params_init(orr_viewer_params *p);

/* Opens the window (shown once the first update draws it). Without a
 * display (no DISPLAY / WAYLAND_DISPLAY, or SDL cannot start its video)
 * this is ORR_ERR_UNSUPPORTED with a message saying so: callers then go on
 * without the viewer. p may be NULL (defaults). */
orr_status orr_viewer_open(const orr_viewer_params *p, orr_viewer **out);
void orr_viewer_close(orr_viewer *v);

/* Panes, numbered from 0 in the order added; *index (may be NULL) gets the
 * number. label may be NULL. frames: u8 [T,H,W,C] or [H,W,C] with C 1, 3 or
 * 4; or the model's layout [3,T,H,W] / [B,3,T,H,W] (batch 0 shown), float
 * in [-1,1] (or u8 when 5-D). A contiguous u8 RGB tensor is shared (its
 * storage kept alive), anything else converted. fps <= 0 takes 24. */
orr_status orr_viewer_add_frames(orr_viewer *v, const char *label, const orr_tensor *frames, double fps,
                                 int *index);
/* A video file or PNG sequence (anything orr_video_open reads), loaded
 * whole; label NULL takes the file name. */
orr_status orr_viewer_add_video(orr_viewer *v, const char *label, const char *path, int *index);
/* |a - b| * gain of two earlier panes (per pixel, same frame size), with
 * the frame's PSNR in its label. gain <= 0 takes 4. */
orr_status orr_viewer_add_difference(orr_viewer *v, const char *label, int a, int b, float gain, int *index);
/* Follows a running generation: the latest preview, the step, sigma,
 * s/step and ETA; c cancels it, d asks for a full decode; when it has
 * finished the pane shows the generated video. The job must outlive the
 * viewer. */
orr_status orr_viewer_add_job(orr_viewer *v, const char *label, orr_world_job *job, int *index);
/* A weight map drawn as a heatmap over `pane` (replacing any it had):
 * weights [T,H,W] or [H,W] of any dtype and size (stretched over the
 * pane; T spread over the pane's frames). Colours run from vmin to vmax;
 * vmin >= vmax takes the data's range. The value under the cursor shows in
 * the HUD. */
orr_status orr_viewer_set_overlay(orr_viewer *v, int pane, const orr_tensor *weights, float vmin, float vmax);

/* Updates until the user closes the window (q, Esc or the close button),
 * after playing params->script if one was given. */
orr_status orr_viewer_run(orr_viewer *v);
/* One turn: handles pending input, advances playback by `seconds`
 * (negative: the wall-clock time since the last turn), draws and presents.
 * *open (may be NULL) becomes false once the user closed the window. */
orr_status orr_viewer_update(orr_viewer *v, double seconds, bool *open);
/* One key script line, as a user would act: "key NAME" (SDL key names,
 * with "shift+", "ctrl+", "alt+" prefixes: "key space", "key shift+Right",
 * "key ?"), "move X Y", "click X Y", "drag X0 Y0 X1 Y1" (window pixels),
 * "wheel N" (zoom at the pointer), "wait N" (N updates of 1/60 s each),
 * "screenshot PATH", "quit"; blank lines and "#" comments do nothing.
 * Events go through SDL's queue and are handled by the next update
 * (screenshot and quit run one first). */
orr_status orr_viewer_command(orr_viewer *v, const char *line);
/* Writes what the window shows now to a PNG (RGB). */
orr_status orr_viewer_screenshot(orr_viewer *v, const char *path);

typedef struct orr_viewer_state {
    bool open, playing, loop, fullscreen, help, overlays;
    int64_t frame, frames;   /* the current frame of the timeline and its length */
    double fps, time, speed, zoom, pan_x, pan_y;
    int panes, width, height; /* pane count, window size in pixels */
    int timeline[4];         /* where the timeline bar lies: x, y, width, height */
    orr_viewer_layout layout;
    int cursor_pane;         /* the pane under the cursor, -1 for none */
    double cursor_u, cursor_v; /* its position over that pane's image, 0..1 */
    bool cursor_on_weight;   /* that pane has an overlay under the cursor */
    double cursor_weight;    /* its value there */
} orr_viewer_state;
void orr_viewer_get_state(const orr_viewer *v, orr_viewer_state *out);
/* Where pane's image lies in the window now (x, y, width, height in
 * pixels, after zoom and pan; it may reach past the pane's cell). */
orr_status orr_viewer_pane_rect(const orr_viewer *v, int pane, int rect[4]);
/* Shows frame `frame` of the timeline (clamped), paused. */
orr_status orr_viewer_seek(orr_viewer *v, int64_t frame);

/* end of viewer */

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
/* A verify runner widens the check of one result it added where the
 * fixture's protocol allows a difference (e.g. +-1 on uint8 pixels whose
 * rounding differs): it passes when its max abs error is <= max_abs_error. */
orr_status orr_tensor_list_allow(orr_tensor_list *list, const char *name, double max_abs_error);
double orr_tensor_list_allowance(const orr_tensor_list *list, const char *name);

/* What a registered network is handed: the fixture files (inputs and
 * weights open; `outputs` lets a runner read the names it must make).
 * weights is NULL for functions without any (preprocessors). */
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
