"""Geometry templates: one table, read by geometry, store, SEG-Y headers and the docs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from promethium_lab.io import geometry, segy_headers
from promethium_lab.io.segy_spec import headers_dtype
from promethium_lab.io.templates import (
    DEFAULT_KEY_BYTES,
    KEY_BYTE_PARAMS,
    TEMPLATES,
    GeometryTemplate,
    geometry_from_dims,
    geometry_from_mdio_name,
    get_template,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "data-model.md"


def test_one_template_per_geometry() -> None:
    assert list(TEMPLATES) == [
        "poststack3d", "poststack2d", "shot", "cdp_offset", "irregular", "waveforms",
    ]
    for name, t in TEMPLATES.items():
        assert isinstance(t, GeometryTemplate) and t.geometry == name
        assert len(t.chunks) == len(t.dims) + 1  # trace dims + time
        assert set(t.key_bytes) <= set(t.dims)
        assert set(t.key_bytes) <= set(KEY_BYTE_PARAMS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        TEMPLATES["shot"].dims = ("x",)  # type: ignore[misc]


def test_coordinates_are_header_fields() -> None:
    fields = set(headers_dtype().names or ())
    for t in TEMPLATES.values():
        for c in t.coordinates:
            assert c.header in fields and c.units == "m"
    assert TEMPLATES["shot"].coordinate_names == (
        "source_coord_x", "source_coord_y", "group_coord_x", "group_coord_y",
    )


def test_geometry_module_reads_the_templates() -> None:
    assert geometry.GEOMETRIES == ("poststack3d", "poststack2d", "shot", "cdp_offset",
                                   "irregular")
    assert geometry.TEMPLATES == {g: TEMPLATES[g].mdio_name for g in geometry.GEOMETRIES}
    assert geometry.DEFAULT_KEY_BYTES is DEFAULT_KEY_BYTES
    assert geometry.KEY_BYTE_PARAMS is KEY_BYTE_PARAMS
    assert DEFAULT_KEY_BYTES == {"inline": 189, "crossline": 193, "cdp": 21, "offset": 37,
                                 "shot_point": 9, "channel": 13}
    assert segy_headers.default_key_bytes(("cdp", "offset")) == {"cdp": 21, "offset": 37}
    assert TEMPLATES["shot"].key_byte_params == {"shot_point": "shot_byte",
                                                 "channel": "channel_byte"}


def test_mdio_names_map_back() -> None:
    for t in TEMPLATES.values():
        if t.mdio_name is not None:
            assert geometry_from_mdio_name(t.mdio_name) == t.geometry
    assert geometry_from_mdio_name("PostStack3DDepth") == "poststack3d"
    assert geometry_from_mdio_name("Something") == "irregular"
    assert get_template("nonsense") is TEMPLATES["irregular"]
    assert geometry_from_dims(("cdp", "offset")) == "cdp_offset"
    assert geometry_from_dims(("trace",)) == "irregular"
    assert geometry_from_dims(("a", "b")) == "unknown"


def test_docs_table_matches_templates() -> None:
    text = DOC.read_text()
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\| `(\w+)`[^|]*\| `([^`]+)` \|", line)
        if m and m.group(1) in TEMPLATES:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[m.group(1)] = cells
    assert set(rows) == set(TEMPLATES)
    for name, cells in rows.items():
        t = TEMPLATES[name]
        assert cells[1] == f"`{', '.join(t.dims)}`"
        assert cells[4] == (f"`{t.mdio_name}`" if t.mdio_name else "–")
        assert cells[5] == f"`{t.survey_type}` / `{t.gather_type}`"
        for d, b in t.key_bytes.items():
            assert f"{d.replace('_point', '')} {b}" in cells[3]
