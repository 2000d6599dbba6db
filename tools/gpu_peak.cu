/* The card's two ceilings, measured once per GPU run (tools/gpu-check.sh): memory bandwidth (a large
 * device-to-device copy: cudaMemcpyAsync and a float4 copy kernel) and float32 matrix throughput
 * (cuBLAS SGEMM, n x n x n, TF32 off; then with TF32 tensor-core math for `--tf32` runs). Kernels are
 * reported against these numbers (docs/gpu-runs.md).
 *
 *   gpu_peak [--bytes N] [--n N] [--json FILE]
 * Bandwidth counts bytes read plus bytes written; GEMM 2*n^3 flops. Each figure is the best of 10 timed
 * repetitions (CUDA events) after 3 warm-ups. Every CUDA/cuBLAS call is checked; exit 1 on an error. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(call)                                                                                            \
    do {                                                                                                    \
        cudaError_t e_ = (call);                                                                            \
        if (e_ != cudaSuccess) {                                                                            \
            fprintf(stderr, "gpu_peak: %s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(1);                                                                                        \
        }                                                                                                   \
    } while (0)
#define CB(call)                                                                                                \
    do {                                                                                                        \
        cublasStatus_t s_ = (call);                                                                             \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                                      \
            fprintf(stderr, "gpu_peak: %s:%d: %s: %s\n", __FILE__, __LINE__, #call, cublasGetStatusString(s_)); \
            exit(1);                                                                                            \
        }                                                                                                       \
    } while (0)

__global__ void copy4(const float4 *__restrict__ src, float4 *__restrict__ dst, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = src[i];
}

__global__ void fill(float *p, size_t n, unsigned seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = (float)(h & 0xFFFF) / 65536.0f - 0.5f;
    }
}

typedef enum { MEMCPY, KERNEL, SGEMM } what;

static double best_ms(what w, cudaStream_t s, cublasHandle_t h, void *a, void *b, void *c, size_t bytes, int n,
                      int sms) {
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    double best = 1e30;
    const float one = 1.0f, zero = 0.0f;
    for (int it = 0; it < 13; it++) {
        CK(cudaEventRecord(e0, s));
        if (w == MEMCPY) {
            CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
        } else if (w == KERNEL) {
            copy4<<<sms * 8, 512, 0, s>>>((const float4 *)a, (float4 *)b, bytes / sizeof(float4));
            CK(cudaGetLastError());
        } else {
            CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, (const float *)a, n, (const float *)b, n, &zero,
                           (float *)c, n));
        }
        CK(cudaEventRecord(e1, s));
        CK(cudaEventSynchronize(e1));
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        if (it >= 3 && ms < best) best = ms;
    }
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    return best;
}

int main(int argc, char **argv) {
    size_t bytes = (size_t)2 << 30;
    int n = 8192;
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bytes") && i + 1 < argc) bytes = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else {
            fprintf(stderr, "usage: gpu_peak [--bytes N] [--n N] [--json FILE]\n");
            return 2;
        }
    }
    bytes &= ~(size_t)15;
    int dev = 0;
    CK(cudaSetDevice(dev));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, dev));
    int driver = 0, runtime = 0;
    CK(cudaDriverGetVersion(&driver));
    CK(cudaRuntimeGetVersion(&runtime));
    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    cublasHandle_t h;
    CB(cublasCreate(&h));
    CB(cublasSetStream(h, s));

    void *a, *b;
    CK(cudaMalloc(&a, bytes));
    CK(cudaMalloc(&b, bytes));
    fill<<<prop.multiProcessorCount * 8, 256, 0, s>>>((float *)a, bytes / 4, 1u);
    CK(cudaGetLastError());
    double ms_memcpy = best_ms(MEMCPY, s, h, a, b, NULL, bytes, 0, prop.multiProcessorCount);
    double ms_kernel = best_ms(KERNEL, s, h, a, b, NULL, bytes, 0, prop.multiProcessorCount);
    CK(cudaFree(a));
    CK(cudaFree(b));
    double bw_memcpy = 2.0 * (double)bytes / (ms_memcpy * 1e-3) / 1e9;
    double bw_kernel = 2.0 * (double)bytes / (ms_kernel * 1e-3) / 1e9;

    size_t mb = (size_t)n * n * sizeof(float);
    void *A, *B, *C;
    CK(cudaMalloc(&A, mb));
    CK(cudaMalloc(&B, mb));
    CK(cudaMalloc(&C, mb));
    fill<<<prop.multiProcessorCount * 8, 256, 0, s>>>((float *)A, (size_t)n * n, 2u);
    fill<<<prop.multiProcessorCount * 8, 256, 0, s>>>((float *)B, (size_t)n * n, 3u);
    CK(cudaGetLastError());
    CB(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH)); /* float32 FMA: TF32 is not used in this mode */
    double ms_sgemm = best_ms(SGEMM, s, h, A, B, C, 0, n, 0);
    CB(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH));
    double ms_tf32 = best_ms(SGEMM, s, h, A, B, C, 0, n, 0);
    CK(cudaFree(A));
    CK(cudaFree(B));
    CK(cudaFree(C));
    double fl = 2.0 * (double)n * n * n;
    double tf_sgemm = fl / (ms_sgemm * 1e-3) / 1e12, tf_tf32 = fl / (ms_tf32 * 1e-3) / 1e12;

    printf("gpu_peak  %s, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d, runtime %d.%d\n", prop.name, prop.major, prop.minor,
           prop.multiProcessorCount, (double)prop.totalGlobalMem / (1 << 30), driver / 1000, (driver % 1000) / 10,
           runtime / 1000, (runtime % 1000) / 10);
    printf("d2d copy  %.2f GiB  cudaMemcpyAsync %8.1f GB/s   copy kernel %8.1f GB/s   (read + write)\n",
           (double)bytes / (1 << 30), bw_memcpy, bw_kernel);
    printf("sgemm     n=%d       float32 %8.2f TFLOP/s    TF32 tensor ops %8.2f TFLOP/s\n", n, tf_sgemm, tf_tf32);
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            fprintf(stderr, "gpu_peak: cannot write %s\n", json);
            return 1;
        }
        fprintf(f,
                "{\"schema\": \"jatp.gpu_peak/1\", \"device\": \"%s\", \"sm\": \"%d%d\", \"sms\": %d, "
                "\"memory_gib\": %.2f, \"driver\": \"%d.%d\", \"runtime\": \"%d.%d\",\n"
                " \"copy_bytes\": %zu, \"memcpy_gbps\": %.1f, \"copy_kernel_gbps\": %.1f,\n"
                " \"sgemm_n\": %d, \"sgemm_fp32_tflops\": %.3f, \"sgemm_tf32_tflops\": %.3f}\n",
                prop.name, prop.major, prop.minor, prop.multiProcessorCount, (double)prop.totalGlobalMem / (1 << 30),
                driver / 1000, (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10, bytes, bw_memcpy, bw_kernel,
                n, tf_sgemm, tf_tf32);
        fclose(f);
    }
    CB(cublasDestroy(h));
    CK(cudaStreamDestroy(s));
    return 0;
}
