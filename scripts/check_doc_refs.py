#!/usr/bin/env python3
"""Fails on dangling references to the project's docs (a ctest test: DocReferences).

Usage: check_doc_refs.py [REPO_ROOT]   (default: the folder above this script)

Scans the repository's text files (git ls-files: tracked files and new ones not ignored) for
  - doc names: a path ending in a markdown name in capitals (README.md, docs/METHODS.md,
    ../README.md), resolved against the repository root, docs/, or the referencing file's
    folder. Lower-case .md names (such as build/quality/table.md) are files the programs write,
    not docs, and are not checked;
  - section citations: "METHODS.md section 4", "docs/DESIGN.md sections 2-3", also when the
    comment wraps between the name and the number: the cited file must have a heading "## N."
    for every N; a bare number right after the name of a doc with numbered sections is
    reported too, since it reads as a citation without the word "section";
  - markdown links in .md files: [text](target) and ![alt](target), resolved against the linking
    file's folder (as a markdown viewer does; a leading / means the repository root), with the
    #anchor checked against the target's headings when the target is a markdown file.
Prints every problem as FILE:LINE: problem and exits 1 if there is any, 0 otherwise.
"""
import os
import re
import subprocess
import sys

TEXT_SUFFIXES = {".h", ".cpp", ".comp", ".glsl", ".md", ".sh", ".py", ".txt", ".in", ".cmake", ".json", ".supp"}

DOC_NAME = r"/?(?:[\w.-]+/)*[A-Z][A-Z0-9_]*\.md"
# A doc name not inside a longer word or path: its leading folders belong to the match, and a name
# followed by another suffix (".md.json") is no doc name.
DOC_REF = re.compile(r"(?<![\w./$-])(" + DOC_NAME + r")(?![\w-]|\.\w)")
SECTION_CITE = re.compile(r"(?<![\w./$-])(" + DOC_NAME + r")(?:'s)?,?\s+sections?\s+"
                          r"(\d+(?:\s*(?:-|,|and|or|to)\s*\d+)*)")
BARE_NUMBER_CITE = re.compile(r"(?<![\w./$-])(" + DOC_NAME + r")\s+(\d+)\b(?![.,:]?\d)")
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
INLINE_CODE = re.compile(r"`[^`]*`")
COMMENT_PREFIX = re.compile(r"^\s*(?://+!?|#+|\*+|--)?\s*")
NUMBERED_HEADING = re.compile(r"^##\s+(\d+)\.(?:\s|$)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def repo_files(root):
    """Tracked files and untracked ones that git does not ignore, as paths relative to root."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"check_doc_refs: cannot list the files of {root} with git: {e}")
    names = {n.decode("utf-8", "replace") for n in out.split(b"\0") if n}
    return sorted(n for n in names if os.path.isfile(os.path.join(root, n)))


def is_text(root, rel):
    base = os.path.basename(rel)
    suffix = os.path.splitext(base)[1]
    if suffix in TEXT_SUFFIXES or base == "CMakeLists.txt":
        return True
    if suffix:
        return False
    with open(os.path.join(root, rel), "rb") as f:
        return f.read(2) == b"#!"


class Repo:
    def __init__(self, root):
        self.root = root
        self.files = repo_files(root)
        self.file_set = set(self.files)
        self.dirs = {os.path.dirname(f) for f in self.files}
        for d in list(self.dirs):
            while d:
                d = os.path.dirname(d)
                self.dirs.add(d)
        self.lines_cache = {}

    def lines(self, rel):
        if rel not in self.lines_cache:
            with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
                self.lines_cache[rel] = f.read().splitlines()
        return self.lines_cache[rel]

    def exists(self, rel):
        return rel in self.file_set or rel in self.dirs

    def resolve(self, ref, bases):
        """The repository path `ref` names, trying each base folder in turn; None if none has it."""
        if ref.startswith("/"):
            return None
        for base in bases:
            rel = os.path.normpath(os.path.join(base, ref))
            if rel == "." or rel.startswith(".."):
                continue
            if self.exists(rel):
                return rel
        return None

    def numbered_sections(self, doc):
        return {int(m.group(1)) for line in self.lines(doc) if (m := NUMBERED_HEADING.match(line))}

    def anchors(self, doc):
        """GitHub's heading ids: lower case, punctuation dropped, spaces to '-', repeats numbered."""
        seen, out, fenced = {}, set(), False
        for line in self.lines(doc):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            m = None if fenced else HEADING.match(line)
            if not m:
                continue
            slug = re.sub(r"[^\w\- ]", "", m.group(2).lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
        return out


def doc_bases(referrer):
    """Where a doc name may be relative to: the repository root, docs/, the referrer's folder."""
    return ["", "docs", os.path.dirname(referrer)]


def expand_numbers(text):
    """'2-3' -> [2, 3]; '1, 4 and 6' -> [1, 4, 6]."""
    numbers, parts = [], re.split(r"\s*(?:,|and|or)\s*", text)
    for part in parts:
        m = re.fullmatch(r"(\d+)\s*(?:-|to)\s*(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            numbers.extend(range(lo, hi + 1) if lo <= hi else [lo, hi])
        elif part.strip().isdigit():
            numbers.append(int(part))
    return numbers


def check_file(repo, rel):
    problems = set()
    lines = repo.lines(rel)
    markdown = rel.endswith(".md")
    fenced = False

    def check_doc_name(ref, line_no):
        if ref.startswith("/"):
            problems.add((line_no, f"{ref}: an absolute path; name a file of the repository"))
        elif repo.resolve(ref, doc_bases(rel)) is None:
            problems.add((line_no, f"{ref}: no such file in the repository, in docs/ or next to {rel}"))

    for i, line in enumerate(lines):
        line_no = i + 1
        text = URL.sub(" ", line)
        for m in DOC_REF.finditer(text):
            check_doc_name(m.group(1), line_no)

        # Citations may wrap onto the next line of a comment or paragraph.
        following = COMMENT_PREFIX.sub("", lines[i + 1]) if i + 1 < len(lines) else ""
        joined = text + " " + URL.sub(" ", following)
        for m in SECTION_CITE.finditer(joined):
            if m.start() >= len(text):
                continue
            target = repo.resolve(m.group(1), doc_bases(rel))
            if target is None:
                continue  # reported above as a missing file
            have = repo.numbered_sections(target)
            for n in expand_numbers(m.group(2)):
                if n not in have:
                    problems.add((line_no, f"{m.group(1)} section {n}: {target} has no heading '## {n}.'"))
        for m in BARE_NUMBER_CITE.finditer(joined):
            if m.start() >= len(text):
                continue
            target = repo.resolve(m.group(1), doc_bases(rel))
            if target is not None and repo.numbered_sections(target):
                problems.add((line_no, f"'{m.group(0)}': cite a section as '{m.group(1)} section {m.group(2)}'"))

        if not markdown:
            continue
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        for m in MD_LINK.finditer(INLINE_CODE.sub("", line)):
            link = m.group(1)
            if URL.match(link) or link.startswith("mailto:"):
                continue
            path, _, anchor = link.partition("#")
            if path:
                base = "" if path.startswith("/") else os.path.dirname(rel)
                target = repo.resolve(path.lstrip("/"), [base])
                if target is None:
                    problems.add((line_no, f"link ({link}): no such file relative to {os.path.dirname(rel) or '.'}/"))
                    continue
            else:
                target = rel
            if anchor and target.endswith(".md") and anchor not in repo.anchors(target):
                problems.add((line_no, f"link ({link}): {target} has no heading with the id '{anchor}'"))
    return sorted(problems)


def main(argv):
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(__file__), ".."))
    repo = Repo(root)
    scanned = [f for f in repo.files if is_text(root, f)]
    count = 0
    for rel in scanned:
        for line_no, problem in check_file(repo, rel):
            print(f"{rel}:{line_no}: {problem}")
            count += 1
    if count:
        print(f"check_doc_refs: {count} dangling doc reference(s) in {root}", file=sys.stderr)
        return 1
    print(f"check_doc_refs: every doc reference in {len(scanned)} files resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
