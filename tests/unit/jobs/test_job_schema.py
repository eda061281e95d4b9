"""One JobRecord: the SQLite columns, the REST JSON, openapi.yaml and the TypeScript types all
follow the pydantic model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from promethium_lab.jobs import JobRecord, JobState
from promethium_lab.jobs.models import job_json_schema
from promethium_lab.jobs.store import _COLUMNS, _JSON, PRIMARY_KEY

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gen():
    """``scripts/gen_schemas.py`` as a module."""
    spec = importlib.util.spec_from_file_location("gen_schemas", ROOT / "scripts" /
                                                  "gen_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def full_record() -> JobRecord:
    return JobRecord(
        id="0123456789ab", kind="reconstruct", parameters={"source": "/s.zarr", "n": 3},
        state=JobState.FAILED, progress=0.5, message="block 2/4", created_at=1.0,
        started_at=2.0, updated_at=3.5, finished_at=4.0, executor="dask:tcp://h:8786",
        worker="tcp://w:1", artifacts={"output": "/o.zarr"}, preview_path="/p.nc",
        error={"code": "PL-JOB-002", "name": "RUNNER_LOST", "message": "gone", "hint": "again",
               "retryable": True},
        traceback="Traceback ...", pid=12, host="h", heartbeat_at=3.0, cancel_requested=True,
        outputs=["/o.zarr"], partial_outputs=[{"path": "/o.zarr.partial", "removed": True}],
        target="promethium_lab.workflows.reconstruct:reconstruct",
    )


def test_generated_files_are_up_to_date(gen):
    stale = [str(p.relative_to(ROOT)) for p in gen.outdated()]
    assert stale == [], f"{stale} differ from JobRecord: run python scripts/gen_schemas.py"


def test_openapi_components_come_from_the_model(gen):
    spec = yaml.safe_load((ROOT / "promethium_lab" / "server" / "openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    record = schemas["JobRecord"]
    assert list(record["properties"]) == list(JobRecord.model_fields)
    assert record["required"] == list(JobRecord.model_fields)
    assert schemas["JobState"]["enum"] == list(dict.fromkeys(s.value for s in JobState))
    assert record["properties"]["error"]["allOf"] == [{"$ref": "#/components/schemas/JobError"}]
    assert record["properties"]["created_at"]["format"] == "date-time"
    assert schemas["JobError"]["required"] == schemas["Error"]["required"]  # the REST error
    import openapi_spec_validator as validator
    validator.validate(spec)


def test_typescript_names_every_field(gen):
    text = (ROOT / "js" / "src" / "types.gen.ts").read_text()
    body = text.split("export interface IJobRecord {", 1)[1].split("\n}", 1)[0]
    fields = [line.split(":")[0].strip() for line in body.splitlines()
              if line.strip() and not line.strip().startswith(("/**", "*"))]
    assert fields == list(JobRecord.model_fields)
    assert "export type JobState = 'queued' | 'running'" in text


def test_rest_json_matches_the_schema():
    import jsonschema
    schema = job_json_schema()
    for rec in (full_record(), JobRecord(id="x", kind="ingest")):
        data = rec.to_dict()
        jsonschema.validate(data, schema)
        assert set(data) == set(schema["required"])
        assert JobRecord.model_validate(data) == rec  # JSON back to the same record


def test_store_columns_are_the_model_fields():
    assert list(_COLUMNS) == list(JobRecord.model_fields)
    assert _COLUMNS[PRIMARY_KEY] == "TEXT PRIMARY KEY"
    assert _JSON == {"parameters", "artifacts", "error", "outputs", "partial_outputs"}
    assert _COLUMNS["created_at"] == "REAL"  # nullable
    assert _COLUMNS["progress"] == "REAL NOT NULL DEFAULT 0.0"
    assert _COLUMNS["cancel_requested"] == "INTEGER NOT NULL DEFAULT 0"
    assert _COLUMNS["executor"] == "TEXT NOT NULL DEFAULT 'kernel'"
    assert _COLUMNS["outputs"] == "TEXT NOT NULL DEFAULT '[]'"
