#!/usr/bin/env python3
"""Check META.json against the PGXN Meta Spec 1.0.0 and the control file.

Prints TAP.  The spec's rules checked here: the mandatory keys and their
types, SemVer versions, a known license string, provides entries with a
file and a version, prereq phases and relations from the spec's lists; and
ours: the distribution version equals the control file's default_version,
and every provided file exists.  Then the release archive that `make dist`
makes for PGXN (packaging/make-dist.sh): one top folder
pg_container-VERSION holding this META.json, the provided files and the
build files; and the Debian package's version (debian/changelog) is the
same.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

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

changelog = open(os.path.join(ROOT, "debian", "changelog")).readline()
check(re.match(r"^pg-container \(" + re.escape(default_version) + r"\) ", changelog),
      "debian/changelog's version is the control file's default_version")

skip = None
with tempfile.TemporaryDirectory() as out:
    try:
        in_git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "-q", "HEAD"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    except FileNotFoundError:
        in_git = False
    if not in_git:
        skip = "not a git checkout (or no git): make dist archives a commit"
    else:
        made = subprocess.run([os.path.join(ROOT, "packaging", "make-dist.sh"), out],
                              capture_output=True, text=True)
        check(made.returncode == 0, "make dist succeeds")
        archive = made.stdout.strip().splitlines()[-1] if made.stdout.strip() else ""
        top = f"pg_container-{meta.get('version')}/"
        check(os.path.basename(archive) == f"pg_container-{meta.get('version')}.zip",
              "make dist names the archive pg_container-VERSION.zip")
        names = zipfile.ZipFile(archive).namelist() if os.path.isfile(archive) else []
        check(names and all(n.startswith(top) for n in names), f"every file of the archive is under {top}")
        inside = json.loads(zipfile.ZipFile(archive).read(top + "META.json")) if top + "META.json" in names else None
        check(inside == meta, "the archive's META.json is this one")
        wanted = ["Makefile", "pg_container.control"] + [p.get("file", "") for p in (provides or {}).values()] \
            + [p["docfile"] for p in (provides or {}).values() if "docfile" in p]
        for w in wanted:
            check(top + w in names, f"the archive holds {w}")

n = len(checks) + (1 if skip else 0)
print(f"1..{n}")
for i, (ok, desc) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - META.json: {desc}")
if skip:
    print(f"ok {n} - make dist # SKIP {skip}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
