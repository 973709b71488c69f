#!/usr/bin/env bash
# The one command that runs every Wirestack test on a fresh Debian machine with the .NET 10 SDK.
# As root it first installs the Debian tools some tests use (tshark, iproute2, ncat, curl, openssl); without root
# those tests skip with a one-line reason. Prints a closing "N passed, N failed, N skipped" line.
set -euo pipefail
cd "$(dirname "$0")"

need=()
for tool in tshark:tshark ip:iproute2 ncat:ncat curl:curl openssl:openssl python3:python3 iperf3:iperf3 ping:iputils-ping; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test.sh: not root; tests needing ${need[*]} will skip"
  fi
fi

configuration="${CONFIGURATION:-Release}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test Wirestack.slnx -c "$configuration" --nologo 2>&1 | tee "$log" || status=$?

# Sum the per-assembly result lines into one closing line.
python3 - "$log" <<'PY' || true
import re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"Failed:\s+(\d+),\s+Passed:\s+(\d+),\s+Skipped:\s+(\d+)", line)
    if m:
        failed += int(m.group(1)); passed += int(m.group(2)); skipped += int(m.group(3))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
if [ "$status" -ne 0 ]; then
  echo "test.sh: dotnet test exited with status $status (a build error or failing tests; see above)"
  exit "$status"
fi

# The benchmark as a smoke check (issue 7): it must complete; its figures are not judged here.
echo "test.sh: smoke run of 'wirestack bench --quick'"
if ! dotnet run -c "$configuration" --no-build --project src/Wirestack.Cli -- bench --quick --json >"$log" 2>&1; then
  tail -n 30 "$log"
  echo "test.sh: 'wirestack bench --quick' failed"
  exit 1
fi
echo "test.sh: bench --quick completed"
exit 0
