#!/usr/bin/env bash
# `meson install` gives a usable library: install into a temporary prefix (DESTDIR), then compile and
# link a small consumer with `pkg-config --cflags --libs jatp` (shared library) and run it on the
# shipped Fashion-MNIST model.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok install/$1"; pass=$((pass + 1)); }
bad() { echo "FAIL install/$1: $2"; fail=$((fail + 1)); }

if ! meson install -C "$build" --destdir "$tmp/root" >"$tmp/install.log" 2>&1; then
    bad "meson install" "$(tail -3 "$tmp/install.log")"
    echo "$pass passed, $fail failed, 0 skipped"
    exit 1
fi
ok "meson install"
pc=$(find "$tmp/root" -name jatp.pc | head -1)
prefix="$tmp/root$(sed -n 's/^prefix=//p' "$pc")"
[ -f "$pc" ] && ok "jatp.pc installed" || bad "jatp.pc installed" "no jatp.pc under $tmp/root"
cat > "$tmp/consumer.c" <<'C'
#include <jatp/jatp.h>
#include <stdio.h>
int main(int argc, char **argv) {
    jt_ctx *ctx;
    jt_graph *g;
    jt_tensor x;
    jt_plan *p;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    if (jt_onnx_load(ctx, argv[1], NULL, &g) != JT_OK || jt_npy_read(ctx, argv[2], &x) != JT_OK ||
        jt_plan_create(ctx, g, &x, 1, NULL, &p) != JT_OK || jt_plan_run(p, &x, 1) != JT_OK) {
        fprintf(stderr, "%s\n", jt_ctx_error(ctx));
        return 1;
    }
    const float *y = jt_plan_output(p, 0)->data;
    int best = 0;
    for (int k = 1; k < 10; k++) if (y[k] > y[best]) best = k;
    printf("%d\n", best);
    (void)argc;
    return 0;
}
C
export PKG_CONFIG_PATH="$(dirname "$pc")"
flags=$(pkg-config --define-variable=prefix="$prefix" --cflags --libs jatp 2>"$tmp/pc.err")
if [ -z "$flags" ]; then
    bad "pkg-config" "$(cat "$tmp/pc.err")"
else
    # shellcheck disable=SC2086
    if cc -std=c17 -Wall -Wextra -Werror "$tmp/consumer.c" -o "$tmp/consumer" $flags 2>"$tmp/cc.err"; then
        out=$(LD_LIBRARY_PATH="$(dirname "$(dirname "$pc")")" "$tmp/consumer" "$root/models/onnx/fmnist_cnn.onnx" \
              "$root/tests/fixtures/models/fmnist_cnn/input_b2.npy" 2>&1)
        if [[ "$out" =~ ^[0-9]$ ]]; then ok "consumer built with pkg-config runs (class $out)"
        else bad "consumer run" "$out"; fi
    else
        bad "consumer compile" "$(head -5 "$tmp/cc.err")"
    fi
fi
# the shipped targets of `jatp reproduce` land in <prefix>/share/jatp/models, byte-identical
miss=""
for m in fmnist_trades_w8 fmnist_at_w8 fmnist_mart_w8 fmnist_cnn; do
    cmp -s "$prefix/share/jatp/models/$m.onnx" "$root/models/onnx/$m.onnx" || miss="$miss $m"
done
[ -z "$miss" ] && ok "shipped models installed" || bad "shipped models installed" "missing or different:$miss"
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" = 0 ]
