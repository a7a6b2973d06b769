/* The thread pool: every index runs exactly once, for any size and thread
 * count, and nested calls run serially instead of deadlocking. */
#include <stdatomic.h>

#include "test_util.h"

typedef struct counts {
    _Atomic int *hits;
    _Atomic int calls;
} counts;

static void count_range(void *user, int64_t begin, int64_t end) {
    counts *c = user;
    atomic_fetch_add(&c->calls, 1);
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&c->hits[i], 1);
}

static void nested(void *user, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) orr_parallel_for(10, count_range, user);
}

int main(void) {
    static _Atomic int hits[100000];
    int sizes[] = {1, 2, 3, 7, 1000, 100000};
    int threads[] = {1, 2, 3, 8};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        orr_set_num_threads(threads[t]);
        CHECK(orr_get_num_threads() == threads[t]);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (int i = 0; i < sizes[s]; i++) hits[i] = 0;
            counts c = {hits, 0};
            orr_parallel_for(sizes[s], count_range, &c);
            int wrong = 0;
            for (int i = 0; i < sizes[s]; i++) wrong += hits[i] != 1;
            CHECK(wrong == 0);
            CHECK(c.calls <= threads[t]);
        }
    }
    orr_set_num_threads(4);
    for (int i = 0; i < 10; i++) hits[i] = 0;
    counts c = {hits, 0};
    orr_parallel_for(5, nested, &c);
    for (int i = 0; i < 10; i++) CHECK(hits[i] == 5);
    orr_parallel_for(0, count_range, &c); /* nothing to do is fine */
    return test_finish("test_threads");
}
