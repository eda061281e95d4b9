"""Core: the error type, configuration, logging and progress."""

from promethium_lab.core.config import Config, get_config
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.logging import get_logger
from promethium_lab.core.progress import Progress

__all__ = ["Config", "ErrorCode", "Progress", "PromethiumError", "get_config", "get_logger"]
