"""Every repository path the docs, SQL files and code comments name exists (issue 23, item 2).

A file that moves or is renamed leaves its old name behind in prose nobody runs:
`gateway/token_digest.js` stayed in the README and in devstack/system-deps.sh after it became
gateway/request_checks.js, and `supabase/local/bootstrap.sql` in two SQL files after it moved
to devstack/supabase/. A newcomer who follows such a name finds nothing. This test reads what
people read (Markdown and SQL whole; the comments and docstrings of Python; the comments of
JavaScript, shell, Makefiles, Dockerfiles, nginx, Terraform, YAML and TOML) and fails naming
each path that does not exist:

- a path under one of the repository's top-level folders (`gateway/...`), with `*` as a glob
  that must match something;
- a Markdown link's relative target, from the page's own folder;
- a bare source file name (`request_checks.js`, `bootstrap.sql`), which some file must carry;
- a section of a page (`security.md, "Limits and timeouts"`, `README "Dependencies"`), whose
  page must have a heading that starts so.

Placeholders are written in angle brackets (`services/<name>/pyproject.toml`,
`bench/<name>.py`) and are not checked past them. The repository's files are git's
(tracked or new, never ignored), so a path that exists only as a local build product does
not count."""
from __future__ import annotations

import ast
import fnmatch
import io
import re
import subprocess
import tokenize
from functools import cache
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]

# Third-party files copied unchanged (their comments name their own repositories' files),
# and this file, which names the stale paths it was written against.
NOT_CHECKED = ("gateway/dashboard/vendor/", "tests/unit/test_doc_paths.py")
# The design note records a proposal: the files it names (setup.sh, a Next.js app) were
# planned, never made; its paths under our folders are still checked.
BARE_NAMES_NOT_CHECKED = ("docs/migration-strategy.md",)

WHOLE_TEXT = (".md", ".sql")
HASH_COMMENTS = (".sh", ".conf", ".template", ".tf", ".yml", ".yaml", ".toml", ".example")
HASH_COMMENT_FILES = ("Makefile", "Dockerfile")
BARE_EXTENSIONS = ("py", "js", "sql", "sh", "md")

# Characters that, just before a match, make it part of something else: a URL or an
# absolute path (`/docs/`), a package (`@supabase/supabase-js`), a variable (`$HOME/x`),
# another path (`.dev/logs`), a glob (`*_write_fence.sql`), a placeholder
# (`<timestamp>_name.sql`).
NOT_AFTER = r"(?<![\w./$@*~>-])"


@cache
def repo_files() -> tuple[str, ...]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    return tuple(f for f in listed if (ROOT / f).is_file())


@cache
def existing() -> frozenset[str]:
    """Every file and folder of the repository, as relative POSIX paths."""
    paths = set(repo_files())
    for f in repo_files():
        paths.update(str(parent) for parent in PurePosixPath(f).parents if str(parent) != ".")
    return frozenset(paths)


@cache
def path_pattern() -> re.Pattern[str]:
    tops = sorted({f.split("/")[0] for f in repo_files() if "/" in f}, key=len, reverse=True)
    return re.compile(NOT_AFTER + r"((?:" + "|".join(map(re.escape, tops)) + r")/[\w./*-]*)")


BARE_NAME = re.compile(NOT_AFTER + r"([\w-]+\.(?:" + "|".join(BARE_EXTENSIONS) + r"))(?![\w/*-])")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
SECTION = re.compile(
    r"(?<![\w/.-])([\w/.-]*(?:README|\.md))(?:\.md)?\)?`?,? (?:section )?\"([^\"]+)\"")


@cache
def readable_text(path: str) -> list[tuple[int, str]]:
    """The (line number, text) pairs people read in this file: all of it, or its comments."""
    name = PurePosixPath(path).name
    text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
    if path.endswith(WHOLE_TEXT):
        return list(enumerate(text.splitlines(), 1))
    if path.endswith(".py"):
        return python_comments(text)
    if path.endswith(".js"):
        return regex_comments(text, re.compile(r"(?<![:\\])//[^\n]*|/\*.*?\*/", re.S))
    if path.endswith(HASH_COMMENTS) or name in HASH_COMMENT_FILES:
        return regex_comments(text, re.compile(r"(?:^|(?<=\s))#[^\n]*", re.M))
    return []


def python_comments(text: str) -> list[tuple[int, str]]:
    found = [(tok.start[0], tok.string)
             for tok in tokenize.generate_tokens(io.StringIO(text).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines = body[0].value.value.splitlines()
                found += [(body[0].lineno + i, line) for i, line in enumerate(lines)]
    return found


def regex_comments(text: str, comment: re.Pattern[str]) -> list[tuple[int, str]]:
    found = []
    for match in comment.finditer(text):
        first = text.count("\n", 0, match.start()) + 1
        found += [(first + i, line) for i, line in enumerate(match.group(0).splitlines())]
    return found


def checked_files() -> list[str]:
    return [f for f in repo_files() if not f.startswith(NOT_CHECKED)]


def path_exists(path: str) -> bool:
    """A file or folder, a glob matching one, or a Python file and a name in it
    (`shared/travel_platform/rate_limits.password_attempt`)."""
    path = path.rstrip("/")
    if "*" in path:
        return any(fnmatch.fnmatchcase(f, path) for f in existing())
    module, _, attribute = path.rpartition(".")
    return path in existing() or (attribute.isidentifier() and f"{module}.py" in existing())


def missing_paths() -> list[str]:
    missing = []
    for f in checked_files():
        for number, line in readable_text(f):
            for match in path_pattern().finditer(line):
                named = match.group(1).rstrip(".")
                if not path_exists(named):
                    missing.append(f"{f}:{number}: {named}")
    return missing


def broken_links() -> list[str]:
    broken = []
    for f in checked_files():
        if not f.endswith(".md"):
            continue
        for number, line in readable_text(f):
            for match in MD_LINK.finditer(line):
                target = match.group(1).split("#")[0]
                if not target or re.match(r"[a-z]+:", target):
                    continue
                resolved = (ROOT / PurePosixPath(f).parent / target).resolve()
                if not resolved.is_relative_to(ROOT) or \
                        not path_exists(resolved.relative_to(ROOT).as_posix()):
                    broken.append(f"{f}:{number}: {match.group(1)}")
    return broken


def unknown_file_names() -> list[str]:
    names = {PurePosixPath(f).name for f in repo_files()}
    unknown = []
    for f in checked_files():
        if f in BARE_NAMES_NOT_CHECKED:
            continue
        for number, line in readable_text(f):
            for match in BARE_NAME.finditer(line):
                if match.group(1) not in names:
                    unknown.append(f"{f}:{number}: {match.group(1)}")
    return unknown


def page_named(name: str, by: str) -> Path | None:
    """The page a reference names: `README` is the front page; a path is from the
    repository's root or from the referring file's folder; a bare name is the one page so
    called."""
    name = "README.md" if name == "README" else name
    for candidate in (ROOT / name, ROOT / PurePosixPath(by).parent / name):
        if candidate.is_file():
            return candidate
    pages = [f for f in repo_files() if PurePosixPath(f).name == name]
    return ROOT / pages[0] if len(pages) == 1 else None


def headings(page: Path) -> list[str]:
    return [line.lstrip("#").strip().replace("`", "")
            for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("#")]


def missing_sections() -> list[str]:
    missing = []
    for f in checked_files():
        for number, line in readable_text(f):
            for match in SECTION.finditer(line):
                page = page_named(match.group(1), f)
                title = match.group(2).replace("`", "")
                if page is None or not any(h.startswith(title) for h in headings(page)):
                    missing.append(f"{f}:{number}: {match.group(1)}, \"{match.group(2)}\"")
    return missing


def test_every_repository_path_named_exists() -> None:
    missing = missing_paths()
    assert not missing, "paths named but not in the repository:\n" + "\n".join(missing)


def test_every_markdown_link_leads_somewhere() -> None:
    broken = broken_links()
    assert not broken, "links to nothing:\n" + "\n".join(broken)


def test_every_source_file_name_named_exists() -> None:
    unknown = unknown_file_names()
    assert not unknown, "file names no file carries:\n" + "\n".join(unknown)


def test_every_section_named_is_a_heading_of_its_page() -> None:
    missing = missing_sections()
    assert not missing, "sections named but not on their page:\n" + "\n".join(missing)
