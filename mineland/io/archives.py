"""Zip archives of survey files: what GDAL reads of a zip, and unpacking one whose
files it would not all read.

GDAL reads a ``.zip`` as one dataset: the Shapefiles at the top of it, or the one
file it holds.  A national export often zips several files (``hazards.shp`` and
``releases.geojson``, or a Shapefile per folder): read by GDAL, all but one kind would
be left out without a word.  Such a zip is unpacked into a scratch folder and read as
a folder of files, each named ``export.zip/releases.geojson`` in what is reported.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import InputFileError
from ._gdal import is_zip_content, kmz_documents, layer_types, zip_members
from .files import CSV_EXTENSIONS, DATA_ENDINGS, EXCEL_EXTENSIONS, find_input_files

__all__ = ["unpack_zip", "unpacked_inputs", "zip_datasets", "zip_needs_unpacking"]

#: zips inside zips unpacked, at most
MAX_DEPTH = 8
#: how the scratch folders of unpacked zips are named
PREFIX = "mineland-unzipped-"


def zip_datasets(path: Path) -> list[str]:
    """The datasets in a zip: each folder of Shapefiles (named by its first, as GDAL
    reads the Shapefiles of a folder as one), and each other data file (a File
    Geodatabase's folder is one)."""
    shapefiles: dict[PurePosixPath, str] = {}
    others: dict[str, None] = {}
    for name in zip_members(path):
        member = PurePosixPath(name)
        gdb = next((p for p in member.parents if p.suffix.lower() == ".gdb"), None)
        if gdb is not None:
            others.setdefault(f"{gdb}/", None)
        elif _is_shp(name):
            shapefiles.setdefault(member.parent, name)
        elif member.suffix.lower() in DATA_ENDINGS:
            others.setdefault(name, None)
    return [*shapefiles.values(), *others]


def zip_needs_unpacking(path: Path) -> bool:
    """Whether GDAL, reading a zip as one dataset, would leave some of its data out, or
    fail, or read it without its points (a zipped CSV or workbook): it does all it
    should only with the Shapefiles at the top of the zip and nothing else.  A KMZ is
    read by its main KML: one that holds several is unpacked, to read them all."""
    if path.suffix.lower() == ".kmz":
        return len(kmz_documents(path)) > 1
    found = zip_datasets(path)
    return bool(found) and not (len(found) == 1 and "/" not in found[0] and _is_shp(found[0]))


def _is_shp(name: str) -> bool:
    return name.lower().endswith(".shp")


def unpack_zip(path: Path, scratch: Path) -> Path:
    """Unpack a zip into a new folder named as the zip in ``scratch``, its members'
    names kept inside it (a member named ``../x`` or ``/x`` stays inside too), and
    return that folder; refused when it would not fit in the scratch disk's free
    space."""
    folder = Path(tempfile.mkdtemp(dir=scratch)) / path.name
    try:
        with zipfile.ZipFile(path) as archive:  # macOS's metadata stays out
            members = [info for info in archive.infolist() if is_zip_content(info.filename)]
            size = sum(info.file_size for info in members)
            free = shutil.disk_usage(scratch).free
            for info in members if size <= free else []:
                info.filename = _name_as_written(info)
                archive.extract(info, folder)  # ZipFile.extract keeps names inside it
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        raise InputFileError(f"{path}: cannot unpack the zip: {exc}") from None
    if size > free:
        raise InputFileError(
            f"{path}: unpacks to {size / 1e9:.1f} GB, more than the {free / 1e9:.1f} GB "
            f"free in {scratch}: unzip it and give the folder"
        )
    return folder


def _name_as_written(info: zipfile.ZipInfo) -> str:
    """A member's name as its zip tool wrote it: many write UTF-8 names without the
    flag that says so, which ``zipfile`` then reads as code page 437 (``Cəbrayıl`` as
    ``C╔Öbray─▒l``)."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:  # code page 437 it is (or another DOS code page)
        return info.filename


def unpacked_inputs(inputs: list, stack: contextlib.ExitStack) -> list:
    """The inputs (``(path, options)``, as :func:`~mineland.io.files.expand_inputs`
    gives them) with each zip GDAL would not wholly read replaced by the files it
    holds, unpacked into a scratch folder that ``stack`` removes.  Their options carry
    ``shown``: ``(the unpacked folder, the zip)``, to name them as the zip's members;
    until ``stack`` closes, what is logged names them so too.  A zip that cannot be
    unpacked stays, its options carrying why (``refused``) for its reading to raise."""
    return _unpacked(inputs, _Scratch(stack), 0)


@dataclass
class _Scratch:
    """The scratch folder of one read, made when the first zip is unpacked, and the
    unpacked folders named as their zips (see :func:`as_shown`)."""

    stack: contextlib.ExitStack
    folder: Path | None = None
    named: list[tuple[str, str]] = field(default_factory=list)

    def unpack(self, path: Path, name: str) -> tuple[str, str]:
        if self.folder is None:
            made = tempfile.TemporaryDirectory(prefix=PREFIX)
            self.folder = Path(self.stack.enter_context(made))
            self.stack.enter_context(_logged_as_shown(self.named))
        self.named.append((str(unpack_zip(path, self.folder)), name))
        return self.named[-1]


def _unpacked(inputs: list, scratch: _Scratch, depth: int) -> list:
    out = []
    for path, options in inputs:
        if not (isinstance(path, Path) and path.is_file() and zip_needs_unpacking(path)):
            out.append((path, options))
            continue
        try:
            inside = _unpacked_files(path, options, scratch, depth)
        except InputFileError as exc:  # refused when read, as an unreadable file is
            out.append((path, {**options, "refused": as_shown(str(exc), options.get("shown"))}))
            continue
        out.extend(_unpacked(inside, scratch, depth + 1))
    return out


def _unpacked_files(path: Path, options: dict, scratch: _Scratch, depth: int) -> list:
    """The files of one zip, unpacked, with their options (see :func:`unpacked_inputs`)."""
    name = as_shown(str(path), options.get("shown"))  # inside the zip it came in
    if depth >= MAX_DEPTH:
        raise InputFileError(f"{name}: zips nested more than {MAX_DEPTH} deep")
    shown = scratch.unpack(path, name)
    files = find_input_files([shown[0]], shown_as=name)
    if options.get("layer") is not None:  # a manifest's layer: the files holding it
        files = _holding_layer(files, str(options["layer"]), shown)
    return [(f, {**options, "shown": shown}) for f in files]


def _holding_layer(files: list[Path], layer: str, shown: tuple[str, str]) -> list[Path]:
    """The files of an unpacked zip that hold a layer of that name (a CSV or a
    workbook: named so); none is an error naming the files."""
    found = [f for f in files if _holds(f, layer)]
    if not found:
        names = ", ".join(as_shown(str(f), shown).removeprefix(f"{shown[1]}/") for f in files)
        raise InputFileError(f"{shown[1]}: none of its files ({names}) holds a layer {layer!r}")
    return found


def _holds(path: Path, layer: str) -> bool:
    if path.suffix.lower() in (".zip", ".kmz"):
        return True  # a zip inside: its own files are looked at in turn
    if path.suffix.lower() in (*CSV_EXTENSIONS, *EXCEL_EXTENSIONS) or path.suffix == "":
        return path.stem == layer
    try:
        return any(name == layer for name, _ in layer_types(path))
    except InputFileError:
        return False  # read as it is, it says why


def as_shown(text: str, shown: tuple[str, str] | None) -> str:
    """A message or a name with the unpacked folder's path written as the zip's."""
    return text if shown is None else text.replace(shown[0], shown[1])


def shown_error(exc: Exception, shown: tuple[str, str] | None) -> Exception:
    """The same error, its message naming the unpacked folder as its zip."""
    return type(exc)(as_shown(str(exc), shown))


@contextlib.contextmanager
def _logged_as_shown(named: list[tuple[str, str]]):
    """Log records made inside the block name the unpacked folders in ``named`` as
    their zips (a reader warns of a file by its path)."""
    before = logging.getLogRecordFactory()

    def record(*args, **kwargs) -> logging.LogRecord:
        made = before(*args, **kwargs)
        text = shown = made.getMessage()
        for pair in named:
            shown = as_shown(shown, pair)
        if shown != text:
            made.msg, made.args = shown, ()
        return made

    logging.setLogRecordFactory(record)
    try:
        yield
    finally:
        logging.setLogRecordFactory(before)
