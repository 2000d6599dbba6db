/* jatp bench: wall-clock benchmarks with fixed threads (docs/benchmarks.md).
 *
 *   jatp bench MODEL.onnx | --model NAME[:k=v,...]  [--pass fwd,fwdbwd,step] [--batch B]
 *   jatp bench --jatp-step TARGET [--denoiser rrdb-s] [--tap NAME] [--batch B]
 *   jatp bench --op Conv --shape N,C,H,W:K,C,R,S [--attrs "strides=1,1 pads=1,1,1,1"]
 *              [--pass fwd,bwd_data,bwd_filter]
 *   jatp bench --cases benchmarks/cases/resnet18_convs.txt
 *
 * Every run warms up, repeats until --min-time seconds and --min-runs runs, and reports the median,
 * p10 and p90 time, GFLOP/s (the ops' cost functions, multiply-add = 2), GB/s (op rows) and the share
 * of the measured FP32 peak. --json FILE / --csv FILE also write the rows (atomically; "-" = stdout). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "common/args.h"
#include "common/cli.h"

int cmd_bench(int argc, char **argv) {
    int batch = 0, threads = 0, prof = 0, warmup = 3, min_runs = 5, no_peak = 0, quiet = 0;
    const char *peak_s = NULL, *min_time_s = "0.5", *json = NULL, *csv = NULL, *model = NULL, *pass = NULL;
    const char *jatp_target = NULL, *denoiser = "rrdb-s", *tap = NULL;
    const char *op = NULL, *shape = NULL, *attrs = NULL, *cases = NULL, *device = "cpu";
    const char *pos[1] = {NULL};
    int npos = 0;
    const arg_opt opts[] = {
        {"--model", ARG_STR, "NAME[:k=v,...]", "bench a builder model (jatp export --list-models) instead of a file", &model},
        {"--pass", ARG_STR, "P,...", "model: fwd, fwdbwd, step (default fwd); op: fwd, bwd_data, bwd_filter, bwd", &pass},
        {"--batch", ARG_INT, "B", "batch size (default 1 for models, 128 for --jatp-step)", &batch},
        {"--jatp-step", ARG_STR, "TARGET", "time one JATP training step through frozen TARGET (builder name or .onnx)", &jatp_target},
        {"--denoiser", ARG_STR, "NAME[:k=v]", "P for --jatp-step (default rrdb-s)", &denoiser},
        {"--tap", ARG_STR, "NAME", "feature tap of an ONNX --jatp-step target (value or node name)", &tap},
        {"--op", ARG_STR, "OP", "bench one operator (with --shape, --attrs)", &op},
        {"--shape", ARG_STR, "S", "input shapes a,b,c:d,e,...; Gemm/MatMul also M,N,K", &shape},
        {"--attrs", ARG_STR, "\"k=v ...\"", "operator attributes (ints: 1,2; floats: 0.2; strings)", &attrs},
        {"--cases", ARG_STR, "FILE", "run the op cases listed in FILE (benchmarks/cases/*.txt)", &cases},
        {"--threads", ARG_INT, "T", "worker threads (default: all cores)", &threads},
        {"--min-time", ARG_STR, "SEC", "repeat until this much time has been measured (default 0.5)", &min_time_s},
        {"--min-runs", ARG_INT, "N", "at least this many timed runs (default 5)", &min_runs},
        {"--warmup", ARG_INT, "N", "untimed runs first (default 3)", &warmup},
        {"--profile", ARG_FLAG, NULL, "per-operator time breakdown of each model pass (on stderr)", &prof},
        {"--json", ARG_STR, "FILE", "write the rows as JSON (schema jatp.bench/2; - = stdout)", &json},
        {"--csv", ARG_STR, "FILE", "write the rows as CSV (- = stdout)", &csv},
        {"--peak-gflops", ARG_STR, "G", "use this FP32 peak for % of peak instead of measuring it", &peak_s},
        {"--no-peak", ARG_FLAG, NULL, "skip the FMA peak measurement (no % of peak)", &no_peak},
        {"--quiet", ARG_FLAG, NULL, "do not print the table", &quiet},
        {"--device", ARG_STR, "DEV", "cpu (default), cuda or cuda:N for model passes and --jatp-step", &device},
    };
    arg_spec spec = {"jatp bench",
                     "[MODEL.onnx | --model NAME | --jatp-step TARGET | --op OP --shape S | --cases FILE] [options]",
                     "Times model passes (fwd, fwdbwd = forward + backward w.r.t. input and parameters, step = one SGD "
                     "training step), one JATP training step (P in front of a frozen target, without the attack), or "
                     "single operators (fwd, bwd_data, bwd_filter) on random inputs, with fixed threads. Reports the "
                     "median, p10 and p90 time, GFLOP/s, GB/s and % of the FP32 peak measured in-process.",
                     opts, (int)(sizeof opts / sizeof opts[0]), pos, 0, 1, &npos};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    double min_time = atof(min_time_s);
    if (batch < 0 || min_time < 0 || min_runs < 1 || warmup < 0 || threads < 0) {
        fprintf(stderr, "jatp bench: --batch, --min-runs must be >= 1; --min-time, --warmup and --threads >= 0\n");
        return 2;
    }
    int modes = (npos > 0 || model) + (jatp_target != NULL) + (op != NULL || cases != NULL);
    if (modes != 1 || (npos > 0 && model)) {
        fprintf(stderr, "jatp bench: give exactly one of MODEL.onnx, --model, --jatp-step, --op/--cases "
                        "(see jatp bench --help)\n");
        return 2;
    }
    jt_ctx *ctx;
    if (cli_ctx(threads, &ctx)) return 1;
    bench_opts bo = {min_time, min_runs, warmup, NULL};
    if (strcmp(device, "cpu") != 0) {
        if (op || cases) {
            fprintf(stderr, "jatp bench: --op/--cases run on the CPU only (device op timing needs CUDA events)\n");
            jt_ctx_free(ctx);
            return 2;
        }
        if (jt_backend_create(ctx, device, &bo.backend) != JT_OK) {
            int code = jt_ctx_last_status(ctx) == JT_ERR_ARG ? 2 : 1;
            fprintf(stderr, "jatp bench: --device %s: %s\n", device, jt_ctx_error(ctx));
            jt_ctx_free(ctx);
            return code;
        }
    }
    bench_report r;
    bench_report_init(&r, ctx, !no_peak, peak_s ? atof(peak_s) : 0);
    /* with --json - or --csv - the table goes to stderr so that stdout stays machine-readable */
    FILE *tout = (json && !strcmp(json, "-")) || (csv && !strcmp(csv, "-")) ? stderr : stdout;
    if (!quiet) {
        bench_print_header(&r, tout);
        fflush(tout);
    }
    if (op || cases) {
        bench_op_args oa = {op, shape, attrs, pass, cases};
        rc = bench_ops(ctx, &oa, &bo, &r);
    } else {
        bench_model_args ma = {pos[0], model, pass, batch, prof, jatp_target, denoiser, tap};
        if (jatp_target) {
            if (!ma.batch) ma.batch = 128;
            if (pass && strcmp(pass, "step") != 0) {
                fprintf(stderr, "jatp bench: --jatp-step times the training step only (--pass step)\n");
                rc = 2;
            } else
                rc = bench_jatp_step(ctx, &ma, &bo, &r);
        } else {
            if (!ma.batch) ma.batch = 1;
            rc = bench_models(ctx, &ma, &bo, &r);
        }
    }
    if (!quiet && r.n_rows) bench_print_table(&r, tout);
    if (r.n_rows && json && bench_write_json(ctx, &r, json)) rc = rc ? rc : 1;
    if (r.n_rows && csv && bench_write_csv(ctx, &r, csv)) rc = rc ? rc : 1;
    bench_report_free(&r);
    jt_backend_free(bo.backend);
    jt_ctx_free(ctx);
    return rc;
}
