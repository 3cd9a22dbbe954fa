#!/usr/bin/env bash
# The Windows build of concbench, run under Wine on this Linux machine: a third "machine" in the
# committed results (its machine block says Windows, Wine's version and the same CPU), so that
# `concbench collect results/` has files from Linux, from namespace hosts and from Windows.
#   bash results/regenerate-wine.sh
# Needs Debian's wine64 and gcc-mingw-w64-x86-64 (see tests/wine/smoke.sh, which it reuses for
# the stand-in DLL), and the x86_64-pc-windows-gnu target (rustup target add). Wine is a test
# harness, not a platform concbench ships for: process creation under it is slow, so these rows
# measure Wine as much as Windows' scheduler; they are here to be collected, not to be cited.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --target x86_64-pc-windows-gnu
dir="${CARGO_TARGET_DIR:-target}/x86_64-pc-windows-gnu/release"
if [ ! -f "$dir/bcryptprimitives.dll" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -o "$dir/bcryptprimitives.dll" \
    tests/wine/processprng.c tests/wine/processprng.def -lbcrypt
fi
export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$HOME/.wine-concbench}"
out=results/windows-wine
rm -rf "$out"
mkdir -p "$out"
for spec in "mergesort --size 1000000" "io --size 32 --wait-ms 20"; do
  w=${spec%% *}
  echo "== $w under Wine"
  # shellcheck disable=SC2086 # the spec is words
  timeout 900 /usr/lib/wine/wine64 "$dir/concbench.exe" run --workload $spec --cores 1,2 \
    --quiet --out "$out/$w" > /dev/null
done
echo "done: $(date -u +%FT%TZ)"
