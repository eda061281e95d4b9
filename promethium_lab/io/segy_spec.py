"""SEG-Y header layouts (trace and binary, rev 1 and 2.1) and sample formats.

Field names are MDIO's (the ``segy`` library's), so a store written here reads like one
MDIO wrote. Byte positions are 1-based, as in the SEG-Y standard.
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache

import numpy as np

__all__ = [
    "BINARY_FIELDS",
    "BINARY_HEADER_SIZE",
    "BYTE_ORDER_CONSTANT",
    "TEXT_HEADER_SIZE",
    "TRACE_FIELDS",
    "TRACE_HEADER_SIZE",
    "UNSUPPORTED_FORMATS",
    "SampleFormat",
    "binary_header_dtype",
    "binary_sample_count",
    "decode_binary_header",
    "decode_trace_headers",
    "field_at_byte",
    "headers_dtype",
    "trace_header_dtype",
]

TEXT_HEADER_SIZE = 3200
BINARY_HEADER_SIZE = 400
TRACE_HEADER_SIZE = 240


class SampleFormat(IntEnum):
    """SEG-Y data sample format codes (binary header bytes 3225-3226) read and written here.

    The one table of sample formats: every code segyio decodes. Each member holds its
    ``code`` (the int value), ``kind`` (numpy kind without byte order; IBM floats are
    stored as ``u4`` words), ``itemsize``, ``description`` and ``label`` (the lower-case
    name accepted by ``export(format=...)``).
    """

    kind: str
    description: str

    IBM = 1, "u4", "4-byte IBM floating point"
    INT32 = 2, "i4", "4-byte two's complement integer"
    INT16 = 3, "i2", "2-byte two's complement integer"
    IEEE = 5, "f4", "4-byte IEEE floating point"
    FLOAT64 = 6, "f8", "8-byte IEEE floating point"
    INT8 = 8, "i1", "1-byte two's complement integer"
    INT64 = 9, "i8", "8-byte two's complement integer"
    UINT32 = 10, "u4", "4-byte unsigned integer"
    UINT16 = 11, "u2", "2-byte unsigned integer"
    UINT64 = 12, "u8", "8-byte unsigned integer"
    UINT8 = 16, "u1", "1-byte unsigned integer"

    def __new__(cls, code: int, kind: str, description: str) -> SampleFormat:
        obj = int.__new__(cls, code)
        obj._value_ = code
        obj.kind = kind
        obj.description = description
        return obj

    @property
    def code(self) -> int:
        """The SEG-Y code."""
        return int(self)

    @property
    def itemsize(self) -> int:
        """Bytes per sample."""
        return np.dtype(self.kind).itemsize

    @property
    def label(self) -> str:
        """Lower-case name (``"ibm"``, ``"ieee"``, ``"int16"`` ...)."""
        return self.name.lower()

    @property
    def is_integer(self) -> bool:
        """True for the integer formats (samples must be integral to be written)."""
        return self not in (SampleFormat.IBM, SampleFormat.IEEE, SampleFormat.FLOAT64)

    def dtype(self, endian: str = ">") -> np.dtype:
        """numpy dtype of the samples as stored, in byte order ``endian``."""
        return np.dtype(endian + self.kind)


#: Valid SEG-Y sample format codes that segyio does not decode either (-> PL-IO-005).
UNSUPPORTED_FORMATS: dict[int, str] = {
    4: "4-byte fixed point with gain (obsolete)",
    7: "3-byte two's complement integer",
    15: "3-byte unsigned integer",
}

#: (name, 1-based byte, numpy kind) of every standard trace header field.
TRACE_FIELDS: tuple[tuple[str, int, str], ...] = (
    ('trace_seq_num_line', 1, 'i4'),
    ('trace_seq_num_reel', 5, 'i4'),
    ('orig_field_record_num', 9, 'i4'),
    ('trace_num_orig_record', 13, 'i4'),
    ('energy_source_point_num', 17, 'i4'),
    ('ensemble_num', 21, 'i4'),
    ('trace_num_ensemble', 25, 'i4'),
    ('trace_id_code', 29, 'i2'),
    ('vertically_summed_traces', 31, 'i2'),
    ('horizontally_stacked_traces', 33, 'i2'),
    ('data_use', 35, 'i2'),
    ('source_to_receiver_distance', 37, 'i4'),
    ('receiver_group_elevation', 41, 'i4'),
    ('source_surface_elevation', 45, 'i4'),
    ('source_depth_below_surface', 49, 'i4'),
    ('receiver_datum_elevation', 53, 'i4'),
    ('source_datum_elevation', 57, 'i4'),
    ('source_water_depth', 61, 'i4'),
    ('receiver_water_depth', 65, 'i4'),
    ('elevation_depth_scalar', 69, 'i2'),
    ('coordinate_scalar', 71, 'i2'),
    ('source_coord_x', 73, 'i4'),
    ('source_coord_y', 77, 'i4'),
    ('group_coord_x', 81, 'i4'),
    ('group_coord_y', 85, 'i4'),
    ('coordinate_unit', 89, 'i2'),
    ('weathering_velocity', 91, 'i2'),
    ('subweathering_velocity', 93, 'i2'),
    ('source_uphole_time', 95, 'i2'),
    ('group_uphole_time', 97, 'i2'),
    ('source_static_correction', 99, 'i2'),
    ('receiver_static_correction', 101, 'i2'),
    ('total_static_applied', 103, 'i2'),
    ('lag_time_a', 105, 'i2'),
    ('lag_time_b', 107, 'i2'),
    ('delay_recording_time', 109, 'i2'),
    ('mute_time_start', 111, 'i2'),
    ('mute_time_end', 113, 'i2'),
    ('samples_per_trace', 115, 'i2'),
    ('sample_interval', 117, 'i2'),
    ('instrument_gain_type', 119, 'i2'),
    ('instrument_gain_const', 121, 'i2'),
    ('instrument_gain_initial', 123, 'i2'),
    ('correlated_data', 125, 'i2'),
    ('sweep_freq_start', 127, 'i2'),
    ('sweep_freq_end', 129, 'i2'),
    ('sweep_length', 131, 'i2'),
    ('sweep_type', 133, 'i2'),
    ('sweep_taper_start', 135, 'i2'),
    ('sweep_taper_end', 137, 'i2'),
    ('taper_type', 139, 'i2'),
    ('alias_filter_freq', 141, 'i2'),
    ('alias_filter_slope', 143, 'i2'),
    ('notch_filter_freq', 145, 'i2'),
    ('notch_filter_slope', 147, 'i2'),
    ('low_cut_freq', 149, 'i2'),
    ('high_cut_freq', 151, 'i2'),
    ('low_cut_slope', 153, 'i2'),
    ('high_cut_slope', 155, 'i2'),
    ('year_recorded', 157, 'i2'),
    ('day_of_year', 159, 'i2'),
    ('hour_of_day', 161, 'i2'),
    ('minute_of_hour', 163, 'i2'),
    ('second_of_minute', 165, 'i2'),
    ('time_basis_code', 167, 'i2'),
    ('trace_weighting_factor', 169, 'i2'),
    ('group_num_roll_switch', 171, 'i2'),
    ('group_num_first_trace', 173, 'i2'),
    ('group_num_last_trace', 175, 'i2'),
    ('gap_size', 177, 'i2'),
    ('taper_overtravel', 179, 'i2'),
    ('cdp_x', 181, 'i4'),
    ('cdp_y', 185, 'i4'),
    ('inline', 189, 'i4'),
    ('crossline', 193, 'i4'),
    ('shot_point', 197, 'i4'),
    ('shot_point_scalar', 201, 'i2'),
    ('trace_value_unit', 203, 'i2'),
    ('transduction_const_mantissa', 205, 'i4'),
    ('transduction_const_exponent', 209, 'i2'),
    ('transduction_unit', 211, 'i2'),
    ('device_trace_id', 213, 'i2'),
    ('times_scalar', 215, 'i2'),
    ('source_type_orientation', 217, 'i2'),
    ('source_energy_dir_mantissa', 219, 'i4'),
    ('source_energy_dir_exponent', 223, 'i2'),
    ('source_measurement_mantissa', 225, 'i4'),
    ('source_measurement_exponent', 229, 'i2'),
    ('source_measurement_unit', 231, 'i2'),
)

#: (name, 1-based byte within the 400-byte header, numpy kind) of the standard binary
#: header fields, rev 1 and rev 2.1 (file byte = 3200 + byte). ``segy_revision`` (rev 1's
#: 2-byte word) overlaps rev 2's one-byte ``segy_revision_major``/``_minor``.
BINARY_FIELDS: tuple[tuple[str, int, str], ...] = (
    ('job_id', 1, 'i4'),
    ('line_num', 5, 'i4'),
    ('reel_num', 9, 'i4'),
    ('data_traces_per_ensemble', 13, 'i2'),
    ('aux_traces_per_ensemble', 15, 'i2'),
    ('sample_interval', 17, 'i2'),
    ('orig_sample_interval', 19, 'i2'),
    ('samples_per_trace', 21, 'i2'),
    ('orig_samples_per_trace', 23, 'i2'),
    ('data_sample_format', 25, 'i2'),
    ('ensemble_fold', 27, 'i2'),
    ('trace_sorting_code', 29, 'i2'),
    ('vertical_sum_code', 31, 'i2'),
    ('sweep_freq_start', 33, 'i2'),
    ('sweep_freq_end', 35, 'i2'),
    ('sweep_length', 37, 'i2'),
    ('sweep_type_code', 39, 'i2'),
    ('sweep_trace_num', 41, 'i2'),
    ('sweep_taper_start', 43, 'i2'),
    ('sweep_taper_end', 45, 'i2'),
    ('taper_type_code', 47, 'i2'),
    ('correlated_data_code', 49, 'i2'),
    ('binary_gain_code', 51, 'i2'),
    ('amp_recovery_code', 53, 'i2'),
    ('measurement_system_code', 55, 'i2'),
    ('impulse_polarity_code', 57, 'i2'),
    ('vibratory_polarity_code', 59, 'i2'),
    ('extended_data_traces_per_ensemble', 61, 'i4'),
    ('extended_aux_traces_per_ensemble', 65, 'i4'),
    ('extended_samples_per_trace', 69, 'i4'),
    ('extended_sample_interval', 73, 'f8'),
    ('extended_orig_sample_interval', 81, 'f8'),
    ('extended_orig_samples_per_trace', 89, 'i4'),
    ('extended_ensemble_fold', 93, 'i4'),
    ('byte_order', 97, 'i4'),
    ('segy_revision', 301, 'i2'),
    ('segy_revision_major', 301, 'u1'),
    ('segy_revision_minor', 302, 'u1'),
    ('fixed_length_trace_flag', 303, 'i2'),
    ('num_extended_text_headers', 305, 'i2'),
    ('max_extended_trace_headers', 307, 'i2'),
    ('survey_type', 309, 'i2'),
    ('time_basis_code', 311, 'i2'),
    ('num_traces', 313, 'u8'),
    ('byte_offset_first_trace', 321, 'u8'),
    ('num_data_trailer_stanzas', 329, 'i4'),
)

#: The rev 2 byte-order constant (bytes 3297-3300) read in the file's byte order.
BYTE_ORDER_CONSTANT = 0x01020304


@lru_cache(maxsize=4)
def trace_header_dtype(endian: str = ">") -> np.dtype:
    """Structured dtype that views raw 240-byte trace headers (``endian`` '>' or '<')."""
    return np.dtype(
        {
            "names": [n for n, _, _ in TRACE_FIELDS],
            "formats": [endian + k for _, _, k in TRACE_FIELDS],
            "offsets": [b - 1 for _, b, _ in TRACE_FIELDS],
            "itemsize": TRACE_HEADER_SIZE,
        }
    )


@lru_cache(maxsize=4)
def binary_header_dtype(endian: str = ">") -> np.dtype:
    """Structured dtype that views the raw 400-byte binary header."""
    return np.dtype(
        {
            "names": [n for n, _, _ in BINARY_FIELDS],
            "formats": [endian + k for _, _, k in BINARY_FIELDS],
            "offsets": [b - 3201 for _, b, _ in BINARY_FIELDS]
            if BINARY_FIELDS[0][1] > 3200
            else [b - 1 for _, b, _ in BINARY_FIELDS],
            "itemsize": BINARY_HEADER_SIZE,
        }
    )


@lru_cache(maxsize=1)
def headers_dtype() -> np.dtype:
    """Packed little-endian structured dtype of MDIO's ``headers`` variable."""
    return np.dtype([(n, "<" + k) for n, _, k in TRACE_FIELDS])


def decode_trace_headers(raw: np.ndarray, endian: str = ">") -> np.ndarray:
    """Decode raw headers (``(..., 240)`` uint8 or ``V240``) into :func:`headers_dtype` records."""
    raw = np.ascontiguousarray(raw)
    shape = raw.shape[:-1] if raw.dtype == np.uint8 else raw.shape
    view = raw.view(trace_header_dtype(endian)).reshape(shape)
    return view.astype(headers_dtype())


def decode_binary_header(raw: bytes, endian: str = ">") -> dict[str, int | float]:
    """Decode the 400-byte binary header into a dict of named numbers (floats for the
    rev 2 IEEE double fields, ints for the rest)."""
    rec = np.frombuffer(raw[:BINARY_HEADER_SIZE], dtype=binary_header_dtype(endian))[0]
    return {n: float(rec[n]) if k[0] == "f" else int(rec[n]) for n, _, k in BINARY_FIELDS}


def binary_sample_count(fields: dict[str, int | float]) -> int:
    """Samples per trace a decoded binary header says: rev 2's 32-bit count (bytes
    3269-3272) when set in a rev 2 header, else the unsigned 16-bit count (3221-3222);
    with segyio's rule that a set 32-bit count also counts when the 16-bit one is 0."""
    ns = int(fields["samples_per_trace"]) & 0xFFFF
    ext = int(fields["extended_samples_per_trace"])
    return ext if ext > 0 and (fields["segy_revision_major"] == 2 or ns == 0) else ns


def field_at_byte(byte: int) -> tuple[str, int, str]:
    """The trace header field starting at 1-based ``byte``; KeyError when none does."""
    for f in TRACE_FIELDS:
        if f[1] == byte:
            return f
    raise KeyError(byte)
