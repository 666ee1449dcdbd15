"""Real instrument files (../shared/data/formats, see its SOURCES.md) through the public ``atomgraph.read_image``.

The files were written by DigitalMicrograph, Velox and the NCEM EMD writer; the expected shapes, frame counts and
calibrations (nm and pm converted to Å) are those SOURCES.md states. Skipped with a reason when ../shared is absent
(a clone without the shared data) or when rosettasciio (the ``[formats]`` extra) is not installed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import atomgraph
from atomgraph.errors import AtomgraphInputError
from atomgraph.io.images import IMAGE_EXTENSIONS

SHARED = Path(__file__).resolve().parents[2] / "shared"
FORMATS = SHARED / "data" / "formats"

needs_files = pytest.mark.skipif(not FORMATS.is_dir(),
                                 reason=f"shared test data not found at {FORMATS} (clone with ../shared beside it)")
needs_rsciio = pytest.mark.skipif(not (importlib.util.find_spec("rsciio") and importlib.util.find_spec("h5py")),
                                  reason='rosettasciio and h5py not installed: pip install "atomgraph[formats]"')

# file -> (data shape, frames, pixel size in Å or None), from SOURCES.md
EXPECTED = {
    "test_STEM_image.dm3": ((68, 68), 1, 2.4853801727294922),                       # 0.24853801727294922 nm
    "test-1.dm4": ((2, 2), 1, None),                                                 # scale 1.0, no units
    "fei_example_tem_stack.emd": ((2, 3, 3), 2, 0.08172883192297851),               # Velox, 8.1728... pm
    "example_image.emd": ((3, 3), 1, None),                                          # NCEM, units "[]"
}


@needs_files
def test_every_file_in_the_folder_is_covered():
    names = {p.name for p in FORMATS.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS}
    assert names == set(EXPECTED), f"new files in {FORMATS}: add them to EXPECTED from SOURCES.md"


@needs_files
@needs_rsciio
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_shape_frames_and_calibration(name):
    shape, frames, pixel_size_A = EXPECTED[name]
    image = atomgraph.read_image(FORMATS / name, allow_stack=True)
    assert image.data.shape == shape and image.data.dtype == np.float32
    assert image.frames == frames
    if pixel_size_A is None:
        assert image.pixel_size_A is None
    else:
        assert image.pixel_size_A == pytest.approx(pixel_size_A, rel=1e-9)
    assert np.isfinite(image.data).all()


@needs_files
@needs_rsciio
def test_stack_given_to_a_single_image_reader_is_refused():
    with pytest.raises(AtomgraphInputError, match="stack of 2 frames"):
        atomgraph.read_image(FORMATS / "fei_example_tem_stack.emd")


@needs_files
@needs_rsciio
def test_dm3_values_are_the_stored_counts():
    from rsciio.digitalmicrograph import file_reader

    raw = file_reader(str(FORMATS / "test_STEM_image.dm3"))[0]["data"]
    np.testing.assert_array_equal(atomgraph.read_image(FORMATS / "test_STEM_image.dm3").data, raw.astype(np.float32))


@needs_files
@needs_rsciio
def test_emd_without_h5py_names_the_missing_package(monkeypatch):
    """rosettasciio present but h5py missing: the message names h5py (not a loop back to the same extra)."""
    monkeypatch.setitem(sys.modules, "h5py", None)
    for name in [m for m in sys.modules if m.startswith("rsciio.emd")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(AtomgraphInputError, match=r"reading \.emd needs h5py"):
        atomgraph.read_image(FORMATS / "example_image.emd")


def test_formats_extra_installs_what_each_reader_imports():
    """The extra must bring h5py (.emd is HDF5): without it the reader's advice to install the extra looped."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    for extra in ("formats", "test"):  # test: so CI reads the real files instead of skipping
        names = {req.split(">")[0].split("=")[0].split("[")[0].strip().lower() for req in extras[extra]}
        assert {"rosettasciio", "h5py"} <= names, extra


def test_ser_goes_through_rsciio_tia_with_its_calibration(tmp_path, monkeypatch):
    import types

    data = np.arange(80, dtype=np.float32).reshape(8, 10)
    fake = types.ModuleType("rsciio.tia")
    fake.file_reader = lambda filename, lazy=False: [
        {"data": data, "axes": [{"scale": 12.7, "units": "pm"}, {"scale": 12.7, "units": "pm"}]}]
    monkeypatch.setitem(sys.modules, "rsciio", types.ModuleType("rsciio"))
    monkeypatch.setitem(sys.modules, "rsciio.tia", fake)
    path = tmp_path / "scan.ser"
    path.write_bytes(b"II\x97\x01" + bytes(100))
    image = atomgraph.read_image(path)
    assert image.pixel_size_A == pytest.approx(0.127)
    np.testing.assert_array_equal(image.data, data)
