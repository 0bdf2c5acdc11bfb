"""The alert for a partner file whose loads kept failing to finish: it is quarantined after
``AIGUILLAGE_LOAD_MAX_ATTEMPTS`` started loads, so that it no longer holds up the others, and the
operators hear of it through the run alerts' channels. File name (escaped), counts and the reason
only: never a value read from the file.
"""

from __future__ import annotations

from typing import Any

EVENT = "aiguillage.load_attempts_exhausted"


def attempts_exhausted_alert(*, day: str, run_id: str, relative_path: str, attempts: int,
                             reason: str) -> dict[str, Any]:
    from aiguillage.alerts.privacy import guard
    from aiguillage.alerts.settings import configured_addresses
    from aiguillage.landing.names import printable

    name = printable(relative_path)
    alert = {
        "event": EVENT,
        "day": day,
        "run_id": run_id,
        "severity": "error",
        "summary": f"{day}: file {name} quarantined after {attempts} unfinished loads",
        "details": [f"The loads of {name} were started {attempts} times and none finished.",
                    "Its task logs say why (the process was stopped, or an error interrupted the load). Once "
                    "the cause is fixed, put the file back in the landing zone under a new name: it is loaded "
                    "then, and this one is marked superseded."],
        "withheld": [],
        "quarantined": [{"relative_path": name, "reason": " ".join(reason.split())}],
        "report": None,
    }
    return guard(alert, configured_addresses())
