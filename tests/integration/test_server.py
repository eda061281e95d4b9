"""The promethium_lab server extension over HTTP (``jp_fetch``), and its installation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

import promethium_lab
from promethium_lab.core.errors import ErrorCode

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


async def _get_json(jp_fetch, *parts: str, **kwargs) -> dict:
    response = await jp_fetch(*parts, **kwargs)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def _error(jp_fetch, *parts: str, **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, **kwargs)
    return info.value.code, json.loads(info.value.response.body)


async def test_info_reports_version_data_dir_and_python(jp_fetch, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHIUM_DATA_DIR", str(tmp_path / "pl-data"))
    info = await _get_json(jp_fetch, "promethium", "info")
    assert info["version"] == promethium_lab.__version__
    assert info["data_dir"] == str(tmp_path / "pl-data")
    assert info["python"] == sys.version.split()[0]


async def test_info_bad_config_is_a_json_error(jp_fetch, tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    monkeypatch.setenv("PROMETHIUM_CONFIG", str(bad))
    status, body = await _error(jp_fetch, "promethium", "info")
    assert status == 500
    assert body["code"] == ErrorCode.BAD_CONFIG.value
    assert set(body) >= {"code", "message", "hint", "retryable"}


async def test_datasets_lists_segy_and_stores(jp_fetch, jp_root_dir, seismic_file, zarr_store):
    seismic_file("f3_ibm_be.sgy", jp_root_dir)
    seismic_file("NL.HGN.00.BHZ_2003-05-29.mseed", jp_root_dir / "waveforms")
    seismic_file("II.TLY.00.BHZ_be.SAC", jp_root_dir / "waveforms")
    zarr_store(
        jp_root_dir / "f3.zarr",
        {"promethium_version": "0.1.0", "geometry": "poststack3d"},
        shape=(23, 18, 75),
    )
    zarr_store(jp_root_dir / "stores" / "survey.mdio", {"apiVersion": "1.1.3"})
    # a Zarr store of neither kind is not listed, nor looked into
    plain = zarr_store(jp_root_dir / "other.zarr", {"note": "not seismic"})
    seismic_file("f3_int16_be.sgy", plain)
    # a half-written store, hidden folders and other files are skipped
    zarr_store(jp_root_dir / "x.zarr.partial-123", {"promethium_version": "0.1.0"})
    seismic_file("f3_ibm_le.sgy", jp_root_dir / ".hidden")
    (jp_root_dir / "notes.txt").write_text("not a dataset")

    listing = await _get_json(jp_fetch, "promethium", "datasets")
    assert listing["root"] == ""
    assert listing["truncated"] is False
    assert listing["max_depth"] == 3
    by_path = {d["path"]: d for d in listing["datasets"]}
    assert sorted(by_path) == [
        "f3.zarr",
        "f3_ibm_be.sgy",
        "stores/survey.mdio",
        "waveforms/II.TLY.00.BHZ_be.SAC",
        "waveforms/NL.HGN.00.BHZ_2003-05-29.mseed",
    ]
    segy = by_path["f3_ibm_be.sgy"]
    assert segy["kind"] == "segy"
    assert segy["name"] == "f3_ibm_be.sgy"
    assert segy["size"] == (jp_root_dir / "f3_ibm_be.sgy").stat().st_size == 227160
    assert by_path["waveforms/NL.HGN.00.BHZ_2003-05-29.mseed"]["kind"] == "miniseed"
    assert by_path["waveforms/II.TLY.00.BHZ_be.SAC"]["kind"] == "sac"
    store = by_path["f3.zarr"]
    assert store["kind"] == "zarr"
    assert store["flavor"] == "promethium"
    assert store["geometry"] == "poststack3d"
    assert store["shape"] == [23, 18, 75]
    assert store["consolidated"] is True
    assert store["size"] is None
    assert by_path["stores/survey.mdio"]["flavor"] == "mdio"


async def test_datasets_under_a_subfolder_and_depth_bound(jp_fetch, jp_root_dir, seismic_file):
    seismic_file("f3_ibm_be.sgy", jp_root_dir / "top")
    seismic_file("f3_2inlines_ibm.sgy", jp_root_dir / "top" / "a" / "b" / "c")
    seismic_file("f3_int16_be.sgy", jp_root_dir / "top" / "a" / "b" / "c" / "d")
    listing = await _get_json(jp_fetch, "promethium", "datasets", params={"root": "top/"})
    assert listing["root"] == "top"
    # three folder levels below the root are looked into, not four
    assert [d["path"] for d in listing["datasets"]] == [
        "top/a/b/c/f3_2inlines_ibm.sgy",
        "top/f3_ibm_be.sgy",
    ]


async def test_datasets_skip_symlinks_leaving_the_root(
    jp_fetch, jp_root_dir, tmp_path, seismic_file
):
    outside = tmp_path / "outside"
    seismic_file("f3_ibm_be.sgy", outside)
    os.symlink(outside, jp_root_dir / "link-out")
    os.symlink(outside / "f3_ibm_be.sgy", jp_root_dir / "file-out.sgy")
    listing = await _get_json(jp_fetch, "promethium", "datasets")
    assert listing["datasets"] == []
    status, body = await _error(jp_fetch, "promethium", "datasets", params={"root": "link-out"})
    assert status == 403
    assert body["code"] == ErrorCode.PATH_OUTSIDE_ROOT.value


@pytest.mark.parametrize("root", ["..", "../..", "a/../../..", "/etc", "/"])
async def test_datasets_outside_root_is_403_json(jp_fetch, jp_root_dir, root):
    (jp_root_dir / "a").mkdir()
    status, body = await _error(jp_fetch, "promethium", "datasets", params={"root": root})
    assert status == 403
    assert body["code"] == ErrorCode.PATH_OUTSIDE_ROOT.value
    assert body["name"] == "PATH_OUTSIDE_ROOT"
    assert body["message"] and body["hint"]
    assert body["retryable"] is False


async def test_datasets_missing_folder_is_404_json(jp_fetch):
    status, body = await _error(
        jp_fetch, "promethium", "datasets", params={"root": "no/such/folder"}
    )
    assert status == 404
    assert body["code"] == ErrorCode.PATH_NOT_FOUND.value


async def test_datasets_root_that_is_a_file_is_400_json(jp_fetch, jp_root_dir, seismic_file):
    seismic_file("f3_ibm_be.sgy", jp_root_dir)
    status, body = await _error(
        jp_fetch, "promethium", "datasets", params={"root": "f3_ibm_be.sgy"}
    )
    assert status == 400
    assert body["code"] == ErrorCode.INVALID_PARAMETER.value


@pytest.mark.parametrize("route", ["info", "datasets"])
async def test_unauthenticated_requests_are_refused(jp_fetch, route):
    for auth in ("", "token not-the-token"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("promethium", route, headers={"Authorization": auth})
        assert info.value.code == 403


def test_openapi_describes_every_route():
    """openapi.yaml has one path per route of the app (and no other)."""
    import yaml

    from promethium_lab.server.app import ROUTES

    spec = yaml.safe_load(
        (Path(promethium_lab.__file__).parent / "server" / "openapi.yaml").read_text()
    )
    urls = {path: "/promethium" + path.format(job_id="0123456789ab", name="synthetic-unet")
            for path in spec["paths"]}
    served = {path: [p for p, _ in ROUTES if re.fullmatch(p, url)] for path, url in urls.items()}
    assert all(len(patterns) == 1 for patterns in served.values()), served
    assert sorted(p for patterns in served.values() for p in patterns) == sorted(
        p for p, _ in ROUTES)
    assert spec["components"]["schemas"]["Error"]["required"] == [
        "code",
        "message",
        "hint",
        "retryable",
    ]


def _jupyter(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return _ANSI.sub("", proc.stdout + proc.stderr)


def test_labextension_is_installed_and_enabled():
    out = _jupyter("labextension", "list")
    version = promethium_lab.__version__
    assert re.search(rf"promethium-lab v{re.escape(version)} enabled\s+OK", out), out


def test_server_extension_is_installed_and_enabled():
    out = _jupyter("server", "extension", "list")
    assert re.search(r"promethium_lab\s+enabled", out), out
    assert re.search(rf"promethium_lab {re.escape(promethium_lab.__version__)} OK", out), out


def test_dataset_scan_uses_io_file_kinds_and_store_detection(tmp_path):
    """The scan's suffixes are io's table; a store's flavour is io's store kind."""
    from promethium_lab.io.formats import FILE_KINDS as IO_KINDS
    from promethium_lab.server.datasets import FILE_KINDS, scan_datasets

    assert set(FILE_KINDS) == {s for s, k in IO_KINDS.items() if k not in ("zarr", "mdio")}
    assert FILE_KINDS[".mseed"] == FILE_KINDS[".miniseed"] == "miniseed"
    for name in ("a.SGY", "b.su", "c.sac", "d.zarr", "e.mdio", "f.txt"):
        (tmp_path / name).write_bytes(b"x")
    store = tmp_path / "g.mdio"
    store.mkdir()
    (store / "zarr.json").write_text(json.dumps(
        {"zarr_format": 3, "node_type": "group", "attributes": {"apiVersion": "1.1.3"}}
    ))
    listing = scan_datasets(tmp_path)
    kinds = {d["name"]: (d["kind"], d["flavor"]) for d in listing["datasets"]}
    assert kinds == {"a.SGY": ("segy", None), "b.su": ("su", None), "c.sac": ("sac", None),
                     "g.mdio": ("zarr", "mdio")}
