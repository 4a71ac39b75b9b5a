"""The command line's own texts in the run's language (issue 11 item 1): ``--help`` of every
command follows ``--lang`` or ``MONEV_LANG`` (default id), and the parser's messages (usage line,
missing argument, unknown option, invalid value, "try --help", "Error") are in the same language;
a usage error still exits 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from test_language import foreign_words
from typer.main import get_command

from monev.cli import app, main
from monev.cli_lang import run_lang
from monev.i18n import catalogue

#: Every command, by its path (a group's path shows the group's own help page).
COMMANDS = [
    [],
    ["score"],
    ["check"],
    ["template"],
    ["doctor"],
    ["serve"],
    ["rubric"],
    ["rubric", "list"],
    ["rubric", "show"],
    ["rubric", "check"],
    ["offices", "template"],
    ["offices", "from"],
    ["stages", "template"],
    ["web", "invite"],
    ["web", "create-admin"],
    ["web", "prune-pdfs"],
]


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_command_and_option_has_its_help_in_the_catalogue():
    """A help text written only in the code would be English in an Indonesian run."""
    keys = catalogue()
    missing = []
    for path, command in _commands(get_command(app)):
        name = ".".join(path) or "monev"
        if f"help.{name}" not in keys:
            missing.append(f"help.{name}")
        for p in command.params:
            if f"help.{name}.{p.name}" not in keys and f"help.opt.{p.name}" not in keys:
                missing.append(f"help.{name}.{p.name}")
    assert not missing, missing


def test_the_language_of_a_run(monkeypatch):
    monkeypatch.delenv("MONEV_LANG", raising=False)
    assert run_lang(["score", "x"]) == "id"
    assert run_lang(["score", "x", "--lang", "en"]) == "en"
    assert run_lang(["score", "--lang=en", "x"]) == "en"
    assert run_lang(["score", "--", "--lang", "en"]) == "id"  # after "--": a file name
    monkeypatch.setenv("MONEV_LANG", "en")
    assert run_lang(["score"]) == "en"
    assert run_lang(["score", "--lang", "id"]) == "id"  # the command line wins
    monkeypatch.setenv("MONEV_LANG", "fr")
    assert run_lang(["score"]) == "id"  # the command refuses "fr" itself


@pytest.mark.parametrize("lang", ["id", "en"])
def test_help_of_every_command_speaks_the_run_language(lang, capsys, monkeypatch):
    own = {
        "id": ["Penggunaan:", "Opsi", "Tampilkan bantuan ini lalu keluar."],
        "en": ["Usage:", "Options", "Show this message and exit."],
    }
    for path in COMMANDS:
        # MONEV_LANG: the program, groups and the web commands have no --lang option.
        monkeypatch.setenv("MONEV_LANG", lang)
        assert main([*path, "--help"]) == 0, path
        out = capsys.readouterr().out
        flat = " ".join(re.sub("[│╭╮╰╯─]", " ", out).split())  # the text without its frames
        for word in own[lang]:
            assert word in flat, (path, word)
        # Python's type names are not shown: a kind of value in words, none for on/off options.
        assert not re.search(r"<(bool|str|int|float|list\[)", out), (path, out)
        for line in out.replace(" ".join(["monev", *path]), " ").splitlines():  # names
            bad = foreign_words(line, lang)
            assert not bad, f"{path}: {sorted(bad)} in: {line}"


def test_monev_lang_sets_the_help_language_of_the_installed_command(tmp_path):
    """As a user runs it: ``MONEV_LANG=en monev score --help`` in English, plain in Indonesian."""
    env = {k: v for k, v in os.environ.items() if k != "MONEV_LANG"}
    runs = {}
    for lang in ("en", None):
        run_env = {**env, "MONEV_LANG": lang} if lang else env
        out = subprocess.run(
            [sys.executable, "-m", "monev", "score", "--help"],
            capture_output=True,
            text=True,
            env=run_env,
            cwd=tmp_path,
            check=True,
        ).stdout
        runs[lang or "id"] = out
    assert "Score every questionnaire" in runs["en"] and "[default: hasil]" in runs["en"]
    assert "Nilai setiap kuesioner" in runs["id"] and "[bawaan: hasil]" in runs["id"]
    for lang, out in runs.items():
        assert not [ln for ln in out.splitlines() if foreign_words(ln, lang)], out


# What the parser says, per language: the usage line, where to find help, and the error.
USAGE_ERRORS = [
    (
        ["check"],
        "Kesalahan: Argumen 'KUESIONER' belum diisi.",
        "Error: Missing argument 'FILES'.",
    ),
    (
        ["template", "--bogus"],
        "Kesalahan: Opsi --bogus tidak dikenal.",
        "Error: No such option: --bogus.",
    ),
    (
        ["score", "x.xlsx", "--jobs", "banyak"],
        "Kesalahan: Nilai untuk '--jobs' / '-j' tidak dapat dipakai: harus bilangan bulat.",
        "Error: Invalid value for '--jobs' / '-j': it must be a whole number.",
    ),
    (
        ["score", "x.xlsx", "--jobs", "-1"],
        "tidak dapat dipakai: paling kecil 0.",
        "Invalid value for '--jobs' / '-j': it must be at least 0.",
    ),
    (
        ["score", "x.xlsx", "--link-timeout", "x"],
        "'--link-timeout' tidak dapat dipakai: harus angka.",
        "'--link-timeout': it must be a number.",
    ),
    (["score", "x.xlsx", "--jobs"], "Opsi '--jobs' perlu nilai", "'--jobs' requires a value"),
    (["skor"], "Kesalahan: Perintah 'skor' tidak dikenal.", "Error: No such command 'skor'."),
    (["rubric", "list", "extra"], "Argumen berlebih: extra.", "unexpected extra arguments: extra."),
]


@pytest.mark.parametrize(("args", "in_id", "in_en"), USAGE_ERRORS)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_usage_errors_in_the_run_language(lang, args, in_id, in_en, capsys, monkeypatch):
    monkeypatch.delenv("MONEV_LANG", raising=False)
    if lang == "en":
        monkeypatch.setenv("MONEV_LANG", "en")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert (in_id if lang == "id" else in_en) in err
    for line in err.splitlines():
        bad = foreign_words(line, lang)
        assert not bad, f"{sorted(bad)} in: {line}"
    if args[0] in ("check", "template") and lang == "id":
        # The usage line and the pointer to help, as click writes them, in Indonesian.
        assert f"Penggunaan: monev {args[0]} [OPSI]" in err
        assert f"Lihat 'monev {args[0]} --help' untuk bantuan." in err
        assert "Usage:" not in err and "Try '" not in err


def test_help_stays_in_the_language_of_each_run(capsys, monkeypatch):
    """One process, two runs: the second run's help is not left in the first one's language."""
    monkeypatch.delenv("MONEV_LANG", raising=False)
    assert main(["check", "--help", "--lang", "en"]) == 0
    assert "Check filled questionnaires" in capsys.readouterr().out
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Periksa kuesioner" in out and "Opsi" in out and "Options" not in out
