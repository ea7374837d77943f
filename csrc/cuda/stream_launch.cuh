// The CUDA side of the launch sequences in *_kernels.cuh: launch(grid, block, smem, kernel,
// args...) starts kernel<<<grid, block, smem, stream>>>(args...). The host emulation in
// tests/ops/cuda_emu provides the same call, so both run one sequence.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace twinkle {
namespace cuda {

struct StreamLaunch {
  cudaStream_t stream;

  template <typename... Params, typename... Args>
  cudaError_t operator()(unsigned grid, unsigned block, size_t smem, void (*kernel)(Params...),
                         const Args&... args) const {
    kernel<<<grid, block, smem, stream>>>(args...);
    return cudaGetLastError();
  }
};

}  // namespace cuda
}  // namespace twinkle
