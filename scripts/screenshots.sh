#!/usr/bin/env bash
# The README's two pictures, from the committed results: the top of one run's report.html, and
# of the class table `concbench collect` makes of the merge sort runs of every machine. Headless Chromium (Debian's package)
# takes each screenshot of the first 1280 x 1700 px of the page, with the network off.
#   bash scripts/screenshots.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/concbench}
[ -x "$bin" ] || cargo build --release -q
chrome=$(command -v chromium || command -v chromium-browser)
mkdir -p docs/images
class=$(mktemp -d)
trap 'rm -rf "$class"' EXIT
# One workload from every machine the results hold: the development VM, the 16-core machine, a
# namespace host of the MPI runs and the Windows build under Wine.
mergesorts=()
for f in results/mergesort results/16-cores/mergesort results/distributed/two-hosts/mergesort \
    results/windows-wine/mergesort; do
  [ -f "$f/results.json" ] && mergesorts+=("$f")
done
"$bin" collect "${mergesorts[@]}" --quiet --out "$class/class" > /dev/null
shot() {
  "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --host-resolver-rules='MAP * ~NOTFOUND' --hide-scrollbars --window-size=1280,1700 \
    --screenshot="$2" "file://$(realpath "$1")" 2> /dev/null
  echo "wrote $2 ($(( $(stat -c %s "$2") / 1024 )) KiB) from $1"
}
shot results/mergesort/report.html docs/images/report-mergesort.png
shot "$class/class/report.html" docs/images/collect-class.png
