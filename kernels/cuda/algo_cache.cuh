// cuda/algo_cache.cuh — what a library's algorithm search chose, kept per
// shape for the process (cuBLASLt's heuristic in linear.cu, cuDNN's timed
// search in conv.cu), so that a shape is searched once. Entry is a plain
// struct whose `key` member is an array of int64 words; the first Size
// entries stored are kept, after that the oldest is replaced.
#ifndef ORR_CUDA_ALGO_CACHE_CUH
#define ORR_CUDA_ALGO_CACHE_CUH

#include <cstring>
#include <mutex>

template <typename Entry, int Size>
class algo_cache {
  public:
    // The entry stored under e->key, copied into *e; false if none.
    bool find(Entry *e) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (int i = 0; i < count_; i++) {
            if (!memcmp(entries_[i].key, e->key, sizeof e->key)) {
                *e = entries_[i];
                return true;
            }
        }
        return false;
    }

    void store(const Entry &e) {
        std::lock_guard<std::mutex> lock(mutex_);
        int slot;
        if (count_ < Size) {
            slot = count_++;
        } else { // full: replace the oldest
            slot = next_;
            next_ = (next_ + 1) % Size;
        }
        entries_[slot] = e;
    }

  private:
    std::mutex mutex_;
    Entry entries_[Size] = {};
    int count_ = 0, next_ = 0;
};

#endif // ORR_CUDA_ALGO_CACHE_CUH
