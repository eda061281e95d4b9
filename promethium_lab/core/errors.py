"""The one error type of promethium_lab and its stable codes.

Every failure a user can cause (bad files, impossible parameters, missing paths)
is raised as :class:`PromethiumError` carrying a stable ``code``, a ``message`` that
says what is wrong, a ``hint`` that says what to do, and whether retrying can help.
Front ends print it as ``code: message (hint)``; jobs store it as a dict.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["ErrorCode", "PromethiumError"]


class ErrorCode(StrEnum):
    """Stable error codes. Values never change once released; add, never rename."""

    # paths and files
    PATH_NOT_FOUND = "PL-IO-001"
    PATH_IS_DIRECTORY = "PL-IO-002"
    NOT_SEGY = "PL-IO-003"
    TRUNCATED_FILE = "PL-IO-004"
    UNSUPPORTED_FORMAT = "PL-IO-005"
    BAD_SAMPLE_COUNT = "PL-IO-006"
    BAD_SAMPLE_INTERVAL = "PL-IO-007"
    INCONSISTENT_GEOMETRY = "PL-IO-008"
    UNREADABLE_WAVEFORM = "PL-IO-009"
    OUTPUT_EXISTS = "PL-IO-010"
    STORE_INCOMPLETE = "PL-IO-011"
    NOT_A_STORE = "PL-IO-012"
    EXPORT_UNSUPPORTED = "PL-IO-013"
    BAD_OUTPUT_PATH = "PL-IO-014"
    #: a path given to the server lies outside its root (``..``, absolute, a symlink out)
    PATH_OUTSIDE_ROOT = "PL-IO-015"
    # parameters
    INVALID_PARAMETER = "PL-PARAM-001"
    # configuration
    BAD_CONFIG = "PL-CFG-001"
    # machine learning
    MODEL_MISMATCH = "PL-ML-001"
    NO_GPU = "PL-ML-002"
    BAD_DATA = "PL-ML-003"
    # execution
    CANCELED = "PL-JOB-001"
    RUNNER_LOST = "PL-JOB-002"
    JOB_NOT_FOUND = "PL-JOB-003"
    #: the job has not completed (queued, running, failed, canceled): it has no result to
    #: reproduce or open
    JOB_NOT_COMPLETED = "PL-JOB-004"
    # reports
    #: a report notebook raised in one of its cells
    REPORT_FAILED = "PL-REPORT-001"
    #: an unexpected exception (a bug) recorded in a job; the CLI prints its own as one
    #: line starting ``PL-INTERNAL`` (no code) and exits with status 3
    INTERNAL = "PL-INT-001"


class PromethiumError(Exception):
    """An error a user can act on.

    Parameters
    ----------
    code : ErrorCode or str
        Stable machine-readable code (see :class:`ErrorCode`).
    message : str
        What went wrong, naming the file or parameter.
    hint : str, optional
        What the user can do about it.
    retryable : bool, default False
        True when the same call may succeed later (e.g. a transient I/O failure).
    field : str, optional
        The parameter the error is about, when it is one (a form shows it on that field).
    """

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        hint: str = "",
        retryable: bool = False,
        field: str | None = None,
    ) -> None:
        self.code = ErrorCode(code) if not isinstance(code, ErrorCode) else code
        self.message = message
        self.hint = hint
        self.retryable = retryable
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.code.value}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def __reduce__(self):  # keep it picklable across Dask workers
        return (type(self), (self.code, self.message, self.hint, self.retryable, self.field))

    @classmethod
    def invalid(cls, message: str, hint: str = "") -> PromethiumError:
        """An ``INVALID_PARAMETER`` error.

        Parameters
        ----------
        message : str
            Which parameter is wrong and why.
        hint : str, optional
            What value to use instead.
        """
        return cls(ErrorCode.INVALID_PARAMETER, message, hint=hint)

    @classmethod
    def canceled(
        cls, what: str = "the task",
        hint: str = "nothing that looks complete was left behind",
    ) -> PromethiumError:
        """A ``CANCELED`` error saying ``"<what> was canceled"``.

        Parameters
        ----------
        what : str, default "the task"
            What was canceled.
        hint : str, optional
            What the user can do (the default says no partial result is visible).
        """
        return cls(ErrorCode.CANCELED, f"{what} was canceled", hint=hint)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form stored in job records and returned by the REST API (``field``
        only when the error names one)."""
        out = {
            "code": self.code.value,
            "name": self.code.name,
            "message": self.message,
            "hint": self.hint,
            "retryable": self.retryable,
        }
        if self.field is not None:
            out["field"] = self.field
        return out
