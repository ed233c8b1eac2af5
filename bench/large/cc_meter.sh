#!/bin/sh
# The C compiler command bench/large gives `arcella run` (as CC): runs the real
# compiler ($ARCELLA_BENCH_CC, default cc) under /usr/bin/time and appends one
# line per compiler process to $ARCELLA_BENCH_CC_LOG:
#   <peak RSS KiB of the driver and its children (cc1, as, ld)> <wall s> <user s> <sys s>
# Arguments are passed through unchanged; the exit status is the compiler's.
log="${ARCELLA_BENCH_CC_LOG:-/dev/null}"
# shellcheck disable=SC2086  # ARCELLA_BENCH_CC may be a command with words ("ccache gcc")
exec /usr/bin/time -a -o "$log" -f '%M %e %U %S' ${ARCELLA_BENCH_CC:-cc} "$@"
