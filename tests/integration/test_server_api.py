"""The dataset, model and workflow routes of the server extension (``jp_fetch``), its
error envelope and its refusals (no token, paths outside the root)."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from _server_helpers import fetch

from promethium_lab.core.errors import ErrorCode
from promethium_lab.server.handlers import HTTP_STATUS

ENVELOPE = {"code", "name", "message", "hint", "retryable"}


_fetch = fetch


def _png_pixels(body: bytes) -> np.ndarray:
    """The pixels of a PNG (rows = image rows)."""
    from PIL import Image

    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(body)))


def test_every_error_code_has_one_http_status():
    assert set(HTTP_STATUS) == set(ErrorCode)
    assert HTTP_STATUS[ErrorCode.PATH_OUTSIDE_ROOT] == 403
    assert HTTP_STATUS[ErrorCode.INVALID_PARAMETER] == 400
    assert HTTP_STATUS[ErrorCode.PATH_NOT_FOUND] == HTTP_STATUS[ErrorCode.JOB_NOT_FOUND] == 404
    assert HTTP_STATUS[ErrorCode.OUTPUT_EXISTS] == 409
    assert HTTP_STATUS[ErrorCode.INTERNAL] == 500


async def test_summary_of_real_files_gives_their_geometry(jp_fetch, jp_root_dir, seismic_file):
    from promethium_lab.workflows.info import describe

    src = seismic_file("f3_missing_traces_ibm.sgy", jp_root_dir / "surveys")
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "summary",
                                params={"path": "surveys/f3_missing_traces_ibm.sgy"})
    assert status == 200, body
    assert body["path"] == "surveys/f3_missing_traces_ibm.sgy"
    assert body["geometry"] == "poststack3d"
    assert body["dims"] == {"inline": 23, "crossline": 18, "time": 75}
    assert (body["traces"], body["live_traces"], body["absent_traces"]) == (414, 239, 175)
    assert body["time_ms"] == [4.0, 300.0] and body["sample_interval_ms"] == 4.0
    assert body["trace_dims"] == {"inline": [111, 133], "crossline": [875, 892]}
    assert body["segy_format"] == 1
    # the CLI's summary function, so `promethium-lab info` and the panel agree
    assert body["headers_digest"] == describe(src)["headers_digest"]

    seismic_file("viking_graben_4shots_ibm.segy", jp_root_dir)
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "summary",
                                params={"path": "viking_graben_4shots_ibm.segy"})
    assert status == 200, body
    assert body["geometry"] == "shot"
    assert body["dims"] == {"shot_point": 4, "channel": 120, "time": 600}
    assert body["trace_dims"] == {"shot_point": [3, 6], "channel": [1, 120]}


async def test_preview_png_is_the_section_at_the_asked_size(jp_fetch, jp_root_dir, seismic_file):
    seismic_file("f3_ibm_be.sgy", jp_root_dir)
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                                params={"path": "f3_ibm_be.sgy", "inline": "120"})
    assert status == 200, body
    pixels = _png_pixels(body)
    assert pixels.shape[:2] == (75, 18)  # samples down, crosslines across
    assert np.ptp(pixels) > 0  # a section, not a blank image
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                                params={"path": "f3_ibm_be.sgy", "width": "16",
                                        "height": "25"})
    assert status == 200 and _png_pixels(body).shape[:2] == (25, 9)  # reduced 2 × 3
    # JupyterLab's ServerConnection appends a cache-buster (`&1733212345678`) to GETs
    status, busted = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                                  params={"path": "f3_ibm_be.sgy", "width": "16",
                                          "height": "25", "1733212345678": ""})
    assert status == 200 and busted == body

    seismic_file("viking_graben_4shots_ibm.segy", jp_root_dir)
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                                params={"path": "viking_graben_4shots_ibm.segy",
                                        "shot_point": "4", "height": "300"})
    assert status == 200 and _png_pixels(body).shape[:2] == (300, 120)


async def test_preview_with_axes_fills_the_asked_frame(jp_fetch, jp_root_dir, seismic_file):
    """``axes=1`` (the section view's figure): exactly width × height pixels, the section
    drawn across most of it, absent traces in the holes' cyan."""
    seismic_file("f3_missing_traces_ibm.sgy", jp_root_dir)
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                                params={"path": "f3_missing_traces_ibm.sgy", "inline": "122",
                                        "width": "640", "height": "480", "axes": "1"})
    assert status == 200, body
    pixels = _png_pixels(body)
    assert pixels.shape[:2] == (480, 640)
    rgb = pixels[..., :3].astype(int)
    opaque = pixels[..., 3] > 0 if pixels.shape[-1] == 4 else np.ones(rgb.shape[:2], bool)
    assert opaque.mean() > 0.8  # the section fills the frame, axes around it
    grey = (np.ptp(rgb, axis=-1) < 8) & opaque
    cyan = (rgb[..., 0] < 200) & (rgb[..., 1] > 200) & (rgb[..., 2] > 200) & opaque
    assert grey.mean() > 0.3 and cyan.mean() > 0.05  # live traces and absent ones
    status, bare = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                                params={"path": "f3_missing_traces_ibm.sgy", "inline": "122",
                                        "width": "640", "height": "480"})
    assert status == 200 and _png_pixels(bare).shape[:2] == (75, 18)  # no axes: bare pixels
    status, err = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                               params={"path": "f3_missing_traces_ibm.sgy", "axes": "2"})
    assert status == 400 and err["code"] == ErrorCode.INVALID_PARAMETER.value


@pytest.mark.parametrize("params", [
    {"width": "abc"}, {"width": "5"}, {"height": "100000"}, {"clip": "10"},
    {"inline": "9999"}, {"shot_point": "1"}, {"inline": "x"},
])
async def test_preview_bad_parameters_answer_the_envelope(jp_fetch, jp_root_dir, seismic_file,
                                                          params):
    seismic_file("f3_ibm_be.sgy", jp_root_dir)
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "preview.png",
                                params={"path": "f3_ibm_be.sgy", **params})
    assert status == 400
    assert set(body) == ENVELOPE and body["code"] == ErrorCode.INVALID_PARAMETER.value
    assert body["message"] and body["hint"] and body["retryable"] is False


async def test_dataset_paths_outside_the_root_are_refused(jp_fetch, jp_root_dir, tmp_path,
                                                          seismic_file):
    outside = seismic_file("f3_ibm_be.sgy", tmp_path / "outside")
    os.symlink(outside, jp_root_dir / "link.sgy")
    os.symlink(outside.parent, jp_root_dir / "link-dir")
    for route in ("summary", "preview.png"):
        for path in ("../outside/f3_ibm_be.sgy", "a/../../outside/f3_ibm_be.sgy",
                     str(outside), "link.sgy", "link-dir/f3_ibm_be.sgy"):
            status, body = await _fetch(jp_fetch, "promethium", "datasets", route,
                                        params={"path": path})
            assert status == 403, (route, path, body)
            assert body["code"] == ErrorCode.PATH_OUTSIDE_ROOT.value
        status, body = await _fetch(jp_fetch, "promethium", "datasets", route,
                                    params={"path": "no/such.sgy"})
        assert status == 404 and body["code"] == ErrorCode.PATH_NOT_FOUND.value
        status, body = await _fetch(jp_fetch, "promethium", "datasets", route)
        assert status == 400 and body["code"] == ErrorCode.INVALID_PARAMETER.value
    (jp_root_dir / "notes.sgy").write_text("not seismic at all")
    status, body = await _fetch(jp_fetch, "promethium", "datasets", "summary",
                                params={"path": "notes.sgy"})
    assert status == 400 and set(body) == ENVELOPE  # typed, never a traceback


async def test_models_show_the_shipped_weights_with_lineage(jp_fetch):
    status, body = await _fetch(jp_fetch, "promethium", "models")
    assert status == 200, body
    by_ref = {m["ref"]: m for m in body["models"]}
    assert {"synthetic-unet:v1", "synthetic-autoencoder:v1", "synthetic-pinn:v1"} <= set(by_ref)
    unet = by_ref["synthetic-unet:v1"]
    assert unet["builtin"] is True and unet["architecture"] == "unet"
    assert unet["trained_on"] == "synthetic:promethium_lab.ml.data.SyntheticPatches"
    assert unet["seed"] == 0 and unet["parameters"]["max_epochs"] == 10
    assert unet["metrics"]["snr_hidden_db"] > 0
    assert unet["weights_sha256"].startswith("sha256:") and unet["software"]["torch"]

    status, detail = await _fetch(jp_fetch, "promethium", "models", "synthetic-unet")
    assert status == 200, detail
    assert detail["ref"] == "synthetic-unet:v1" and detail["versions"] == [1]
    assert detail["config"]["depth"] == 2 and detail["metadata"]["seed"] == 0
    status, same = await _fetch(jp_fetch, "promethium", "models", "synthetic-unet:v1")
    assert status == 200 and same == detail
    for ref in ("no-such-model", "synthetic-unet:v9"):
        status, body = await _fetch(jp_fetch, "promethium", "models", ref)
        assert status == 404 and body["code"] == ErrorCode.PATH_NOT_FOUND.value


async def test_workflows_give_each_kind_its_parameter_schema(jp_fetch):
    status, body = await _fetch(jp_fetch, "promethium", "workflows")
    assert status == 200, body
    kinds = {w["kind"]: w for w in body["workflows"]}
    assert {"ingest", "reconstruct", "train", "evaluate", "export"} <= set(kinds)
    ingest = kinds["ingest"]
    assert ingest["error"] is None and ingest["outputs"] == ["store"]
    schema = ingest["parameters"]
    assert {"path", "store"} <= set(schema["required"])
    assert schema["properties"]["store"]["x-promethium-output"] is True
    assert kinds["reconstruct"]["gpu"] == "auto"


ROUTES = [("GET", ("info",)), ("GET", ("datasets",)), ("GET", ("datasets", "summary")),
          ("GET", ("datasets", "preview.png")), ("GET", ("jobs",)), ("POST", ("jobs",)),
          ("GET", ("jobs", "0123456789ab")), ("POST", ("jobs", "0123456789ab", "cancel")),
          ("GET", ("jobs", "0123456789ab", "preview.png")), ("GET", ("models",)),
          ("GET", ("models", "synthetic-unet")), ("GET", ("workflows",))]


async def test_every_route_refuses_requests_without_a_token(jp_fetch):
    for method, parts in ROUTES:
        kwargs = {"method": "POST", "body": b"{}"} if method == "POST" else {}
        for auth in ("", "token not-the-token"):
            status, _ = await _fetch(jp_fetch, "promethium", *parts,
                                     headers={"Authorization": auth}, **kwargs)
            assert status == 403, (method, parts, auth)
