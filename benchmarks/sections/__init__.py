"""The registry of speed sections run by ``python -m benchmarks``.

A section is a function from :class:`RunContext` to table rows. A new one (gunicorn throughput,
worker events/s, start-up, memory) is a module here plus one entry in :data:`SECTIONS`; the
order of the dict is the order of the table.
"""

from __future__ import annotations

from benchmarks.sections import detect, flask_request, gunicorn, pipeline, startup
from benchmarks.sections._base import RunContext, Section

SECTIONS: dict[str, Section] = {
    detect.SECTION: detect.run,
    flask_request.SECTION: flask_request.run,
    gunicorn.SECTION: gunicorn.run,
    pipeline.SECTION: pipeline.run,
    startup.SECTION: startup.run,
}

__all__ = ["SECTIONS", "RunContext", "Section"]
