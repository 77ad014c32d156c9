"""The automatic control run (principles 6, 8 and 9): each night, for each organisation, the
procedure in force is enforced exactly once. See `docs/controls.md`.

`run_controls(on=..., organisation=None, dry_run=False, out=None)` is what the Celery tasks
(`training.tasks`) and the `run_controls` management command call.
"""

from .engine import ActionLine, RunResult, run_controls

__all__ = ["ActionLine", "RunResult", "run_controls"]
