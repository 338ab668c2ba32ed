"""What every benchmark's ``--quick`` mode shares: the flag and its tiny data.

``--quick`` runs a benchmark end to end on tiny synthetic inputs, in seconds
to a minute, so that ``tests/test_benchmarks.py`` notices when a change
breaks it. Its figures mean nothing. A benchmark prints to standard output
and writes files only to temporary folders; its results file is a full run's
output saved by hand (``python benchmarks/bench_scan.py >
benchmarks/results/scan.txt``), never a quick run's.
"""

from sklship import load_shipsnet, make_ships

#: Synthetic chips of a quick run: enough of each class for 2 folds.
QUICK_CHIPS = 192


def add_quick_flag(parser):
    """Add ``--quick`` to a benchmark's argument parser."""
    parser.add_argument("--quick", action="store_true",
                        help="tiny synthetic inputs, one round: checks that the benchmark "
                        "runs, in seconds; its figures mean nothing")


def quick_chips(as_frame=False):
    """:data:`QUICK_CHIPS` ``make_ships`` chips of 4 scenes, as ``load_shipsnet`` gives them."""
    return make_ships(QUICK_CHIPS, n_scenes=4, random_state=0, as_frame=as_frame)


def load_chips(source):
    """Chips from ``source``: a ShipsNet path, or ``"make_ships:N"`` (N synthetic chips)."""
    source = str(source)
    if source.startswith("make_ships:"):
        return make_ships(int(source.split(":")[1]), random_state=0)
    return load_shipsnet(source)


def one_epoch(estimator):
    """``estimator`` (or a pipeline's steps) set to train one epoch, for quick runs."""
    epochs = [name for name in estimator.get_params()
              if name == "epochs" or name.endswith("__epochs")]
    return estimator.set_params(**dict.fromkeys(epochs, 1))
