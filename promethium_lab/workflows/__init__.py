"""One function per user-level task; every front end calls these."""

from promethium_lab.workflows.demo import run_demo
from promethium_lab.workflows.export import export
from promethium_lab.workflows.info import describe, format_summary
from promethium_lab.workflows.ingest import detect_format, ingest, open_survey
from promethium_lab.workflows.reconstruct import evaluate, reconstruct
from promethium_lab.workflows.train import train

__all__ = ["describe", "detect_format", "evaluate", "export", "format_summary", "ingest",
           "open_survey", "reconstruct", "run_demo", "train"]
