"""promethium_lab: seismic data reconstruction, notebook first.

Read a survey, ingest it into chunked Zarr, look at it, reconstruct missing traces.
"""

from __future__ import annotations

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.version import __version__

__all__ = ["ErrorCode", "PromethiumError", "__version__"]
# Jupyter finds the server and lab extensions through these hooks (promethium_lab.server).
from promethium_lab.server import _jupyter_labextension_paths, _jupyter_server_extension_points  # noqa: F401
