# TEST DOCS PY
# The documentation's structure, read without running a search: every
# cross-reference lands on a page and an anchor that exist; README's "Where
# to go next" links every docs/*.adoc page (tests/test_readme.py runs their
# commands in that order); its "Files" list names every tracked top-level
# *.py and *.sh file, and nothing that is not there; `main.sh -h` and
# README's command line name every option main.py takes.

import re
import subprocess

from conftest import BUNDLE, run_main
from doc_pages import DOCS, README, anchors, listed_pages, pages, references, section


def test_every_docs_page_is_linked_where_to_go_next() -> None:
    assert sorted(listed_pages()) == sorted(DOCS.glob("*.adoc"))


def test_every_cross_reference_lands() -> None:
    broken = []
    for page in pages():
        for target, anchor in references(page):
            if not target.is_file():
                broken.append(f"{page.name}: no page {target}")
            elif anchor and anchor not in anchors(target.read_text()):
                broken.append(f"{page.name}: no anchor {anchor!r} in {target.name}")
    assert not broken, "\n".join(broken)


def test_anchors_are_unique_within_a_page() -> None:
    for page in pages():
        ids = re.findall(r"\[\[([\w-]+)", page.read_text())
        assert len(ids) == len(set(ids)), f"{page.name}: an anchor given twice"


def files_listed() -> set[str]:
    """The names README's "Files" list gives (`a.py, b.py::` names two)."""
    entries = re.findall(r"^(\S[^\n]*?)::", section(README.read_text(), "Files"),
                         flags=re.MULTILINE)
    return {name.strip() for entry in entries for name in entry.split(",")}


def test_files_list_names_every_top_level_script() -> None:
    tracked = subprocess.run(["git", "-C", str(BUNDLE), "ls-files", "*.py", "*.sh"],
                             capture_output=True, text=True, check=True).stdout.split()
    missing = sorted({name for name in tracked if "/" not in name} - files_listed())
    assert not missing, f"README's Files list misses {missing}"


def test_files_list_names_only_what_exists() -> None:
    gone = sorted(name for name in files_listed() if not (BUNDLE / name).exists())
    assert not gone, f"README's Files list names what is not there: {gone}"


def test_help_and_readme_name_every_option() -> None:
    usage = run_main(["-h"], via="main.py").stdout.split("\n\n")[0]
    options = re.findall(r"\[(--?[\w-]+)", usage)
    assert "--resume" in options
    shown = {"main.sh -h": run_main(["-h"]).stdout,
             "README's command line": section(README.read_text(), "Command line")}
    for where, text in shown.items():
        for option in options:
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), \
                f"{where} does not name {option}"
