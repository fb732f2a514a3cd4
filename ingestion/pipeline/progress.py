"""What "progress" means everywhere in ingestion: a callback hearing the fraction done, 0 to 1.

Downloads, the face pipeline and jobs all report through it; a job turns fractions of its
stages into one percentage (`ingestion/tasks.py`).
"""

from collections.abc import Callable

ProgressCallback = Callable[[float], None]
