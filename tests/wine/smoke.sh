#!/usr/bin/env bash
# The Windows build, run for real under Wine (a test harness: nothing of Wine ships).
#
#   tests/wine/smoke.sh            # from the project's root, after
#   cargo build --release --target x86_64-pc-windows-gnu
#
# Needs Debian's wine64 (/usr/lib/wine/wine64) and gcc-mingw-w64-x86-64. Rust's std on Windows
# imports ProcessPrng from bcryptprimitives.dll, which Wine 8 lacks: the stand-in DLL built here
# from processprng.c is placed beside concbench.exe. Every workload runs with --cores 1,2 at small
# sizes under all four strategies; each row must be verified, multi-threaded x2 must be seen on two
# distinct CPUs (where there are two), and the JSON table is printed. Then `list` and `timeline`.
# Process creation under Wine is slow (seconds for the first): keep the sizes small.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${CARGO_TARGET_DIR:-target}/x86_64-pc-windows-gnu/release"
exe="$dir/concbench.exe"
[ -f "$exe" ] || { echo "no $exe: cargo build --release --target x86_64-pc-windows-gnu first" >&2; exit 1; }
if [ ! -f "$dir/bcryptprimitives.dll" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -o "$dir/bcryptprimitives.dll" \
    tests/wine/processprng.c tests/wine/processprng.def -lbcrypt
fi
export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$HOME/.wine-concbench}"
wine() { timeout 600 /usr/lib/wine/wine64 "$exe" "$@"; }

wine list > /dev/null
echo "-- list: ok"
out=$(mktemp -d)
for spec in "mergesort --size 200000" "matmul --size 192" "io --size 16 --wait-ms 5"; do
  w=${spec%% *}
  # shellcheck disable=SC2086
  wine run --workload $spec --cores 1,2 --reps 3 --warmup 0 --format json > "$out/$w.json" 2> "$out/$w.err" \
    || { cat "$out/$w.err" >&2; exit 1; }
done
python3 - "$out" <<'EOF'
import json, os, sys
out = sys.argv[1]
want = ["sequential", "single-core-threaded", "multi-threaded", "multi-process"]
two = len(os.sched_getaffinity(0)) >= 2
print("| workload | strategy | cores | median | speedup | cpus seen | verified |")
print("|---|---|---|---|---|---|---|")
for w in ["mergesort", "matmul", "io"]:
    doc = json.load(open(os.path.join(out, w + ".json")))
    rows = doc["rows"]
    have = {r["strategy"] for r in rows}
    assert all(s in have for s in want), f"{w}: strategies {sorted(have)}"
    for r in rows:
        assert r["verified"], f"{w} {r['strategy']} x{r['cores']} not verified"
        print(f"| {w} | {r['strategy']} | {r['cores']} | {r['median_s'] * 1e3:.2f} ms "
              f"| {r['speedup']:.2f}x | {r['cpus']} | yes |")
    mt = [r for r in rows if r["strategy"] == "multi-threaded" and r["cores"] == 2]
    assert mt, f"{w}: no multi-threaded x2 row"
    if two:
        assert len(set(mt[0]["cpus"])) >= 2, f"{w}: multi-threaded x2 ran on CPUs {mt[0]['cpus']}"
machine = doc["machine"]
print(f"machine: {machine['cpu_model']}, {machine['os']} {machine['kernel']}; "
      + "; ".join(machine.get("platform_notes", [])))
EOF
grep -h "io waits" "$out/io.err" || true
wine timeline --threads 2 --placement one-core --duration-ms 100 | tail -n 6
wine timeline --threads 2 --placement spread --duration-ms 100 | tail -n 6
rm -rf "$out"
echo "-- wine smoke: ok"
