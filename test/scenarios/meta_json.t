#!/usr/bin/env bash
# META.json follows the PGXN Meta Spec 1.0.0 and agrees with the control file.
exec python3 "$(dirname "$0")/../check_meta.py"
