// Stand-in for CUDA's runtime header in the host emulation: the types and error codes that
// launchers.h and the launch sequences in csrc/cuda/*_kernels.cuh name (CUDA's values).
#pragma once
typedef int cudaError_t;
typedef struct CUstream_st* cudaStream_t;
enum : int { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorInvalidConfiguration = 9 };
