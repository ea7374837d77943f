// A host emulation of the part of CUDA's execution model twinkle's kernels use, so that the
// kernels' own source (csrc/cuda/*_kernels.cuh) can run in CPU tests on machines with no GPU:
//  * a launch runs blockDim.x std::threads; each walks the grid's blocks in order, and all
//    of them finish a block before any starts the next (shared memory is reused);
//  * __shared__ variables are function statics (one copy, shared by the block's threads);
//    the dynamic shared memory is one buffer, zero-filled with a poison value per block;
//  * __syncthreads is a barrier of the block's threads. A barrier that some threads never
//    reach (divergent __syncthreads, undefined on a GPU) aborts after a timeout instead of
//    hanging; __syncthreads_and reduces a predicate across the block;
//  * atomicMin is a compare-and-swap loop.
// What it cannot show: warp-level timing, bank conflicts, the memory model's weaker
// orderings and anything about speed. It checks indexing, barriers and the block logic.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "cuda_runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

struct EmuDim {
  unsigned x = 0;
};
inline thread_local EmuDim threadIdx;
inline thread_local EmuDim blockIdx;
inline EmuDim blockDim;
inline EmuDim gridDim;

namespace cuda_emu {

constexpr size_t kSmemBytes = 1 << 17;
alignas(64) inline unsigned char g_smem[kSmemBytes];

// A reusable barrier for the block's threads that gives up loudly instead of hanging.
class Barrier {
 public:
  void reset(unsigned n) {
    n_ = n;
    waiting_ = 0;
    phase_ = 0;
  }
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    const uint64_t phase = phase_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++phase_;
      cv_.notify_all();
      return;
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return phase_ != phase; })) {
      std::fprintf(stderr, "cuda_emu: __syncthreads not reached by every thread of block %u\n",
                   blockIdx.x);
      std::abort();
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  unsigned n_ = 0, waiting_ = 0;
  uint64_t phase_ = 0;
};

inline Barrier g_barrier;
inline std::atomic<int> g_and_false{0};

// Runs kernel() as a grid of `grid` blocks of `block` threads with `smem` bytes of dynamic
// shared memory.
inline void launch(unsigned grid, unsigned block, size_t smem, const std::function<void()>& kernel) {
  if (smem > kSmemBytes) {
    std::fprintf(stderr, "cuda_emu: %zu bytes of dynamic shared memory asked for\n", smem);
    std::abort();
  }
  blockDim.x = block;
  gridDim.x = grid;
  g_barrier.reset(block);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < block; ++t) {
    threads.emplace_back([&, t] {
      threadIdx.x = t;
      for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        if (t == 0) std::memset(g_smem, 0xA5, smem);  // stale values look like garbage
        g_barrier.wait();
        kernel();
        g_barrier.wait();
      }
    });
  }
  for (auto& th : threads) th.join();
}

// The emulated side of the launch sequences in csrc/cuda/*_kernels.cuh (the CUDA side is
// csrc/cuda/stream_launch.cuh): runs kernel(args...) as a grid.
struct Launcher {
  template <typename... Params, typename... Args>
  cudaError_t operator()(unsigned grid, unsigned block, size_t smem, void (*kernel)(Params...),
                         const Args&... args) const {
    launch(grid, block, smem, [&] { kernel(args...); });
    return cudaSuccess;
  }
};

}  // namespace cuda_emu

inline void __syncthreads() { cuda_emu::g_barrier.wait(); }

inline int __syncthreads_and(int pred) {
  if (!pred) cuda_emu::g_and_false.fetch_add(1);
  cuda_emu::g_barrier.wait();
  const int all = cuda_emu::g_and_false.load() == 0;
  cuda_emu::g_barrier.wait();
  if (threadIdx.x == 0) cuda_emu::g_and_false.store(0);
  cuda_emu::g_barrier.wait();
  return all;
}

inline int atomicMin(int* address, int val) {
  int old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
  while (val < old &&
         !__atomic_compare_exchange_n(address, &old, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return old;
}

#define TWINKLE_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(cuda_emu::g_smem)
