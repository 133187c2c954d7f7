#!/usr/bin/env bash
# The release archive PGXN takes: pg_container-VERSION.zip of the committed
# tree (git archive of HEAD), every file under pg_container-VERSION/, with
# META.json at its top.
#
#   make dist           or   packaging/make-dist.sh [OUTPUT_DIR]
#
# VERSION is META.json's, which test/check_meta.py holds equal to the
# control file's default_version.  The archive's path is the last line.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src}
git -C "$src" rev-parse --verify -q HEAD >/dev/null ||
	{ echo "error: make dist archives a commit: $src is not a git checkout with one" >&2; exit 1; }
version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$src/META.json")
mkdir -p "$out"
archive=$(cd "$out" && pwd)/pg_container-$version.zip
git -C "$src" archive --format=zip --prefix="pg_container-$version/" -o "$archive" HEAD
echo "$archive"
