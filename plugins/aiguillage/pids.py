"""Whether a process still runs, for the processes the project starts and tracks by pid."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user (PostgreSQL run as its own user by root)
        return True
    return True
