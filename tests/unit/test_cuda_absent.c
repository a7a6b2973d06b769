/* test_cuda_absent.c — the CUDA API where no device can be used (every
 * machine without a GPU, with or without the toolkit): nothing crashes,
 * everything says why, and tensors claiming to be on cuda are refused by
 * name. Skipped (77) where a device is present: tests/gpu covers that. */
#include "test_util.h"

/* A cpu tensor whose device field says cuda: what a stale or forged
 * tensor looks like to an op. */
static orr_tensor *claiming_cuda(int ndim, const int64_t *shape) {
    orr_tensor *t = test_tensor_filled(ORR_F32, ndim, shape, 3, 1.0f);
    if (t) t->device = ORR_CUDA;
    return t;
}

static void test_runtime_absent(void) {
    CHECK(!orr_cuda_available());
    orr_cuda_info info;
    CHECK_FAILS(orr_cuda_get_info(&info), ORR_ERR_UNSUPPORTED, "cuda info");
    CHECK(info.name[0] == '\0' && info.total_memory == 0);
    CHECK_FAILS(orr_cuda_synchronize(), ORR_ERR_UNSUPPORTED, "cuda synchronize");
    orr_cuda_empty_cache();

    orr_mem_stats before, after;
    orr_mem_get_stats(ORR_CUDA, &before);
    void *p = (void *)1;
    CHECK_FAILS(orr_mem_alloc(ORR_CUDA, 1024, &p), ORR_ERR_UNSUPPORTED, "cuda alloc");
    CHECK(p == NULL);
    orr_mem_get_stats(ORR_CUDA, &after);
    CHECK(after.bytes_in_use == before.bytes_in_use && after.allocations == before.allocations);
}

static void test_tensors_absent(void) {
    const int64_t shape[2] = {2, 3};
    orr_tensor *t = (orr_tensor *)1;
    CHECK_FAILS(orr_tensor_empty_on(ORR_CUDA, &t, ORR_F32, 2, shape), ORR_ERR_UNSUPPORTED, "cuda");
    CHECK(t == NULL);
    CHECK_FAILS(orr_tensor_zeros_on(ORR_CUDA, &t, ORR_BF16, 2, shape), ORR_ERR_UNSUPPORTED, "cuda");
    CHECK_FAILS(orr_tensor_empty_on((orr_device)7, &t, ORR_F32, 2, shape), ORR_ERR_ARGUMENT, "invalid device 7");

    orr_tensor *host = test_tensor_filled(ORR_F32, 2, shape, 1, 1.0f), *moved = NULL;
    CHECK_FAILS(orr_tensor_to(&moved, host, ORR_CUDA), ORR_ERR_UNSUPPORTED, "tensor_to cuda");
    CHECK(moved == NULL);
    CHECK_OK(orr_tensor_to(&moved, host, ORR_CPU)); /* already there: a view */
    CHECK(moved && moved->data == host->data && moved->device == ORR_CPU);
    orr_tensor_free(moved);

    orr_tensor *zeros = NULL;
    CHECK_OK(orr_tensor_zeros_on(ORR_CPU, &zeros, ORR_I32, 2, shape));
    CHECK(zeros && orr_tensor_get(zeros, 5) == 0.0);
    orr_tensor_free(zeros);
    orr_tensor_free(host);
}

/* Every kind of op refuses the tensor and names the argument. */
static void test_ops_refuse(void) {
    const int64_t shape[2] = {2, 4}, wshape[1] = {4};
    orr_tensor *dev = claiming_cuda(2, shape), *out = NULL, *w = NULL, *copy = NULL;
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, 2, shape));
    CHECK_OK(orr_tensor_zeros(&w, ORR_F32, 1, wshape));

    CHECK_FAILS(orr_copy(out, dev), ORR_ERR_UNSUPPORTED, "copy: src is on cuda");
    CHECK_FAILS(orr_copy(dev, out), ORR_ERR_UNSUPPORTED, "copy: dst is on cuda");
    CHECK_FAILS(orr_tensor_clone(&copy, dev, ORR_F32), ORR_ERR_UNSUPPORTED, "clone: tensor is on cuda");
    CHECK(copy == NULL);
    CHECK_FAILS(orr_tensor_to(&copy, dev, ORR_CPU), ORR_ERR_UNSUPPORTED, "tensor_to: tensor is on cuda");
    CHECK_FAILS(orr_unary(out, dev, ORR_SILU), ORR_ERR_UNSUPPORTED, "unary: a is on cuda");
    CHECK_FAILS(orr_binary(out, out, dev, ORR_ADD), ORR_ERR_UNSUPPORTED, "binary: b is on cuda");
    CHECK_FAILS(orr_rms_norm(out, dev, w, 1e-6f), ORR_ERR_UNSUPPORTED, "rms_norm: x is on cuda");
    CHECK_FAILS(orr_layer_norm(out, out, dev, NULL, 1e-6f), ORR_ERR_UNSUPPORTED, "layer_norm: w is on cuda");
    CHECK_FAILS(orr_softmax(out, dev, -1), ORR_ERR_UNSUPPORTED, "softmax: a is on cuda");
    CHECK_FAILS(orr_fill(dev, 1.0), ORR_ERR_UNSUPPORTED, "fill: out is on cuda");
    double sum;
    CHECK_FAILS(orr_reduce_all(dev, ORR_SUM, &sum), ORR_ERR_UNSUPPORTED, "is on cuda");

    /* the tensor was never read: its host values are intact */
    dev->device = ORR_CPU;
    CHECK(orr_tensor_get(dev, 0) != 0.0);
    orr_tensor_free(dev);
    orr_tensor_free(out);
    orr_tensor_free(w);
}

int main(void) {
    if (orr_cuda_available()) {
        printf("test_cuda_absent: a CUDA device is present; tests/gpu covers it\n");
        return 77;
    }
    test_runtime_absent();
    test_tensors_absent();
    test_ops_refuse();
    return test_finish("test_cuda_absent");
}
