"""The command line in the run's language: help texts and the parser's own messages.

``monev`` builds its commands with typer. Their help texts are written in English beside each
option in :mod:`monev.cli` (a developer's note and the fallback); the texts a person reads come
from the catalogue (``help.*`` keys in ``messages.yaml``), in the language of the run:
``--lang`` when it is on the command line, else the ``MONEV_LANG`` environment variable, else
Indonesian. The parser's own lines ("Usage:", "Missing argument", "No such option", "Invalid
value for", "Try … for help", "Error:") are written here from ``cli.click.*`` keys, in one
place (:func:`usage_error_text`); the exit code of a usage error stays 2.

Keys: ``help.<command path>`` for a command (``help.monev`` for the program, ``help.rubric.list``
for ``monev rubric list``), ``help.<command path>.<parameter>`` for an option or argument, and
``help.opt.<parameter>`` for one shared by several commands.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from types import MethodType
from typing import Any

from monev.i18n import DEFAULT_LANG, LANGS, catalogue, t

#: The environment variable that sets the language when ``--lang`` is not given.
LANG_ENV = "MONEV_LANG"


def run_lang(args: Sequence[str] | None) -> str:
    """The language of a run: ``--lang xx`` (or ``--lang=xx``) in ``args``, else ``MONEV_LANG``,
    else Indonesian. An unknown value counts as Indonesian here; the command itself refuses it
    (exit 2) with its own message."""
    args = list(args or ())
    value = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
    if value is None:
        value = os.environ.get(LANG_ENV, "")
    return value if value in LANGS else DEFAULT_LANG


def _help_text(keys: Sequence[str], lang: str) -> str | None:
    entries = catalogue()
    for key in keys:
        if key in entries:
            return t(key, lang)
    return None


def localise(command: Any, lang: str, path: tuple[str, ...] = ()) -> None:
    """Give ``command`` (a click command built by typer) and everything under it the help texts
    and usage line of ``lang``. A text without a catalogue key keeps what the code says."""
    name = ".".join(path) or "monev"
    text = _help_text([f"help.{name}"], lang)
    if text is not None:
        command.help = text
        command.short_help = None
    command.options_metavar = t("cli.click.options_metavar", lang)
    if hasattr(command, "subcommand_metavar"):
        command.subcommand_metavar = t("cli.click.command_metavar", lang)
    command.format_usage = MethodType(_usage_writer(lang), command)
    command.get_help_option = _help_option_getter(command.get_help_option, lang)
    for param in command.params:
        text = _help_text([f"help.{name}.{param.name}", f"help.opt.{param.name}"], lang)
        if text is not None:
            param.help = text
        param.display_type_rich = _type_label(param.display_type_rich, lang)
        if param.param_type_name == "argument":
            shown = _help_text([f"cli.arg.{param.name}"], lang)
            param.metavar = shown or param.metavar
    for sub_name, sub in getattr(command, "commands", {}).items():
        localise(sub, lang, (*path, sub_name))


#: Python's type names as typer shows them in a help page, and what a person reads instead.
_TYPES = {
    "str": "text",
    "path": "path",
    "Path": "path",
    "file": "file",
    "int": "integer",
    "float": "number",
}


def _type_label(original: Any, lang: str):
    """The value's kind in ``lang`` (``<teks>``, ``<jalur>...``), none for an on/off option, instead
    of Python's ``<str>``, ``<list[Path]>`` or ``<bool>``."""

    def display_type_rich(ctx: Any) -> str | None:
        shown = original(ctx)
        if shown is None:
            return None
        m = re.fullmatch(r"<(list\[)?(\w+)(?: range)?\]?>", shown)
        if m is None:
            return str(shown)
        if m.group(2) == "bool":
            return None
        kind = _TYPES.get(m.group(2))
        if kind is None:
            return str(shown)
        return f"<{t('cli.type.' + kind, lang)}>" + ("..." if m.group(1) else "")

    return display_type_rich


def _usage_writer(lang: str):
    prefix = t("cli.click.usage", lang) + " "

    def format_usage(self: Any, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=prefix)

    return format_usage


def _no_type(ctx: Any) -> None:
    return None


def _help_option_getter(original: Any, lang: str):
    """``--help`` is added by click to each command on first use: give it its text in ``lang``."""
    text = t("cli.click.help_option", lang)

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.help = text
            option.display_type_rich = _no_type  # an on/off option: no value to type
        return option

    return get_help_option


def localise_help_page(lang: str) -> None:
    """The fixed words of typer's help page (panel titles, ``[default: …]``, ``[required]``).
    Module settings of typer's help renderer, set for each run; called only when a help page may
    be shown (:func:`help_requested`): importing the renderer costs a tenth of a second."""
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = t("cli.click.arguments", lang)
    rich_utils.OPTIONS_PANEL_TITLE = t("cli.click.options", lang)
    rich_utils.COMMANDS_PANEL_TITLE = t("cli.click.commands", lang)
    rich_utils.DEFAULT_STRING = t("cli.click.default", lang)
    rich_utils.REQUIRED_LONG_STRING = t("cli.click.required", lang)
    rich_utils.ENVVAR_STRING = t("cli.click.env_var", lang)
    rich_utils.DEPRECATED_STRING = t("cli.click.deprecated", lang) + " "
    rich_utils.ERRORS_PANEL_TITLE = t("cli.click.error", lang)


def help_requested(args: Sequence[str], groups: set[str]) -> bool:
    """Whether a run may show a help page: ``--help`` anywhere, no arguments, or only a group's
    name (``monev rubric``)."""
    return not args or "--help" in args or (len(args) == 1 and args[0] in groups)


# --- the parser's own messages ------------------------------------------------------------------

#: The value checks typer leaves to its validator, as their English text reads, and the catalogue
#: key that says the same in the run's language.
_VALUE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"valid integer"), "cli.click.must_be_integer"),
    (re.compile(r"valid number"), "cli.click.must_be_number"),
    (re.compile(r"greater than or equal to (?P<limit>\S+)"), "cli.click.at_least"),
    (re.compile(r"less than or equal to (?P<limit>\S+)"), "cli.click.at_most"),
    (re.compile(r"greater than (?P<limit>\S+)"), "cli.click.more_than"),
    (re.compile(r"less than (?P<limit>\S+)"), "cli.click.less_than"),
    (re.compile(r"valid boolean"), "cli.click.must_be_boolean"),
    (re.compile(r"valid date"), "cli.click.must_be_date"),
)


def _value_reason(message: str, lang: str) -> str:
    for pattern, key in _VALUE_RULES:
        m = pattern.search(message)
        if m:
            return t(key, lang, **m.groupdict())
    return t("cli.click.bad_value_other", lang, detail=message)


def _hint(exc: Any) -> str:
    hint = getattr(exc, "param_hint", None)
    param = getattr(exc, "param", None)
    if hint is None and param is not None:
        hint = param.get_error_hint()
    if hint is None:
        return ""
    return hint if isinstance(hint, str) else " / ".join(repr(h) for h in hint)


def error_message(exc: Any, lang: str) -> str:
    """What went wrong with the command line, as one sentence in ``lang``."""
    kind = type(exc).__name__
    message = str(getattr(exc, "message", "") or "")
    if kind == "MissingParameter":
        param = getattr(exc, "param", None)
        what = getattr(exc, "param_type", None) or getattr(param, "param_type_name", "parameter")
        key = {"argument": "cli.click.missing_argument", "option": "cli.click.missing_option"}
        return t(key.get(str(what), "cli.click.missing_parameter"), lang, name=_hint(exc))
    if kind == "NoSuchOption":
        text = t("cli.click.no_such_option", lang, name=exc.option_name)
        if exc.possibilities:
            text += " " + t(
                "cli.click.did_you_mean", lang, names=", ".join(sorted(exc.possibilities))
            )
        return text
    if kind == "BadOptionUsage":
        if "does not take a value" in message:
            return t("cli.click.takes_no_value", lang, name=exc.option_name)
        if "requires" in message:
            return t("cli.click.needs_value", lang, name=exc.option_name)
    if kind == "BadParameter":
        return t("cli.click.bad_value", lang, name=_hint(exc), reason=_value_reason(message, lang))
    m = re.match(r"No such command '(?P<name>.*)'\.(?: Did you mean (?P<close>.*)\?)?$", message)
    if m:
        text = t("cli.click.no_such_command", lang, name=m.group("name"))
        if m.group("close"):
            text += " " + t("cli.click.did_you_mean", lang, names=m.group("close"))
        return text
    if message == "Missing command.":
        return t("cli.click.missing_command", lang)
    m = re.match(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)$", message)
    if m:
        return t("cli.click.extra_arguments", lang, args=m.group("args"))
    return t("cli.click.other", lang, detail=message or kind)


def usage_error_text(exc: Any, lang: str) -> str:
    """The lines click would print for a usage error, in ``lang``: the usage line, where to find
    help, and the error."""
    lines = []
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        lines.append(ctx.get_usage())
        if ctx.command.get_help_option(ctx) is not None:
            lines.append(t("cli.click.try_help", lang, command=f"{ctx.command_path} --help") + "\n")
    lines.append(f"{t('cli.click.error', lang)}: {error_message(exc, lang)}")
    return "\n".join(lines)
