#!/usr/bin/env bash
# Install the anchors of benchmarks/recon_bench.py into the current (or a given) Python:
#
#   * pyseistr 0.0.4.4.2 (PWD dips + structure-oriented interpolation), built from its PyPI
#     sdist with the C sources patched for numpy 2;
#   * pylops 2.8.0 (FK / sliding-Radon regularization), a pure-Python wheel.
#
# Usage:  bash benchmarks/install_anchors.sh [PYTHON]      (default: python3, or $PYTHON)
#
# Why the patch: pyseistr 0.0.4.4.2 is published only as an sdist, and its C extensions call
# PyArray_FROM_OTF(..., NPY_IN_ARRAY). numpy 2 removed the old NPY_IN_ARRAY alias (it is
# NPY_ARRAY_IN_ARRAY since numpy 1.7, the same flag value), so `pip install pyseistr` fails to
# compile against numpy 2 with "'NPY_IN_ARRAY' undeclared". That is the only change numpy 2
# needs: the patched sources build and run under numpy 1.7+ and 2.x alike. Its setup.py also
# imports numpy (for the include path) and declares no build requirements, so it is built
# without build isolation, against the numpy of the target environment (the one it will run
# with: numpy 2's C ABI is what the compiled modules must match).
#
# Needs a C compiler and the Python headers (Debian/Ubuntu: apt-get install build-essential
# python3-dev), and PyPI. Idempotent: rerunning reinstalls the same versions.
set -euo pipefail

PY="${1:-${PYTHON:-python3}}"
PYSEISTR_VERSION="0.0.4.4.2"
PYSEISTR_SHA256="3d1136bf9104d1772abd3d467f3af9e63f53ab2e3bfc3cf680d483123b37f71e"
PYLOPS_VERSION="2.8.0"

if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "install_anchors: $PY has no numpy; install the project first (pip install -e .)" >&2
    exit 1
fi
if ! command -v "${CC:-cc}" >/dev/null 2>&1; then
    echo "install_anchors: no C compiler (${CC:-cc}) found; pyseistr has C extensions" \
         "(Debian/Ubuntu: apt-get install build-essential python3-dev)" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/install_anchors.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "install_anchors: python $("$PY" -c 'import sys; print(sys.executable)')," \
     "numpy $("$PY" -c 'import numpy; print(numpy.__version__)')"

# Build tools for the non-isolated build (setuptools provides distutils on Python >= 3.12).
"$PY" -m pip install --quiet "setuptools>=61" wheel

echo "install_anchors: downloading the pyseistr $PYSEISTR_VERSION sdist from PyPI"
"$PY" -m pip download --quiet --no-deps --no-binary :all: --dest "$work" \
    "pyseistr==$PYSEISTR_VERSION"
sdist="$work/pyseistr-$PYSEISTR_VERSION.tar.gz"
echo "$PYSEISTR_SHA256  $sdist" | sha256sum --check --quiet -
tar -xzf "$sdist" -C "$work"
src="$work/pyseistr-$PYSEISTR_VERSION"

echo "install_anchors: patching NPY_IN_ARRAY -> NPY_ARRAY_IN_ARRAY for numpy 2"
n=$(grep -rlw NPY_IN_ARRAY "$src/pyseistr/src" | wc -l)
grep -rlw NPY_IN_ARRAY "$src/pyseistr/src" | xargs -r sed -i 's/\bNPY_IN_ARRAY\b/NPY_ARRAY_IN_ARRAY/g'
echo "install_anchors: patched $n C files"
if grep -rqw NPY_IN_ARRAY "$src/pyseistr/src"; then
    echo "install_anchors: NPY_IN_ARRAY still present after patching" >&2
    exit 1
fi

# GCC >= 14 turns some old-C warnings that pyseistr's sources trigger into errors; keep them
# warnings (harmless on older compilers).
export CFLAGS="${CFLAGS:-} -Wno-error=incompatible-pointer-types -Wno-error=implicit-function-declaration -Wno-error=int-conversion"

echo "install_anchors: building and installing pyseistr (no build isolation)"
"$PY" -m pip install --quiet --no-build-isolation --no-deps --force-reinstall "$src"
# pyseistr's own runtime requirements (already there in the project's environment)
"$PY" -m pip install --quiet scipy matplotlib

echo "install_anchors: installing pylops $PYLOPS_VERSION"
"$PY" -m pip install --quiet "pylops==$PYLOPS_VERSION"

"$PY" - <<'EOF'
import numpy as np
import pylops
import pyseistr as ps

# a smoke run of the two pyseistr calls the benchmark makes (C code, numpy arrays in and out)
t = np.arange(64)[:, None]
x = np.arange(16)[None, :]
d = np.sin(0.3 * (t - 0.5 * x)).astype(np.float32)
mask = np.ones_like(d)
mask[:, 1::2] = 0
dip = ps.dip2dc(d * mask, mask=mask, order=1, rect=[5, 5, 1], verb=0)
out = ps.soint2dc(d * mask, mask, dip, order=1, niter=20, njs=[1, 1], drift=0, hasmask=1,
                  verb=0)
assert np.asarray(out).shape == d.shape and np.isfinite(out).all()
print(f"install_anchors: OK, numpy {np.__version__}, pyseistr {ps.__file__}, "
      f"pylops {pylops.__version__}")
EOF
