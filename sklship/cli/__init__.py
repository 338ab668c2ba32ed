"""The ``sklship`` command: compare, train, predict, explain, search, scan, activity, adapt.

Argument parsing and printing only; the work, and every file written, is
done by the library (:func:`~sklship.evaluation.compare.compare_models`,
:mod:`sklship.estimators.persistence`, :mod:`sklship.evaluation.thresholds`,
:mod:`sklship.evaluation.explain`, :mod:`sklship.scenes.survey`,
:mod:`sklship.scenes.export`, :mod:`sklship.evaluation.plots`). The chip
commands are in :mod:`sklship.cli.chips`, the scene commands in
:mod:`sklship.cli.scenes`. Every command runs
without data arguments on synthetic chips from :func:`~sklship.make_ships`.
Results (tables, CSV) go to standard output or files; messages go through
:mod:`logging` to standard error (``-q`` leaves warnings only, ``-v`` adds
debug messages), and progress bars appear only on a terminal.
Exit status: 0 on success, 2 for bad arguments, 1 for missing or bad files.
"""

import argparse
import logging
import os
import sys
import warnings

from . import adapt, chips, scenes
from .arguments import CommandError, Parser, parents

__all__ = ["main"]

log = logging.getLogger("sklship")


def main(argv=None):
    """Run the ``sklship`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 for a missing or bad file, 2 for bad arguments.
    """
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_MessageFormatter())
    log.addHandler(handler)
    show_warning = warnings.showwarning
    warnings.showwarning = _note_or(show_warning)
    try:
        args = _parser().parse_args(argv)
        log.setLevel(logging.WARNING if args.quiet else
                     logging.DEBUG if args.verbose else logging.INFO)
        if getattr(args, "check", None) is not None:
            args.check(args)  # before TensorFlow loads (seconds)
        if getattr(args, "uses_tensorflow", True):
            _import_tensorflow_quietly()
        # One BLAS thread: TensorFlow keeps the cores busy with its own pools,
        # and OpenBLAS threads spinning against them made the logistic
        # baseline 30x slower on two cores (67 s instead of 2 s per fit).
        with threadpool_limits(limits=1, user_api="blas"):
            return args.run(args) or 0
    except CommandError as exc:
        log.error(exc)
        return exc.status
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    finally:
        warnings.showwarning = show_warning
        log.removeHandler(handler)


def _import_tensorflow_quietly():
    """Import TensorFlow with its runtime's start-up lines kept off standard error.

    TensorFlow's C++ runtime writes lines about its logging and its oneDNN
    kernels when it loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; a user of
    the command would read them above every message. Errors of the import
    itself are Python exceptions and still reach the user.
    """
    if "tensorflow" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _note_or(show_warning):
    """A ``warnings.showwarning`` that writes UserWarnings as the command's notes.

    A user of the command reads "sklship: note: ..." rather than a source
    file, a line number and a line of code; other warnings go to
    ``show_warning``.
    """
    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning):
            log.warning(str(message))
        else:
            show_warning(message, category, filename, lineno, file, line)
    return show


class _MessageFormatter(logging.Formatter):
    """Messages as the command writes them: "sklship: note: ..." for warnings."""

    _PREFIX = {logging.WARNING: "sklship: note: ", logging.ERROR: "sklship: error: ",
               logging.DEBUG: "sklship: debug: "}

    def format(self, record):
        return self._PREFIX.get(record.levelno, "") + super().format(record)


def _parser():
    """The ``sklship`` parser with every command."""
    from .. import __version__

    parser = Parser(prog="sklship", description="Find ships in satellite image chips "
                     "with scikit-learn compatible Keras models.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Options of every command.
    common = argparse.ArgumentParser(add_help=False)
    talk = common.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="only warnings and errors on standard error")
    talk.add_argument("-v", "--verbose", action="store_true",
                      help="also debug messages on standard error")
    common.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars (they appear only on a terminal)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    shared = parents()
    chips.add_parsers(commands, common, shared)
    scenes.add_parsers(commands, common, shared)
    adapt.add_parser(commands, common)
    return parser
