/* Dataset readers: Fashion-MNIST facts from the spec (sizes, first labels, class counts, pixel mean
 * and std) on Debian's files when installed, opening by name, the loader over the real data, and
 * clear errors for missing, truncated and wrong-magic files. The other formats: test_formats.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "jatp/data.h"
#include "jatp/jatp.h"
#include "jt_test.h"

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_dataset tr = {0}, te = {0}, d0 = {0};
    FILE *probe = fopen(JT_FMNIST_DIR "/train-images-idx3-ubyte.gz", "rb");
    if (!probe) {
        jt_test_skip("data/fmnist", "Debian's dataset-fashion-mnist is not installed");
    } else {
        fclose(probe);
        if (jt_dataset_load_fmnist(ctx, NULL, 1, &tr) != JT_OK || jt_dataset_load_fmnist(ctx, NULL, 0, &te) != JT_OK) {
            jt_test_fail("data/fmnist", "%s", jt_ctx_error(ctx));
        } else {
            static const int first_train[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, first_test[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
            int ok = tr.n == 60000 && te.n == 10000 && tr.h == 28 && tr.w == 28 && tr.c == 1;
            for (int i = 0; i < 10 && ok; i++) ok = tr.labels[i] == first_train[i] && te.labels[i] == first_test[i];
            int counts[10] = {0};
            double sum = 0, sq = 0;
            for (int64_t i = 0; ok && i < tr.n; i++) counts[tr.labels[i]]++;
            for (int c = 0; ok && c < 10; c++) ok = counts[c] == 6000;
            size_t npix = (size_t)tr.n * 784;
            for (size_t k = 0; ok && k < npix; k++) {
                double v = tr.images[k] / 255.0;
                sum += v;
                sq += v * v;
            }
            double mean = sum / (double)npix, sd = sqrt(sq / (double)npix - mean * mean);
            if (!ok || fabs(mean - 0.2860) > 5e-4 || fabs(sd - 0.3530) > 5e-4)
                jt_test_fail("data/fmnist", "n %lld/%lld, first labels or class counts wrong, or mean %.4f sd %.4f",
                             (long long)tr.n, (long long)te.n, mean, sd);
            else
                jt_test_ok("data/fmnist");
            float x[2 * 784];
            int64_t y[2], idx[2] = {0, 59999};
            jt_dataset_batch(&tr, idx, 2, x, y);
            if (y[0] != 9 || y[1] != tr.labels[59999] || x[0] < 0 || x[783] > 1)
                jt_test_fail("data/batch", "labels or pixel range wrong");
            else
                jt_test_ok("data/batch");
            int tcounts[10] = {0};
            for (int64_t i = 0; i < te.n; i++) tcounts[te.labels[i]]++;
            ok = te.n == 10000 && te.h == 28 && te.w == 28 && te.c == 1;
            for (int c = 0; ok && c < 10; c++) ok = tcounts[c] == 1000;
            if (!ok)
                jt_test_fail("data/fmnist_test_counts", "test split: %lld images, class counts off", (long long)te.n);
            else jt_test_ok("data/fmnist_test_counts");
            /* by name, and through the loader with the Fashion-MNIST recipe (pad 2, crop 28, flip) */
            jt_dataset byname = {0};
            if (jt_dataset_open(ctx, "fashion-mnist", NULL, 0, &byname) != JT_OK || byname.n != te.n ||
                memcmp(byname.images, te.images, (size_t)te.n * 784) || memcmp(byname.labels, te.labels, (size_t)te.n))
                jt_test_fail("data/open_fmnist", "%s", jt_ctx_error(ctx));
            else
                jt_test_ok("data/open_fmnist");
            jt_dataset_free(&byname);
            jt_loader_config lc;
            jt_loader_config_default(&lc);
            lc.crop_pad = 2;
            lc.flip = 1;
            lc.seed = 1;
            jt_loader *l = NULL;
            float *xb = malloc((size_t)128 * 784 * sizeof *xb);
            int64_t yb[128], ib[128];
            int cnt = 0;
            ok = jt_loader_create(ctx, &tr, &lc, &l) == JT_OK && jt_loader_batches_per_epoch(l) == 469 &&
                 jt_loader_batch(l, 0, 468, xb, yb, ib, &cnt) == JT_OK && cnt == 60000 - 468 * 128;
            for (int i = 0; ok && i < cnt; i++) {
                ok = yb[i] == tr.labels[ib[i]];
                for (int k = 0; ok && k < 784; k++) ok = xb[(size_t)i * 784 + k] >= 0 && xb[(size_t)i * 784 + k] <= 1;
            }
            if (!ok) jt_test_fail("data/fmnist_loader", "last batch of %d wrong: %s", cnt, jt_ctx_error(ctx));
            else jt_test_ok("data/fmnist_loader");
            jt_loader_free(l);
            free(xb);
        }
    }
    if (jt_dataset_open(ctx, "imagenet", NULL, 1, &d0) != JT_ERR_ARG || !strstr(jt_ctx_error(ctx), "imagenet"))
        jt_test_fail("data/open_unknown", "unknown dataset name accepted or unclear: %s", jt_ctx_error(ctx));
    else
        jt_test_ok("data/open_unknown");
    /* errors */
    jt_dataset d = {0};
    if (jt_dataset_load_idx(ctx, "/nonexistent/images.gz", "/nonexistent/labels.gz", &d) == JT_OK ||
        !strstr(jt_ctx_error(ctx), "/nonexistent/images.gz"))
        jt_test_fail("data/missing_file", "no clear error: %s", jt_ctx_error(ctx));
    else
        jt_test_ok("data/missing_file");
    char dir[] = "/tmp/jatp-data-XXXXXX";
    if (mkdtemp(dir)) {
        char ip[256], lp[256];
        snprintf(ip, sizeof ip, "%s/img.gz", dir);
        snprintf(lp, sizeof lp, "%s/lab.gz", dir);
        gzFile f = gzopen(ip, "wb");
        unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28};
        gzwrite(f, hdr, 16);
        gzwrite(f, hdr, 10); /* far too few pixels */
        gzclose(f);
        f = gzopen(lp, "wb");
        unsigned char lh[10] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2};
        gzwrite(f, lh, 10);
        gzclose(f);
        if (jt_dataset_load_idx(ctx, ip, lp, &d) == JT_OK || !strstr(jt_ctx_error(ctx), "img.gz"))
            jt_test_fail("data/truncated", "accepted or unclear: %s", jt_ctx_error(ctx));
        else
            jt_test_ok("data/truncated");
        if (jt_dataset_load_idx(ctx, lp, ip, &d) == JT_OK || !strstr(jt_ctx_error(ctx), "magic"))
            jt_test_fail("data/wrong_magic", "accepted or unclear: %s", jt_ctx_error(ctx));
        else
            jt_test_ok("data/wrong_magic");
        remove(ip);
        remove(lp);
        remove(dir);
    }
    jt_dataset_free(&tr);
    jt_dataset_free(&te);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
