"""The ``trtctl`` console script: the native command line, run in-process."""

from __future__ import annotations

import signal
import sys

from . import _trtctl


def main() -> None:
    """Runs ``trtctl`` with ``sys.argv`` and exits with its code, like the native binary."""
    # The native binary's Ctrl-C behaviour: `apply` and `ensure` catch it themselves and exit 130
    # after a clean stop; elsewhere it ends the process, as it would without Python around.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_trtctl.cli_main(["trtctl", *sys.argv[1:]]))
