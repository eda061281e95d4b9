"""The :class:`~jupyter_server.extension.application.ExtensionApp` of promethium_lab."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int

from promethium_lab.server.events import JobEventEmitter
from promethium_lab.server.handlers import (
    DatasetPreviewHandler,
    DatasetsHandler,
    DatasetSummaryHandler,
    InfoHandler,
    ModelHandler,
    ModelsHandler,
    WorkflowsHandler,
)
from promethium_lab.server.jobs import (
    JOB_ID,
    JobCancelHandler,
    JobHandler,
    JobPreviewHandler,
    JobReproduceHandler,
    JobsHandler,
)
from promethium_lab.server.registry import MODEL_REF

__all__ = ["JOB_ID", "ROUTES", "PromethiumServerApp"]

#: The routes, relative to ``base_url`` (``_prepare_handlers`` prefixes them); the
#: ``paths`` of ``openapi.yaml`` are these, without the ``/promethium`` prefix.
ROUTES: list[tuple[str, type]] = [
    (r"/promethium/info/?", InfoHandler),
    (r"/promethium/datasets/summary/?", DatasetSummaryHandler),
    (r"/promethium/datasets/preview\.png", DatasetPreviewHandler),
    (r"/promethium/datasets/?", DatasetsHandler),
    (r"/promethium/jobs/?", JobsHandler),
    (rf"/promethium/jobs/(?P<job_id>{JOB_ID})/cancel/?", JobCancelHandler),
    (rf"/promethium/jobs/(?P<job_id>{JOB_ID})/preview\.png", JobPreviewHandler),
    (rf"/promethium/jobs/(?P<job_id>{JOB_ID})/reproduce/?", JobReproduceHandler),
    (rf"/promethium/jobs/(?P<job_id>{JOB_ID})/?", JobHandler),
    (r"/promethium/models/?", ModelsHandler),
    (rf"/promethium/models/(?P<name>{MODEL_REF})/?", ModelHandler),
    (r"/promethium/workflows/?", WorkflowsHandler),
]


class PromethiumServerApp(ExtensionApp):
    """Serves the REST API the Promethium side panel talks to.

    Routes lie under the server's ``base_url`` (so they work under a JupyterHub user
    prefix), behind its authentication and authorization, with XSRF checked on every
    write; see ``openapi.yaml`` beside this module and :data:`ROUTES`.
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

    job_event_interval = Float(
        0.25,
        help="Seconds between two looks at the job store for live job events (0: no events).",
    ).tag(config=True)

    _job_events: JobEventEmitter | None = None

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

    async def _start_jupyter_server_extension(self, serverapp: object) -> None:
        """Start the live job events once the server's event loop runs."""
        if self.job_event_interval > 0 and self.serverapp is not None:
            from promethium_lab.jobs import get_store

            self._job_events = JobEventEmitter(self.serverapp.event_logger, get_store,
                                               interval=self.job_event_interval)
            self._job_events.start()

    async def stop_extension(self) -> None:
        """Stop the live job events."""
        if self._job_events is not None:
            self._job_events.stop()
            self._job_events = None

    def initialize_handlers(self) -> None:
        """Register :data:`ROUTES`; ``_prepare_handlers`` prefixes them with ``base_url``."""
        self.handlers.extend(ROUTES)
