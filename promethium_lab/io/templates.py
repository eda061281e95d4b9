"""One dataset template per survey geometry, as MDIO's ``mdio.builder.templates`` declare.

A :class:`GeometryTemplate` holds every fact about one geometry that the readers, the
grid inference, the store and the SEG-Y writer need: the trace dims (the sample dim
``time`` always follows), the coordinate variables (name, unit, SEG-Y header field),
the default chunk shape, the MDIO template name, MDIO's ``surveyType`` / ``gatherType``
attrs and, per grid key, the keyword argument that sets its header byte and the byte
read by default. ``docs/data-model.md`` tabulates :data:`TEMPLATES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_KEY_BYTES",
    "KEY_BYTE_PARAMS",
    "TEMPLATES",
    "Coordinate",
    "GeometryTemplate",
    "geometry_from_dims",
    "geometry_from_mdio_name",
    "get_template",
]


@dataclass(frozen=True)
class Coordinate:
    """A per-trace coordinate variable read from a SEG-Y trace header field.

    Attributes
    ----------
    name : str
        Variable name in the survey (MDIO's).
    header : str
        Field of :func:`promethium_lab.io.segy_spec.headers_dtype` it is read from,
        scaled by the coordinate scalar (bytes 71-72).
    units : str
        Value of the variable's ``units`` attr.
    """

    name: str
    header: str
    units: str = "m"


_CDP_XY = (Coordinate("cdp_x", "cdp_x"), Coordinate("cdp_y", "cdp_y"))


@dataclass(frozen=True)
class GeometryTemplate:
    """Dims, coordinates, chunking and MDIO names of one survey geometry.

    Attributes
    ----------
    geometry : str
        ``attrs["geometry"]`` of a survey.
    dims : tuple of str
        Trace dims, slowest first (``time`` follows them).
    coordinates : tuple of Coordinate
        Coordinate variables over the trace dims (none for waveforms).
    chunks : tuple of int
        Default chunk shape over ``dims + ("time",)`` (MDIO's ``_var_chunk_shape``); the
        store sizes its own chunks with :func:`promethium_lab.io.store.choose_chunks`.
    mdio_name : str or None
        MDIO template name written as the store's ``name`` (None: no MDIO template).
    survey_type, gather_type : str
        MDIO's ``surveyType`` and ``gatherType`` attrs.
    key_bytes : dict of str to int
        Per grid dim, the 1-based trace header byte read by default (empty when the
        dims are not header keys).
    """

    geometry: str
    dims: tuple[str, ...]
    coordinates: tuple[Coordinate, ...]
    chunks: tuple[int, ...]
    mdio_name: str | None
    survey_type: str
    gather_type: str
    key_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def coordinate_names(self) -> tuple[str, ...]:
        """Names of :attr:`coordinates`."""
        return tuple(c.name for c in self.coordinates)

    @property
    def key_byte_params(self) -> dict[str, str]:
        """Per grid dim, the keyword argument that sets its header byte."""
        return {d: KEY_BYTE_PARAMS[d] for d in self.key_bytes}


#: Keyword argument that sets each grid key's header byte.
KEY_BYTE_PARAMS: dict[str, str] = {
    "inline": "inline_byte",
    "crossline": "crossline_byte",
    "cdp": "cdp_byte",
    "offset": "offset_byte",
    "shot_point": "shot_byte",
    "channel": "channel_byte",
}

#: Every geometry's template, by geometry name (the order of ``GEOMETRIES``).
TEMPLATES: dict[str, GeometryTemplate] = {
    t.geometry: t
    for t in (
        GeometryTemplate(
            "poststack3d", ("inline", "crossline"), _CDP_XY, (128, 128, 128),
            "PostStack3DTime", "3D", "stacked", {"inline": 189, "crossline": 193},
        ),
        GeometryTemplate(
            "poststack2d", ("cdp",), _CDP_XY, (1024, 1024),
            "PostStack2DTime", "2D", "stacked", {"cdp": 21},
        ),
        GeometryTemplate(
            "shot", ("shot_point", "channel"),
            (
                Coordinate("source_coord_x", "source_coord_x"),
                Coordinate("source_coord_y", "source_coord_y"),
                Coordinate("group_coord_x", "group_coord_x"),
                Coordinate("group_coord_y", "group_coord_y"),
            ),
            (1, 512, 4096), "StreamerShotGathers2D", "2D", "common_source",
            {"shot_point": 9, "channel": 13},
        ),
        GeometryTemplate(
            "cdp_offset", ("cdp", "offset"), _CDP_XY, (1, 512, 4096),
            "CdpOffsetGathers2DTime", "2D", "common_cdp", {"cdp": 21, "offset": 37},
        ),
        GeometryTemplate("irregular", ("trace",), _CDP_XY, (1024, 1024),
                         None, "unknown", "unknown"),
        GeometryTemplate("waveforms", ("trace",), (), (1, 65536),
                         None, "unknown", "waveforms"),
    )
}

#: Header byte of each grid key when none is given (from the templates).
DEFAULT_KEY_BYTES: dict[str, int] = {
    d: b for t in TEMPLATES.values() for d, b in t.key_bytes.items()
}


def get_template(geometry: str) -> GeometryTemplate:
    """Template of ``geometry``; the ``irregular`` one for an unknown name."""
    return TEMPLATES.get(geometry, TEMPLATES["irregular"])


def geometry_from_mdio_name(name: str) -> str:
    """Geometry of an MDIO template name (domain suffix ignored), else ``"irregular"``.

    ``PostStack3DDepth`` gives ``poststack3d``: names match on the template's name
    without its ``Time`` / ``Depth`` suffix.
    """
    for t in TEMPLATES.values():
        if t.mdio_name is None:
            continue
        stem = t.mdio_name.removesuffix("Time").removesuffix("Depth")
        if name.startswith(stem):
            return t.geometry
    return "irregular"


def geometry_from_dims(dims: tuple[str, ...]) -> str:
    """Geometry whose trace dims are ``dims`` (``("trace",)`` gives ``irregular``), else
    ``"unknown"``."""
    for t in TEMPLATES.values():
        if t.dims == tuple(dims):
            return t.geometry
    return "unknown"
