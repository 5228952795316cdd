#!/usr/bin/env python3
"""Checks that no target includes a header of a target it does not link.

The manifest (written by tests/layering/CMakeLists.txt at configure time) lists
every target of the project: name, type, source folder, sources and link
closure (what it links, plus what those link PUBLIC or INTERFACE). A header
belongs to the target that compiles its .cpp/.cc counterpart; a header without
one belongs to the libraries with sources in its folder (or, failing that, to
the library whose source folder contains it). A target's files are its sources
and the headers it owns; each quoted #include in them must resolve to a file
of the target itself, of a target in its closure, or of no target at all
(test helpers, third-party code).

Usage: check_layering.py MANIFEST SOURCE_ROOT BINARY_ROOT
"""
import os
import re
import sys
from dataclasses import dataclass, field

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
LIBRARY_TYPES = {"STATIC_LIBRARY", "SHARED_LIBRARY", "OBJECT_LIBRARY"}
HEADER_SUFFIXES = (".h", ".hpp")
SOURCE_SUFFIXES = (".cpp", ".cc")


@dataclass
class Target:
    name: str
    type: str
    source_dir: str
    sources: list = field(default_factory=list)
    closure: list = field(default_factory=list)


def load_manifest(path):
    targets = {}
    with open(path, encoding="utf-8") as manifest:
        for line in manifest:
            line = line.rstrip("\n")
            if not line:
                continue
            name, type_, source_dir, sources, closure = (line.split("\t") + [""] * 5)[:5]
            targets[name] = Target(name, type_, os.path.normpath(source_dir),
                                   [os.path.normpath(s) for s in sources.split(";") if s],
                                   [c for c in closure.split(";") if c])
    return targets


def counterparts(header):
    """The source files whose header `header` is: x.h -> x.cpp, x.cc; x.pb.h -> x.pb.cc."""
    stem = header
    for suffix in HEADER_SUFFIXES:
        if header.endswith(suffix):
            stem = header[: -len(suffix)]
            break
    return [stem + suffix for suffix in SOURCE_SUFFIXES]


class Ownership:
    def __init__(self, targets, source_root):
        self.targets = targets
        self.source_root = os.path.normpath(source_root)
        self.by_source = {}
        self.libraries_by_dir = {}
        for target in targets.values():
            for source in target.sources:
                self.by_source.setdefault(source, set()).add(target.name)
                if target.type in LIBRARY_TYPES:
                    self.libraries_by_dir.setdefault(os.path.dirname(source), set()).add(target.name)

    def owners(self, path):
        """The targets a file belongs to (empty: none)."""
        path = os.path.normpath(path)
        if path in self.by_source:
            return self.by_source[path]
        if path.endswith(HEADER_SUFFIXES):
            for source in counterparts(path):
                if source in self.by_source:
                    return self.by_source[source]
            folder = os.path.dirname(path)
            if folder in self.libraries_by_dir:
                return self.libraries_by_dir[folder]
            containing = [t for t in self.targets.values()
                          if t.type in LIBRARY_TYPES and t.source_dir != self.source_root
                          and folder.startswith(t.source_dir + os.sep)]
            if containing:
                deepest = max(len(t.source_dir) for t in containing)
                return {t.name for t in containing if len(t.source_dir) == deepest}
        return set()


def resolve(include, including_file, roots):
    for root in roots + [os.path.dirname(including_file)]:
        candidate = os.path.normpath(os.path.join(root, include))
        if os.path.isfile(candidate):
            return candidate
    return None


def owned_headers(target, ownership, source_root):
    """Headers in the target's folders that belong to it."""
    folders = {os.path.dirname(s) for s in target.sources if s.startswith(source_root + os.sep)}
    headers = []
    for folder in sorted(folders):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.endswith(HEADER_SUFFIXES) and target.name in ownership.owners(path):
                headers.append(path)
    return headers


def check(targets, source_root, binary_root):
    """Returns one line per include that crosses the layering."""
    source_root = os.path.normpath(source_root)
    binary_root = os.path.normpath(binary_root)
    ownership = Ownership(targets, source_root)
    allowed = {name: {name, *t.closure} for name, t in targets.items()}
    violations = []
    checked = set()
    for target in sorted(targets.values(), key=lambda t: t.name):
        if not target.source_dir.startswith(source_root) or target.source_dir.startswith(binary_root):
            continue
        files = [s for s in target.sources if s.startswith(source_root + os.sep)
                 and not s.startswith(binary_root + os.sep) and os.path.isfile(s)]
        files += owned_headers(target, ownership, source_root)
        for path in files:
            if path in checked:
                continue
            checked.add(path)
            owners = ownership.owners(path) or {target.name}
            may_include = set().union(*(allowed.get(owner, {owner}) for owner in owners))
            with open(path, encoding="utf-8", errors="replace") as source:
                text = source.read()
            for include in INCLUDE.findall(text):
                resolved = resolve(include, path, [source_root, binary_root])
                if resolved is None:
                    continue
                included_owners = ownership.owners(resolved)
                if not included_owners or included_owners & may_include:
                    continue
                violations.append(
                    f"{os.path.relpath(path, source_root)} ({', '.join(sorted(owners))}) includes "
                    f"\"{include}\" of {', '.join(sorted(included_owners))}, "
                    f"which {' / '.join(sorted(owners))} does not link")
    return violations


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    violations = check(load_manifest(argv[1]), argv[2], argv[3])
    for line in violations:
        print(line)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
