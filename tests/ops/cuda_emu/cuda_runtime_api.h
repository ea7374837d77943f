// Stand-in for CUDA's runtime header in the host emulation: only the types launchers.h names.
#pragma once
typedef int cudaError_t;
typedef struct CUstream_st* cudaStream_t;
