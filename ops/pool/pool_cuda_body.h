/* Per-element bodies of the windowed pooling kernels (pool_cuda.cu), host/device (JT_HD) so that a CPU
 * test can run the very arithmetic of the CUDA kernels against the CPU kernels. C and CUDA compatible. */
#ifndef JATP_OPS_POOL_CUDA_BODY_H
#define JATP_OPS_POOL_CUDA_BODY_H

#include <math.h>
#include <stdint.h>

#include "op.h"
#include "pool_cuda.h"

JT_HD long long jt_pc_fdiv(long long a, long long b) {
    long long q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* jt_pool_axis_range: window taps i in [0, count) with 0 <= i*s + off < limit, as [*lo, *hi). */
JT_HD void jt_pc_axis_range(long long off, long long s, long long limit, long long count, long long *lo,
                            long long *hi) {
    long long l = -jt_pc_fdiv(off, s), h = jt_pc_fdiv(limit - 1 - off, s) + 1; /* ceil(-off / s) = -floor(off / s) */
    if (l < 0) l = 0;
    if (h > count) h = count;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* The average pool's divisor of the window starting at st (as pool_cpu_tmpl.h). */
JT_HD long long jt_pc_avg_count(const jt_cuda_pool_geom *g, const long long st[3]) {
    long long cnt = 1;
    for (int a = 0; a < 3; a++) {
        if (g->count_include_pad) {
            long long e = st[a] + g->k[a];
            if (e > g->in[a] + g->pe[a]) e = g->in[a] + g->pe[a];
            cnt *= e - st[a];
        } else {
            long long lo, hi;
            jt_pc_axis_range(st[a], g->d[a], g->in[a], g->k[a], &lo, &hi);
            cnt *= hi - lo;
        }
    }
    return cnt;
}

/* Output element t (over planes * out_sz) of a windowed pool. */
JT_HD void jt_pc_fwd_one(const jt_cuda_pool_geom *g, const float *x, float *y, int64_t *idx, int32_t *arg,
                         long long t) {
    long long p = t / g->out_sz, o = t % g->out_sz;
    long long ow = o % g->out[2], oh = (o / g->out[2]) % g->out[1], od = o / (g->out[2] * g->out[1]);
    long long st[3] = {od * g->s[0] - g->pb[0], oh * g->s[1] - g->pb[1], ow * g->s[2] - g->pb[2]};
    long long lo[3], hi[3];
    for (int a = 0; a < 3; a++) jt_pc_axis_range(st[a], g->d[a], g->in[a], g->k[a], &lo[a], &hi[a]);
    const float *src = x + p * g->in_sz;
    if (g->kind == JT_CUDA_POOL_MAX) {
        float m = -INFINITY;
        long long best = -1, best_so = -1;
        for (long long kd = lo[0]; kd < hi[0]; kd++) {
            long long id = st[0] + kd * g->d[0];
            for (long long kh = lo[1]; kh < hi[1]; kh++) {
                long long ih = st[1] + kh * g->d[1];
                const float *row = src + (id * g->in[1] + ih) * g->in[2];
                for (long long kw = lo[2]; kw < hi[2]; kw++) {
                    long long iw = st[2] + kw * g->d[2];
                    if (best < 0 || row[iw] > m) {
                        m = row[iw];
                        best = (id * g->in[1] + ih) * g->in[2] + iw;
                        best_so = g->storage_order ? id + g->in[0] * (ih + g->in[1] * iw) : best;
                    }
                }
            }
        }
        if (y) y[t] = m;
        if (idx) idx[t] = (int64_t)(p * g->in_sz + (best_so < 0 ? 0 : best_so));
        if (arg) arg[t] = (int32_t)best;
    } else {
        double acc = 0;
        for (long long kd = lo[0]; kd < hi[0]; kd++)
            for (long long kh = lo[1]; kh < hi[1]; kh++) {
                const float *row = src + ((st[0] + kd) * g->in[1] + st[1] + kh) * g->in[2] + st[2];
                for (long long kw = lo[2]; kw < hi[2]; kw++) acc += row[kw];
            }
        long long cnt = jt_pc_avg_count(g, st);
        y[t] = cnt > 0 ? (float)(acc / (double)cnt) : 0.0f;
    }
}

/* dX element t (over planes * in_sz): the windows containing it in window order (od, oh, ow ascending);
 * MaxPool (arg given) adds dY where the window's argmax is this element, AveragePool adds dY / count.
 * Tap k (descending) of an axis covers output o = (pos + pb - k d) / s when that divides. */
JT_HD float jt_pc_grad_one(const jt_cuda_pool_geom *g, const float *dy, const int32_t *arg, long long t) {
    long long p = t / g->in_sz, i = t % g->in_sz;
    long long pos[3] = {i / (g->in[2] * g->in[1]), (i / g->in[2]) % g->in[1], i % g->in[2]};
    const float *gy = dy + p * g->out_sz;
    const int32_t *ar = arg ? arg + p * g->out_sz : 0;
    float acc = 0.0f;
    for (long long kd = g->k[0] - 1; kd >= 0; kd--) {
        long long nd = pos[0] + g->pb[0] - kd * g->d[0];
        if (nd < 0 || nd % g->s[0] != 0 || nd / g->s[0] >= g->out[0]) continue;
        long long od = nd / g->s[0];
        for (long long kh = g->k[1] - 1; kh >= 0; kh--) {
            long long nh = pos[1] + g->pb[1] - kh * g->d[1];
            if (nh < 0 || nh % g->s[1] != 0 || nh / g->s[1] >= g->out[1]) continue;
            long long oh = nh / g->s[1];
            for (long long kw = g->k[2] - 1; kw >= 0; kw--) {
                long long nw = pos[2] + g->pb[2] - kw * g->d[2];
                if (nw < 0 || nw % g->s[2] != 0 || nw / g->s[2] >= g->out[2]) continue;
                long long ow = nw / g->s[2];
                long long o = (od * g->out[1] + oh) * g->out[2] + ow;
                if (ar) {
                    if (ar[o] == (int32_t)i) acc += gy[o];
                } else {
                    long long st[3] = {od * g->s[0] - g->pb[0], oh * g->s[1] - g->pb[1], ow * g->s[2] - g->pb[2]};
                    long long cnt = jt_pc_avg_count(g, st);
                    if (cnt > 0) acc += (float)((double)gy[o] / (double)cnt);
                }
            }
        }
    }
    return acc;
}

#endif
