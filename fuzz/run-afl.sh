#!/usr/bin/env bash
# Runs AFL++ over the Wirestack stack through the SharpFuzz harness for a bounded time.
#
#   fuzz/run-afl.sh [SECONDS]        default 60
#
# As root it installs afl++ from Debian when afl-fuzz is missing. It restores the SharpFuzz CLI (a local dotnet
# tool, fuzz/.config/dotnet-tools.json), publishes fuzz/Wirestack.Fuzz, instruments Wirestack.dll and
# Wirestack.Wire.dll in the published copy, and runs afl-fuzz on fuzz/corpus with findings in fuzz/findings/.
# At the end it prints execs, paths and crashes, and lists crashing inputs: copy each into
# tests/Wirestack.Tests/Fuzzing/Crashers/ so that the suite replays it (StackFuzzerTests.AflInput_*).
# Environment: WIRESTACK_FUZZ_STRICT=1 also fails on the known, reported stack bugs (KnownStackBug).
set -euo pipefail
seconds="${1:-60}"
case "$seconds" in ''|*[!0-9]*) echo "run-afl.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! command -v afl-fuzz >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run-afl.sh: installing afl++ (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends afl++ >/dev/null
  else
    echo "run-afl.sh: afl-fuzz is not installed and I am not root to install it (apt-get install afl++)" >&2
    exit 1
  fi
fi

echo "run-afl.sh: restoring the SharpFuzz CLI and publishing the harness"
dotnet tool restore >/dev/null
out="$here/out"
rm -rf "$out"
dotnet publish Wirestack.Fuzz/Wirestack.Fuzz.csproj -c Release -o "$out" --nologo -v quiet >/dev/null

# SharpFuzz rewrites the assemblies in place, adding AFL's edge coverage to every branch. Only the stack is
# instrumented: coverage of the harness's own decoding would only be noise.
for assembly in Wirestack.dll Wirestack.Wire.dll; do
  dotnet tool run sharpfuzz "$out/$assembly"
done

findings="$here/findings"
rm -rf "$findings"
export AFL_SKIP_BIN_CHECK=1                      # the target is dotnet, not an afl-gcc binary
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1   # containers rarely let us set core_pattern
export AFL_SKIP_CPUFREQ=1
export AFL_NO_UI=1
export AFL_NO_AFFINITY=1
echo "run-afl.sh: afl-fuzz for ${seconds} s on $(ls corpus | wc -l) seed inputs"
status=0
afl-fuzz -V "$seconds" -i corpus -o "$findings" -t 10000 -m none -- dotnet "$out/Wirestack.Fuzz.dll" || status=$?

stats="$findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  echo "run-afl.sh: afl-fuzz wrote no statistics (exit $status)" >&2
  exit 1
fi

value() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
echo
echo "run-afl.sh: $(value run_time) s, $(value execs_done) execs ($(value execs_per_sec)/s), $(value corpus_count) paths," \
  "$(value saved_crashes) crashes, $(value saved_hangs) hangs, edges found $(value edges_found) of $(value total_edges)"
crashes=("$findings"/default/crashes/id:*)
if [ -e "${crashes[0]}" ]; then
  echo "run-afl.sh: crashing inputs (replay with: dotnet $out/Wirestack.Fuzz.dll --replay FILE):"
  printf '  %s\n' "${crashes[@]}"
  exit 3
fi
