# DOC PAGES PY
# The documentation, as the tests read it: README.adoc first, then the
# docs/*.adoc pages in the order README's "Where to go next" links them
# (a page added there is read, and its commands run, with no other change);
# a page's sections, its anchors and its cross-references (<<id>>,
# <<file.adoc#id,text>>, xref:file.adoc#id[text]), listings left out.

import re
from pathlib import Path

from conftest import BUNDLE

README = BUNDLE / "README.adoc"
DOCS = BUNDLE / "docs"
LISTING = re.compile(r"^----\n.*?^----$", flags=re.MULTILINE | re.DOTALL)
ANCHOR = re.compile(r"\[\[([\w-]+)(?:,[^\]\n]*)?\]\]|^\[#([\w-]+)\]", flags=re.MULTILINE)
SHORT_REF = re.compile(r"<<([\w./-]+?)(?:#([\w-]+))?(?:,[^>\n]*)?>>")
XREF = re.compile(r"xref:([\w./-]*?)(?:#([\w-]+))?\[")


def section(text: str, title: str) -> str:
    """The text of the level-1 section `== title`, up to the next one."""
    found = re.search(rf"^== {re.escape(title)}\n(.*?)(?=^== |\Z)", text,
                      flags=re.MULTILINE | re.DOTALL)
    assert found, f"no section '== {title}'"
    return found.group(1)


def listed_pages() -> list[Path]:
    """The docs pages in the order README's "Where to go next" links them."""
    links = re.findall(r"xref:(docs/[\w-]+\.adoc)\[", section(README.read_text(),
                                                               "Where to go next"))
    return [BUNDLE / link for link in links]


def pages() -> list[Path]:
    """Every page of the documentation, in reading order."""
    return [README, *listed_pages()]


def anchors(text: str) -> set[str]:
    """The ids a page defines ([[id]], [[id,text]], [#id])."""
    return {a or b for a, b in ANCHOR.findall(text)}


def references(page: Path) -> list[tuple[Path, str]]:
    """(target page, id or "") of each cross-reference outside listings."""
    text = LISTING.sub("", page.read_text())
    found = []
    for target, anchor in SHORT_REF.findall(text):
        if target.endswith(".adoc"):
            found.append(((page.parent / target).resolve(), anchor))
        else:  # <<id>>: in this page
            found.append((page.resolve(), target))
    for target, anchor in XREF.findall(text):
        found.append(((page.parent / target).resolve() if target else page.resolve(), anchor))
    return found
