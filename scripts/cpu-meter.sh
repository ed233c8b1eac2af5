#!/usr/bin/env bash
# Compiler/linker launcher that logs the CPU time of every compile and link
# (docs/TESTING.md "Where the time goes"):
#   M=$PWD/scripts/cpu-meter.sh
#   cmake -S . -B b -DCMAKE_CXX_COMPILER_LAUNCHER=$M -DCMAKE_C_COMPILER_LAUNCHER=$M \
#     -DCMAKE_CXX_LINKER_LAUNCHER=$M -DCMAKE_C_LINKER_LAUNCHER=$M
#   CPU_METER_LOG=/tmp/b.cpu cmake --build b -j2
#   awk '{ s += $1 + $2 } END { print s " CPU-s" }' /tmp/b.cpu
# Each line of $CPU_METER_LOG: user-s sys-s max-RSS-KB output-file.
out=-
prev=
for a in "$@"; do
  [ "$prev" = -o ] && out=$a
  prev=$a
done
exec /usr/bin/time -a -o "${CPU_METER_LOG:-/dev/null}" -f "%U %S %M $out" "$@"
