"""Every pointer from the code to a section of the docs names a heading that exists.

Comments, docstrings, help texts and error messages point a reader at a section as
`docs/<file>.md, "<heading>"` (or the same with README.md; quotes single or double). Sections get
renamed and moved; this keeps the pointers from going stale, and refuses the older forms
("README, Performance", "the README's Results section") that named no file that has them.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted(path for folder in ("colornet", "benchmarks", "tests", "Version_1",
                                     "Final_Version")
                 for path in (ROOT / folder).rglob("*.py"))
POINTER = re.compile(r"""\b((?:docs/\w+|README)\.md),\s+(["'])(.+?)\2""")
# A pointer into the README by a section's name alone, in any of the forms used before.
VAGUE = re.compile(r"""README(?:, |'s )(?:["'][A-Z]|[A-Z]\w+( section|\)|,|\.))""")


def headings(markdown):
    """The text of every Markdown heading of `markdown`, outside fenced code."""
    found, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            found.add(line.lstrip("#").strip())
    return found


def source_text(path):
    # Joined across comment and string continuations, so a pointer split over two lines counts.
    text = path.read_text(encoding="utf-8")
    return re.sub(r"""["']?\s*\n\s*(?:#\s*|["'])?""", " ", text)


def test_every_pointer_to_a_docs_section_names_a_heading_of_that_file():
    pointers = [(path, file, heading) for path in SOURCES
                for file, _, heading in POINTER.findall(source_text(path))]
    assert len(pointers) >= 20  # the check would pass vacuously if the pattern stopped matching
    missing = [f"{path.relative_to(ROOT)}: {file}, {heading!r}" for path, file, heading in pointers
               if heading not in headings((ROOT / file).read_text(encoding="utf-8"))]
    assert not missing, missing


def test_no_pointer_names_a_readme_section_by_name_alone():
    vague = [f"{path.relative_to(ROOT)}: {match.group(0)!r}" for path in SOURCES
             if path.name != "test_doc_pointers.py"
             for match in VAGUE.finditer(source_text(path))]
    assert not vague, vague


def test_headings_skip_fenced_code():
    assert headings("# Real\n```bash\n# a comment\n```\n## Also real\n") == {"Real", "Also real"}
