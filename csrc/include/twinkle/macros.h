// Shared by the CPU ops and the CUDA kernels: no torch or CUDA headers here.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define TWINKLE_HD __host__ __device__ __forceinline__
#else
#define TWINKLE_HD inline
#endif
