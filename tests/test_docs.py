"""Docs generated from code must match the code."""

from __future__ import annotations

import sys

from conftest import ROOT

from monev.i18n import catalogue
from monev.problems import CATALOGUE


def test_problem_catalogue_doc_is_current():
    sys.path.insert(0, str(ROOT / "scripts"))
    import gen_docs

    assert (ROOT / "docs" / "problems.md").read_text(encoding="utf-8") == gen_docs.render(), (
        "docs/problems.md is stale: run python scripts/gen_docs.py"
    )


def test_every_message_has_both_languages_and_every_code_has_texts():
    for key, entry in catalogue().items():
        assert set(entry) == {"id", "en"}, key
    for code in CATALOGUE:
        assert f"problem.{code}" in catalogue() and f"todo.{code}" in catalogue()


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text[: text.index("\n## ")]
    first = (
        "monev score questionnaires/contoh --stages questionnaires/contoh-tahapan.xlsx --out hasil"
    )
    assert f"pip install . && {first}" in head
    assert 'pip install ".[test,web-test]" && python -m pytest' in head
