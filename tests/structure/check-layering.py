#!/usr/bin/env python3
"""Checks the rules of docs/architecture.md against the includes and sizes of the source tree.

  check-layering.py [REPO]      exit 1 and one line per broken rule

Layers, lowest first; a file may include its own folder and any folder of a lower layer:
  core/ < pipeline/ < formats/ < clients/, delta/ < stores/ < inputs/, filters/, outputs/ < cli/
formats/ and clients/ and delta/ and stores/ are "below the stages": what two stages share.
Tests may also include tests/support/; tests/stages/ may include stages.
"""
import pathlib
import re
import sys

repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
# folder -> what it may include besides itself
ALLOWED = {
    "core": set(),
    "pipeline": {"core"},
    "formats": {"core", "pipeline"},
    "clients": {"core", "pipeline", "formats"},
    "delta": {"core", "pipeline", "formats"},
    "stores": {"core", "pipeline", "formats", "delta", "clients"},
    "inputs": {"core", "pipeline", "formats", "delta", "clients", "stores"},
    "filters": {"core", "pipeline", "formats", "delta", "clients", "stores"},
    "outputs": {"core", "pipeline", "formats", "delta", "clients", "stores"},
    "cli": {"core", "pipeline", "formats", "delta", "clients", "stores", "inputs", "filters", "outputs"},
    "fuzz": {"core", "pipeline", "formats", "delta", "clients", "stores"},
    "tests": {"core", "pipeline", "formats", "delta", "clients", "stores", "inputs", "filters", "outputs"},
}
MAX_LINES = 500
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

problems = []
for path in sorted(repo.rglob("*")):
    if path.suffix not in (".cc", ".h") or not path.is_file():
        continue
    rel = path.relative_to(repo)
    top = rel.parts[0]
    if top not in ALLOWED or rel.parts[:2] == ("tests", "structure"):
        continue  # build directories, caches; the check's own broken tree
    text = path.read_text(errors="replace")
    lines = text.count("\n")
    if lines > MAX_LINES:
        problems.append(f"{rel}: {lines} lines, more than {MAX_LINES}")
    is_test = rel.name.endswith("_test.cc") or top in ("tests", "fuzz")
    for target in include.findall(text):
        other = target.split("/")[0]
        if other == top:
            continue
        if other == "tests" and is_test and target.startswith("tests/support/"):
            continue
        if other not in ALLOWED[top]:
            problems.append(f"{rel}: includes {target}: {top}/ may not include {other}/")
    if top == "tests" and len(rel.parts) > 1 and rel.parts[1] != "stages":
        for target in include.findall(text):
            if target.split("/")[0] in ("inputs", "filters", "outputs"):
                problems.append(f"{rel}: includes {target}: only tests/stages/ drives stages directly")

# The composition root: only cli/ names the register_* functions of the built-in stages.
for path in sorted(repo.rglob("*.cc")):
    rel = path.relative_to(repo)
    if rel.parts[:2] == ("tests", "structure"):
        continue
    if rel.parts[0] in ALLOWED and rel.parts[0] not in ("cli", "inputs", "filters", "outputs", "tests"):
        if re.search(r"\bregister_\w+_(input|inputs|filter|output|outputs)\s*\(", path.read_text(errors="replace")):
            problems.append(f"{rel}: registers stages; only cli/builtin_stages.cc may")

for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"layering: every include of {repo} follows docs/architecture.md")
