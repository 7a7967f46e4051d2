"""The life of a process that runs the Temporal SDK: its start-up heap kept out of the collector, its end."""

from __future__ import annotations

import gc
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


_frozen = False


def freeze_startup_heap() -> None:
    """Keep what start-up built (modules, pydantic schemas, the SDK, the app) out of the cyclic collector.

    A full collection walks every tracked object, and after start-up that is mostly these, which live as long
    as the process anyway: measured in the API on a 200-item caseload, a full collection took 200-250 ms
    (once in 400 requests, in whichever request set it off); with the start-up heap frozen, 5-15 ms. Once
    per process (tests build many apps in one), after a collection so no garbage is frozen with it.
    """
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
