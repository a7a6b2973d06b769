/* device.h — the device plumbing the core calls in every build. With
 * ORR_HAVE_CUDA the orr_cuda_* functions are the runtime in core/cuda/;
 * without it core/cuda_absent.c answers ORR_ERR_UNSUPPORTED ("built
 * without CUDA").
 * The orr_check_* / orr_op_device helpers are core/tensor_device.c. Plain
 * C without CUDA headers, so that ops and tensor code include it always. */
#ifndef ORR_CUDA_DEVICE_H
#define ORR_CUDA_DEVICE_H

#include "orrery.h"

/* The caching device allocator (core/cuda/allocator.c). It keeps freed
 * blocks for reuse and, when the device is full, returns them to the
 * driver and tries once more. Accounting and the pressure hook stay in
 * memory.c, which calls these for ORR_CUDA. */
orr_status orr_cuda_malloc(size_t bytes, void **out);
void orr_cuda_free(void *ptr, size_t bytes);

/* Copies (core/cuda/transfer.c). Host<->device go through pinned staging
 * buffers in chunks: upload returns once src may be reused (the device
 * side may still be in flight, in stream order); download returns once
 * dst holds the data (after all work queued before it). */
orr_status orr_cuda_upload(void *dst, const void *src, size_t bytes);
orr_status orr_cuda_download(void *dst, const void *src, size_t bytes);
/* Queued on the stream. */
orr_status orr_cuda_memset_zero(void *ptr, size_t bytes);
/* dst = src on the device with dtype conversion, as orr_copy does on the
 * cpu: src has dst's shape already (expanded: strides of 0 broadcast). */
orr_status orr_cuda_copy_tensor(orr_tensor *dst, const orr_tensor *src);

/* Whether an op may read t where it lies: ORR_OK for cpu tensors, and for
 * cuda tensors in builds with CUDA; else a message naming op and arg. */
orr_status orr_check_backend(const char *op, const char *arg, const orr_tensor *t);
/* The device an op runs on, taken from its first operand `t` (checked as
 * above). Ops with a cuda path call this instead of orr_check_cpu. */
orr_status orr_op_device(const char *op, const char *arg, const orr_tensor *t, orr_device *device);
/* Every other operand must be on that device (after the check above):
 * ORR_ERR_ARGUMENT naming arg ("linear: w is on cpu but the op runs on
 * cuda ...") otherwise. */
orr_status orr_check_device(const char *op, const char *arg, const orr_tensor *t, orr_device device);

/* orr_input_f32 in any dtype: *data is t's data when t is contiguous in
 * `dtype`, else that of a converted copy on t's device held in *tmp. */
orr_status orr_input_as(const orr_tensor *t, orr_dtype dtype, orr_tensor **tmp, const void **data);

/* One element of a tensor on any device, through a copy of that element
 * (orr_tensor_get/set's slow path for device tensors). */
orr_status orr_device_element_get(const orr_tensor *t, int64_t flat_index, double *value);
orr_status orr_device_element_set(orr_tensor *t, int64_t flat_index, double value);

#endif /* ORR_CUDA_DEVICE_H */
