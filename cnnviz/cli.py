"""The `cnnviz` command: the desktop app with no arguments, headless tools as subcommands.

Every command lives in its own module under `cnnviz/commands/` with `add_parser(subparsers)`
(which sets `handler=run` as a default) and `run(args) -> int`. Keep their top-level imports
cheap: no TensorFlow until `run`. Raise `CliError` for a one-line error (exit code 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from cnnviz import __version__
from cnnviz.commands.common import CliError

# The order is the order of `cnnviz --help`.
COMMAND_MODULES: tuple[str, ...] = ("gui", "summary", "train", "evaluate", "data", "predict", "export", "compare", "unit",
                                   "attribution", "filters", "robustness")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand (`cnnviz COMMAND --help`)."""
    parser = argparse.ArgumentParser(
        prog="cnnviz",
        description="Make the MNIST convnet of Deep Learning with Python (ch. 5) visible. "
                    "With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"cnnviz {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"cnnviz.commands.{name}").add_parser(subparsers)
    return parser


EXIT_INTERRUPTED = 130   # 128 + SIGINT, as shells report a Ctrl+C
EXIT_BROKEN_PIPE = 141   # 128 + SIGPIPE: the reader of our output went away (`cnnviz predict *.png | head -1`)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cnnviz` command; returns the exit code.

    A bad input is one line on stderr (exit 2); Ctrl+C, even while TensorFlow starts, is one line
    (exit 130), not a traceback; a closed pipe on stdout ends quietly (exit 141); text that the
    terminal's encoding cannot show is escaped rather than fatal. As the program's entry point
    (`argv` None) a command that used TensorFlow ends the process at once when it is done: winding
    TensorFlow's thread pools down takes the interpreter 1-4 s, after a Ctrl+C too.
    """
    code = _run(argv)
    if argv is None and "tensorflow" in sys.modules:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code


def _run(argv: list[str] | None) -> int:
    _escape_unencodable_output()
    words = [word for word in (sys.argv[1:] if argv is None else argv) if not word.startswith("-")]
    command = [words[0] if words and words[0] in COMMAND_MODULES else "gui"]  # until the parser says
    previous_handler = _exit_on_interrupt(command)
    try:
        from cnnviz.core.training import TrainConfigError  # (train's parser imports it anyway)

        parser = build_parser()
        args = parser.parse_args(argv)
        command[0] = args.command or "gui"
        if args.command is None:
            parser.parse_args(["gui"], namespace=args)
        return args.handler(args)
    except (CliError, TrainConfigError) as exc:  # a training setting out of range is bad input too
        print(f"cnnviz {command[0]}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ncnnviz {command[0]}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError as exc:  # a size no check foresaw: one line, not a traceback (issue 15)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "the request does not fit in memory"
        print(f"cnnviz {command[0]}: out of memory: {reason}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)


def _exit_on_interrupt(command: list[str]):
    """Make Ctrl+C end the process at once with one line (exit 130); returns the previous handler
    (None when not on the main thread, where handlers cannot be set).

    A KeyboardInterrupt raised inside TensorFlow's import (or any C extension's callback) is
    printed and swallowed there, and the command goes on; so a Ctrl+C exits directly instead.
    That loses nothing: every file is written atomically, and a temporary left behind is removed
    by the next write beside it. `cnnviz train` stops gracefully instead while it trains and saves
    (`core.training.stop_on_signals`), the app closes its window (`gui.app`).
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupted(signum, frame):
        try:
            sys.stderr.write(f"\ncnnviz {command[0]}: interrupted\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_INTERRUPTED)

    return signal.signal(signal.SIGINT, interrupted)


def _escape_unencodable_output() -> None:
    """Print what stdout/stderr cannot encode as escapes (`\\xff`) instead of failing: a file name of
    undecodable bytes under `PYTHONIOENCODING=utf-8:strict` must not end `cnnviz predict`."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", None) == "strict":
            stream.reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null, so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["CliError", "build_parser", "main"]
