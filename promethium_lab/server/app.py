"""The :class:`~jupyter_server.extension.application.ExtensionApp` of promethium_lab."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Int

from promethium_lab.server.handlers import (
    DatasetsHandler,
    InfoHandler,
    JobCancelHandler,
    JobHandler,
)

__all__ = ["JOB_ID", "PromethiumServerApp"]

#: What a job id in a route may look like (the store's ids are 12 hex digits).
JOB_ID = r"[A-Za-z0-9_.-]{1,64}"


class PromethiumServerApp(ExtensionApp):
    """Serves the REST API the Promethium side panel talks to.

    Routes (under the server's ``base_url``, behind its authentication; see
    ``openapi.yaml`` beside this module):

    - ``GET promethium/info``: package version, data directory, Python version.
    - ``GET promethium/datasets?root=<dir>``: Zarr stores and seismic files under ``root``.
    - ``GET promethium/jobs/<id>``: a job's record (from the user's job store).
    - ``POST promethium/jobs/<id>/cancel``: ask a job to stop (XSRF-checked like every
      write; works while the kernel that runs the job is busy).
    """

    name = "promethium_lab"
    description = "promethium_lab: seismic data reconstruction REST API"
    load_other_extensions = True

    max_depth = Int(
        3,
        help="How many folder levels below `root` /promethium/datasets looks into (at most 3).",
    ).tag(config=True)

    max_entries = Int(
        2000,
        help="Most datasets /promethium/datasets returns; the answer says when it stopped early.",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        """Expose the limits to the handlers (``self.settings['promethium_lab']``)."""
        self.settings.update(
            {
                "promethium_lab": {
                    "max_depth": max(0, min(int(self.max_depth), 3)),
                    "max_entries": max(1, int(self.max_entries)),
                }
            }
        )

    def initialize_handlers(self) -> None:
        """Register the routes; ``_prepare_handlers`` prefixes them with ``base_url``."""
        self.handlers.extend(
            [
                (r"/promethium/info/?", InfoHandler),
                (r"/promethium/datasets/?", DatasetsHandler),
                (rf"/promethium/jobs/(?P<job_id>{JOB_ID})/cancel/?", JobCancelHandler),
                (rf"/promethium/jobs/(?P<job_id>{JOB_ID})/?", JobHandler),
            ]
        )
