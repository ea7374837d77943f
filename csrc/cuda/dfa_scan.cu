// Launchers of twinkle::dfa_scan's CUDA kernels, one per id type: the launch sequence and the
// kernels are in dfa_scan_kernels.cuh. Errors inside the scan come back as negative states.
#include <cuda_runtime.h>

#include "dfa_scan_kernels.cuh"
#include "stream_launch.cuh"

namespace twinkle {
namespace cuda {

cudaError_t launch_dfa_scan(const uint8_t* ids, const DfaScanArgs& a, cudaStream_t stream) {
  return dfa_scan_launches(ids, a, StreamLaunch{stream});
}
cudaError_t launch_dfa_scan(const int32_t* ids, const DfaScanArgs& a, cudaStream_t stream) {
  return dfa_scan_launches(ids, a, StreamLaunch{stream});
}
cudaError_t launch_dfa_scan(const int64_t* ids, const DfaScanArgs& a, cudaStream_t stream) {
  return dfa_scan_launches(ids, a, StreamLaunch{stream});
}

}  // namespace cuda
}  // namespace twinkle
