"""Ending a process that ran the Temporal SDK."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_without_finalizing(code: int) -> NoReturn:
    """Exit once the work is done, without interpreter finalization.

    The SDK's Rust threads can still release Python objects while the interpreter finalizes, which aborts
    the process with "PyGILState_Release ... finalizing" (temporalio/sdk-python#300); seen here after
    Temporal went away. Everything worth keeping is done by now, so flush and leave.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
