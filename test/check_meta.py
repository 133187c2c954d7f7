#!/usr/bin/env python3
"""Check META.json against the PGXN Meta Spec 1.0.0 and the control file.

Prints TAP.  The spec's rules checked here: the mandatory keys and their
types, SemVer versions, a known license string, provides entries with a
file and a version, prereq phases and relations from the spec's lists; and
ours: the distribution version equals the control file's default_version,
and every provided file exists.
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd", "gfdl_1_2",
            "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1",
            "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source",
            "restricted", "unrestricted", "unknown"}
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}
STATUSES = {"stable", "testing", "unstable"}

checks = []


def check(cond, desc):
    checks.append((bool(cond), desc))


with open(os.path.join(ROOT, "META.json")) as f:
    meta = json.load(f)
control = open(os.path.join(ROOT, "pg_container.control")).read()
default_version = re.search(r"default_version\s*=\s*'([^']+)'", control).group(1)

check(isinstance(meta.get("name"), str) and re.match(r"^[A-Za-z][A-Za-z0-9_-]+$", meta["name"]), "name is a term")
check(isinstance(meta.get("abstract"), str) and meta["abstract"], "abstract is a non-empty string")
check(isinstance(meta.get("version"), str) and SEMVER.match(meta["version"]), "version is SemVer")
m = meta.get("maintainer")
check(isinstance(m, str) or (isinstance(m, list) and m and all(isinstance(x, str) for x in m)),
      "maintainer is a string or a list of strings")
lic = meta.get("license")
check((isinstance(lic, str) and lic in LICENSES) or isinstance(lic, (list, dict)), "license is known")
provides = meta.get("provides")
check(isinstance(provides, dict) and provides, "provides is a non-empty object")
for ext, p in (provides or {}).items():
    check(isinstance(p.get("file"), str) and isinstance(p.get("version"), str) and SEMVER.match(p["version"]),
          f"provides.{ext} has a file and a SemVer version")
    check(os.path.exists(os.path.join(ROOT, p.get("file", ""))), f"provides.{ext}.file exists")
    check(p.get("version") == default_version, f"provides.{ext}.version is the control file's default_version")
ms = meta.get("meta-spec", {})
check(ms.get("version") == "1.0.0", "meta-spec version is 1.0.0")
check(meta.get("version") == default_version, "version is the control file's default_version")
check(meta.get("release_status", "stable") in STATUSES, "release_status is known")
for phase, rels in meta.get("prereqs", {}).items():
    check(phase in PHASES, f"prereqs phase {phase} is known")
    for rel in rels:
        check(rel in RELATIONS, f"prereqs relation {phase}.{rel} is known")

print(f"1..{len(checks)}")
for i, (ok, desc) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - META.json: {desc}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
