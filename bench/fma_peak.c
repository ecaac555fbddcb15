/* The processor's f32 fused-multiply-add peak, per core: twelve independent chains of 512-bit FMAs and
 * of 256-bit FMAs, timed (the chains unrolled so that they stay in registers). Our GEMM rows in `cargo xtask bench train` give GFLOP/s; this says how close
 * to the hardware they are. Run one copy per core at once for the machine's peak:
 *
 *     cc -O2 -mavx512f -mfma bench/fma_peak.c -o /tmp/fma_peak && (/tmp/fma_peak & /tmp/fma_peak & wait)
 *
 * (-mavx512f needs a processor with AVX-512F to run; drop the 512-bit half otherwise.) */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS 12
#define ROUNDS 200000000L

int main(void) {
    __m512 a[CHAINS], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
    double started = now();
    for (long r = 0; r < ROUNDS; r++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
    }
    double seconds = now() - started;
    float sink = 0;
    for (int i = 0; i < CHAINS; i++) sink += _mm512_reduce_add_ps(a[i]);
    printf("512-bit FMA: %.0f GFLOP/s per core\n", ROUNDS * CHAINS * 32.0 / seconds / 1e9);

    __m256 b[CHAINS], u = _mm256_set1_ps(1.0000001f), v = _mm256_set1_ps(0.9999999f);
    for (int i = 0; i < CHAINS; i++) b[i] = _mm256_set1_ps((float)i);
    started = now();
    for (long r = 0; r < ROUNDS; r++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) b[i] = _mm256_fmadd_ps(b[i], u, v);
    }
    seconds = now() - started;
    float lanes[8];
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(lanes, b[i]);
        for (int k = 0; k < 8; k++) sink += lanes[k];
    }
    printf("256-bit FMA: %.0f GFLOP/s per core\n", ROUNDS * CHAINS * 16.0 / seconds / 1e9);
    return sink == 12345.0f; /* keeps the chains live */
}
