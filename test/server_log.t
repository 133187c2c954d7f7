#!/usr/bin/env bash
# The last stage of test/run-tests, after every other: across the whole
# suite (every fault, cancel, crash and restart), no backend was terminated
# by a signal other than the SIGKILLs the crash test sends on purpose.
source "$(dirname "$0")/lib/tap.sh"
plan 2

LOG="$PGC_WORK/postgres.log"
bad=$(grep 'terminated by signal' "$LOG" | grep -vc 'signal 9: Killed')
is "$bad" 0 "no backend died of a signal (segfault, abort) during the whole suite"
# PostgreSQL's own report, not a gateway's OOM kill that the log records.
is "$(grep -cE '(ERROR|FATAL|PANIC):  out of memory' "$LOG")" 0 "and none ran out of memory"
tap_exit
