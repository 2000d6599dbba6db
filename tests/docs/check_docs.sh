#!/usr/bin/env bash
# Generated documentation is current: docs/ops.md equals `jatp inspect --ops --markdown`, and every
# subcommand's --help works and is mentioned in docs/cli.md.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
jatp="$build/jatp"
pass=0 fail=0
if diff -q <("$jatp" inspect --ops --markdown) "$root/docs/ops.md" >/dev/null; then
    echo "ok docs/ops.md is current"; pass=$((pass + 1))
else
    echo "FAIL docs/ops.md is stale: run $jatp inspect --ops --markdown > docs/ops.md"; fail=$((fail + 1))
fi
for cmd in $("$jatp" --help | awk '/^commands:/{f=1; next} f && NF {print $1}'); do
    if "$jatp" "$cmd" --help >/dev/null 2>&1 && grep -q "jatp $cmd" "$root/docs/cli.md"; then
        echo "ok docs/cli.md covers jatp $cmd"; pass=$((pass + 1))
    else
        echo "FAIL jatp $cmd: --help fails or docs/cli.md does not mention it"; fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" = 0 ]
