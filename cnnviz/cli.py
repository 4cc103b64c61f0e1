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
from cnnviz.printable import escaping_controls
from cnnviz.core.lean_imports import lean_keras_import
from cnnviz.core.quiet import quiet_process, release_stderr

# The order is the order of `cnnviz --help`.
COMMAND_MODULES: tuple[str, ...] = ("gui", "summary", "train", "evaluate", "data", "predict", "export", "compare",
                                   "unit", "attribution", "filters", "robustness", "attack", "sanity", "lessons")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand (`cnnviz COMMAND --help`)."""
    parser = argparse.ArgumentParser(
        prog="cnnviz",
        description="Make the MNIST convnet of Deep Learning with Python (ch. 5) visible. "
                    "With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"cnnviz {__version__}")
    importlib.import_module("cnnviz.commands.gui").add_app_options(parser)
    desktop = parser.add_mutually_exclusive_group()
    desktop.add_argument("--install-desktop", action="store_true",
                         help="add cnnviz to your application menu (a .desktop file and its icon in your data "
                              "folder, ~/.local/share or $XDG_DATA_HOME) and exit")
    desktop.add_argument("--uninstall-desktop", action="store_true",
                         help="remove exactly what --install-desktop wrote, and exit")
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
    quiet_process()   # TensorFlow's start-up lines stay off stderr, on every CPU
    lean_keras_import()   # and Keras's import skips matplotlib (~0.5 s)
    if argv is None:
        _clean_exits_for_this_process()
    try:
        with escaping_controls():
            code = _run(argv)
    finally:   # argparse's own errors and --help leave by SystemExit
        if argv is None:
            _remove_temporaries()
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
        if args.install_desktop or args.uninstall_desktop:
            command[0] = "--install-desktop" if args.install_desktop else "--uninstall-desktop"
            return _desktop_entry(args.install_desktop)
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
    except OSError as exc:  # a path no check foresaw (too long, unreadable, a full disk): one line, not a traceback
        return _report_os_error(command[0], exc)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)


def _desktop_entry(install: bool) -> int:
    """`--install-desktop` / `--uninstall-desktop`: say what was written or removed."""
    from cnnviz.core.desktop_entry import DesktopEntryError, install_desktop_entry, uninstall_desktop_entry

    try:
        change = install_desktop_entry() if install else uninstall_desktop_entry()
    except (DesktopEntryError, OSError) as exc:
        raise CliError(str(exc)) from exc
    for path in change.written:
        print(f"wrote {path}")
    for path in change.removed:
        print(f"removed {path}")
    for path in change.kept:
        print(f"kept {path} (changed since --install-desktop wrote it)")
    if not install and not (change.removed or change.kept):
        print("nothing to remove: --install-desktop has not written an entry here")
    return 0


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
            release_stderr()   # an interrupted `import tensorflow` gives stderr back first
            sys.stderr.write(f"\ncnnviz {command[0]}: interrupted\n")
            sys.stderr.flush()
        finally:
            _remove_temporaries()
            os._exit(EXIT_INTERRUPTED)

    return signal.signal(signal.SIGINT, interrupted)


EXIT_TERMINATED = 143  # 128 + SIGTERM


def _clean_exits_for_this_process() -> None:
    """For the `cnnviz` process itself: every library's temporary files go into a private folder that
    is removed on the way out, and SIGTERM ends the command like Ctrl+C does, removing the
    temporaries of writes in progress (`os._exit` skips every other clean-up; issue 25)."""
    from cnnviz.core import process_tempdir

    process_tempdir.use_private_tempdir()
    words = [word for word in sys.argv[1:] if not word.startswith("-")]
    headless = bool(words) and words[0] in COMMAND_MODULES and words[0] != "gui"   # the app keeps SIGTERM's default
    if headless and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum, frame) -> None:
    try:
        sys.stderr.write("\ncnnviz: terminated\n")
        sys.stderr.flush()
    finally:
        _remove_temporaries()
        os._exit(EXIT_TERMINATED)


def _remove_temporaries() -> None:
    """Remove the temporaries of writes in progress and the process's private temporary folder."""
    from cnnviz.core import process_tempdir
    from cnnviz.core.atomic import remove_pending_temporaries

    remove_pending_temporaries()
    process_tempdir.remove()


def _report_os_error(command: str, exc: OSError) -> int:
    """One line for an OSError that reached the top; exit 2 when it names a path (bad input), else 1."""
    from cnnviz.core.safe_paths import describe_os_error

    print(f"cnnviz {command}: {describe_os_error(exc)}", file=sys.stderr)
    return 2 if exc.filename is not None or getattr(exc, "path", None) is not None else 1


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
