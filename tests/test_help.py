"""Every option and argument of every command line of the project has a help text.

The command lines: ``comp-lib`` (:func:`comp_lib.cli.build_parser`), ``python -m
comp_lib.data`` (:func:`comp_lib.data.__main__.build_parser`), ``python -m comp_lib.train``
and ``python -m comp_lib.train.bank`` (their ``build_parser()``), ``make report``'s
``python -m comp_lib.pipeline``, and the scripts under ``benchmarks/``. Each parser is
walked, subcommands included: every action but the automatic ``-h`` must have a non-empty
help (not hidden), every subcommand a one-line help, and ``--help`` must render.

Parsers that are not exposed as a function (the pipeline's, the benchmarks') are caught
in-process: their ``main()`` runs until it asks argparse to parse, and stops there.
"""

from __future__ import annotations

import argparse
import importlib
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))

#: Command lines whose parser a module exposes as ``build_parser()``.
BUILDERS = {
    "comp-lib": "comp_lib.cli",
    "python -m comp_lib.data": "comp_lib.data.__main__",
    "python -m comp_lib.train": "comp_lib.train.__main__",
    "python -m comp_lib.train.bank": "comp_lib.train.bank",
}


class _Parsing(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def _caught(run, monkeypatch) -> argparse.ArgumentParser:
    """The parser that ``run()`` builds, stopped when it asks argparse to parse."""

    def stop(self, *args, **kwargs):
        raise _Parsing(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", stop)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", stop)
    monkeypatch.setattr("sys.argv", ["prog"])
    with pytest.raises(_Parsing) as caught:
        run()
    return caught.value.parser


def parser_of(command: str, monkeypatch) -> argparse.ArgumentParser:
    if command in BUILDERS:
        module = importlib.import_module(BUILDERS[command])
        if callable(getattr(module, "build_parser", None)):
            return module.build_parser()
        return _caught(module.main, monkeypatch)  # test_parsers_are_public says it is missing
    if command == "python -m comp_lib.pipeline":
        module = importlib.import_module("comp_lib.pipeline")
        if callable(getattr(module, "build_parser", None)):
            return module.build_parser()
        return _caught(lambda: module.main([]), monkeypatch)
    script = ROOT / command.removeprefix("python ")
    monkeypatch.syspath_prepend(str(script.parent))  # the scripts import _common from there
    return _caught(lambda: runpy.run_path(str(script), run_name="__main__"), monkeypatch)


def without_help(parser: argparse.ArgumentParser, prog: str) -> list[str]:
    """Every action of ``parser`` and its subparsers that has no help text, by name."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        if not isinstance(action.help, str) or not action.help.strip():
            missing.append(f"{prog} {name}")
        elif action.help == argparse.SUPPRESS:
            missing.append(f"{prog} {name} (hidden)")
        if isinstance(action, argparse._SubParsersAction):
            helped = {a.dest: a.help for a in action._choices_actions}
            for sub, subparser in action.choices.items():
                if not (helped.get(sub) or "").strip():
                    missing.append(f"{prog} {sub} (the subcommand's own line)")
                missing += without_help(subparser, f"{prog} {sub}")
    return missing


def every_parser(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from every_parser(subparser)


COMMANDS = [*BUILDERS, "python -m comp_lib.pipeline"] + [
    f"python benchmarks/{p.name}" for p in BENCHMARKS
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_a_help_text(command, monkeypatch):
    parser = parser_of(command, monkeypatch)
    missing = without_help(parser, command)
    assert not missing, "no help text: " + ", ".join(missing)
    for each in every_parser(parser):
        assert each.format_help()  # e.g. a bare '%' in a help text breaks --help


@pytest.mark.parametrize("command", BUILDERS)
def test_parsers_are_public(command):
    module = importlib.import_module(BUILDERS[command])
    assert callable(getattr(module, "build_parser", None)), (
        f"{BUILDERS[command]}.build_parser() is missing: the parser of `{command}` must be "
        "built by a public function (tests and docs read it)"
    )
    assert isinstance(module.build_parser(), argparse.ArgumentParser)


def test_the_checks_see_a_missing_help():
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--fine", help="has one")
    parser.add_argument("--bare")
    sub = parser.add_subparsers(dest="command", help="what to do")
    sub.add_parser("go", help="go").add_argument("target")
    sub.add_parser("stop").add_argument("--now", help=argparse.SUPPRESS)
    assert without_help(parser, "demo") == [
        "demo --bare",
        "demo go target",
        "demo stop (the subcommand's own line)",
        "demo stop --now (hidden)",
    ]
