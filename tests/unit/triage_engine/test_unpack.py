"""Safe unpacking: hostile archives (unsafe names, links, bombs, and archives that read two ways) are refused with
one line naming the problem; nothing escapes dest."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from intake.archives import UnpackLimits, UnsafeInput, archive_listing, detect_kind, new_budget, unpack
from tests import hostile_archives

FILES = {"agent/settings.json": b'{"permissions": {"allow": ["Read"]}}\n', "README.md": b"# agent\n",
         "tools/run.py": b"import subprocess\nsubprocess.run(['ls'])\n"}


def make_zip(path: Path, entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None,
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def make_tar(path: Path, entries: dict[str, bytes], *, mode: str = "w:gz", extra=None) -> Path:  # noqa: ANN001
    with tarfile.open(path, mode) as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra or []:
            archive.addfile(info)
    return path


def tar_entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def written(dest: Path) -> set[str]:
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}


def test_directory_zip_and_tar_of_the_same_files_unpack_to_the_same_listing(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name, data in FILES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    listings = []
    for kind, input_path in (("directory", source), ("zip", make_zip(tmp_path / "a.zip", FILES)),
                             ("tar", make_tar(tmp_path / "a.tgz", dict(reversed(FILES.items())))),
                             ("tar", make_tar(tmp_path / "a.tar", FILES, mode="w"))):
        dest = tmp_path / f"out-{len(listings)}"
        assert detect_kind(input_path) == kind
        listings.append(unpack(source=input_path, dest=dest))
        assert written(dest) == set(FILES)
    assert all(listing == listings[0] for listing in listings)
    assert [f.path for f in listings[0]] == sorted(FILES)


@pytest.mark.parametrize(("name", "message"), [
    ("../evil.sh", "entry escapes the root: ../evil.sh"),
    ("a/../../evil.sh", "entry escapes the root: a/../../evil.sh"),
    ("/etc/cron.d/evil", "absolute path in archive: /etc/cron.d/evil"),
    ("C:/Windows/evil.dll", "absolute path in archive: C:/Windows/evil.dll"),
    ("a\\..\\..\\evil", "entry name contains a backslash: a\\..\\..\\evil"),
])
def test_zip_slip_entries_are_refused(tmp_path: Path, name: str, message: str) -> None:
    archive = make_zip(tmp_path / "slip.zip", {"ok.txt": b"fine", name: b"owned"})
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput) as excinfo:
        unpack(source=archive, dest=dest)
    assert str(excinfo.value) == message
    assert not (tmp_path / "evil.sh").exists()


def test_nul_in_a_member_name_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "nul.zip"
    make_zip(archive, {"bad_name": b"x"})
    data = archive.read_bytes().replace(b"bad_name", b"bad\x00name")  # local header and central directory
    archive.write_bytes(data)
    with pytest.raises(UnsafeInput) as excinfo:
        unpack(source=archive, dest=tmp_path / "out")
    assert str(excinfo.value) == "entry name contains NUL: bad?name"


def test_tar_symlink_escaping_the_root_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "link.tgz", {"a.txt": b"a"},
                       extra=[tar_entry("config/secrets", tarfile.SYMTYPE, "../../../etc/shadow")])
    with pytest.raises(UnsafeInput) as excinfo:
        unpack(source=archive, dest=tmp_path / "out")
    assert str(excinfo.value) == "link leaves the root: config/secrets -> ../../../etc/shadow"


def test_tar_absolute_symlink_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "link.tar", {}, mode="w", extra=[tar_entry("key", tarfile.SYMTYPE, "/root/.ssh/id_rsa")])
    with pytest.raises(UnsafeInput, match=r"^link leaves the root: key -> /root/.ssh/id_rsa$"):
        unpack(source=archive, dest=tmp_path / "out")


def test_symlink_then_write_through_it_cannot_escape(tmp_path: Path) -> None:
    """The classic two-step: a link to a directory inside, then a file 'through' it. Links are never created."""
    archive = make_tar(tmp_path / "two.tar", {"inner/x": b"1", "alias/y": b"2"}, mode="w",
                       extra=[tar_entry("alias2", tarfile.SYMTYPE, "inner")])
    files = unpack(source=archive, dest=tmp_path / "out")
    assert [f.path for f in files] == ["alias/y", "inner/x"]
    assert not any(p.is_symlink() for p in (tmp_path / "out").rglob("*"))


def test_symlink_inside_the_root_is_accepted_but_not_materialised(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", {"docs/a.md": b"a"}, symlinks={"docs/b.md": "a.md"})
    files = unpack(source=archive, dest=tmp_path / "out")
    assert [f.path for f in files] == ["docs/a.md"]


def test_zip_symlink_leaving_the_root_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "ln.zip", {}, symlinks={"etc": "../../etc"})
    with pytest.raises(UnsafeInput, match=r"^link leaves the root: etc -> ../../etc$"):
        unpack(source=archive, dest=tmp_path / "out")


def test_hard_links_are_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "hard.tar", {"a": b"a"}, mode="w", extra=[tar_entry("b", tarfile.LNKTYPE, "a")])
    with pytest.raises(UnsafeInput, match=r"^hard link in archive: b$"):
        unpack(source=archive, dest=tmp_path / "out")


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_files_are_refused(tmp_path: Path, kind: bytes) -> None:
    archive = make_tar(tmp_path / "dev.tar", {}, mode="w", extra=[tar_entry("dev/sda", kind)])
    with pytest.raises(UnsafeInput, match=r"^device or special file: dev/sda$"):
        unpack(source=archive, dest=tmp_path / "out")


def test_duplicate_names_are_refused_in_zip(tmp_path: Path) -> None:
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("settings.json", b"{}")
        with pytest.warns(UserWarning):
            out.writestr("settings.json", b'{"permissions": "bypass"}')
    with pytest.raises(UnsafeInput, match=r"^duplicate entry name: settings.json$"):
        unpack(source=archive, dest=tmp_path / "out")


def test_duplicate_names_after_normalisation_are_refused_in_tar(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "dup.tar", {"a/b.txt": b"1", "./a//b.txt": b"2"}, mode="w")
    with pytest.raises(UnsafeInput, match=r"^duplicate entry name: a/b.txt$"):
        unpack(source=archive, dest=tmp_path / "out")


def test_zip_bomb_is_stopped_by_the_ratio_limit_while_streaming(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        with out.open("zeros.bin", "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(64):
                member.write(chunk)
    assert archive.stat().st_size < 200_000
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput, match=r"^compression ratio above 100:1 \(possible archive bomb\)$"):
        unpack(source=archive, dest=dest, limits=UnpackLimits(max_ratio=100, ratio_floor_bytes=1024 * 1024))
    assert sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) < 8 * 1024 * 1024


def test_declared_sizes_are_not_trusted(tmp_path: Path) -> None:
    """A zip whose headers claim a tiny file still trips the per-file limit on the bytes actually read."""
    archive = make_zip(tmp_path / "liar.zip", {"big.txt": b"A" * 300_000})
    data = bytearray(archive.read_bytes())
    # Patch the declared uncompressed size (local header offset 22, central directory +24) to 10 bytes.
    data[22:26] = (10).to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeInput):
        unpack(source=archive, dest=tmp_path / "out", limits=UnpackLimits(max_file_bytes=100_000))
    assert not (tmp_path / "out" / "big.txt").exists() or (tmp_path / "out" / "big.txt").stat().st_size <= 400_000


@pytest.mark.parametrize(("limits", "message"), [
    (UnpackLimits(max_entries=2), "more than 2 entries"),
    (UnpackLimits(max_total_bytes=50), "more than 50 bytes unpacked"),
    (UnpackLimits(max_file_bytes=20), "tools/run.py: larger than the 20 byte limit per file"),
])
def test_entry_and_byte_limits(tmp_path: Path, limits: UnpackLimits, message: str) -> None:
    archive = make_tar(tmp_path / "a.tar", dict(sorted(FILES.items(), reverse=True)), mode="w")
    with pytest.raises(UnsafeInput) as excinfo:
        unpack(source=archive, dest=tmp_path / "out", limits=limits)
    assert str(excinfo.value) == message


def test_directory_with_a_link_leaving_the_root_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a")
    os.symlink("/etc/passwd", source / "passwd")
    with pytest.raises(UnsafeInput, match=r"^link leaves the root: passwd -> /etc/passwd$"):
        unpack(source=source, dest=tmp_path / "out")


def test_directory_with_a_fifo_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    os.mkfifo(source / "pipe")
    with pytest.raises(UnsafeInput, match=r"^device or special file: pipe$"):
        unpack(source=source, dest=tmp_path / "out")


def test_artifacts_share_one_budget_and_clash_on_duplicate_names(tmp_path: Path) -> None:
    budget = new_budget()
    dest = tmp_path / "out"
    config = tmp_path / "upload"
    config.write_bytes(b"{}")
    unpack(source=make_zip(tmp_path / "a.zip", FILES), dest=dest, budget=budget)
    with pytest.raises(UnsafeInput, match=r"^duplicate entry name: README.md$"):
        unpack(source=config, dest=dest, kind="file", name="README.md", budget=budget)


def test_garbage_is_not_an_archive(tmp_path: Path) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(UnsafeInput, match=r"^not a readable zip archive"):
        unpack(source=bad, dest=tmp_path / "out")


def test_corrupt_compressed_data_is_a_refusal_not_a_crash(tmp_path: Path) -> None:
    """Found by tests/fuzz/fuzz_unpack.py: zlib.error and lzma.LZMAError are not OSError and escaped."""
    archive = make_zip(tmp_path / "bad.zip", {"agent/notes.txt": b"A" * 4000})
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as reader:
        info = reader.getinfo("agent/notes.txt")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start] = 0xFF  # a final deflate block of the reserved type: "invalid block type"
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeInput, match="corrupt zip entry agent/notes.txt"):
        unpack(source=archive, dest=tmp_path / "zip-out")
    xz = bytearray(make_tar(tmp_path / "bad.tar.xz", {"a.txt": os.urandom(2000)}, mode="w:xz").read_bytes())
    xz[len(xz) // 2] ^= 0xFF
    (tmp_path / "bad.tar.xz").write_bytes(bytes(xz))
    with pytest.raises(UnsafeInput, match="corrupt tar archive"):
        unpack(source=tmp_path / "bad.tar.xz", dest=tmp_path / "tar-out")


def test_a_corrupt_zip_symlink_entry_is_a_refusal_not_a_crash(tmp_path: Path) -> None:
    """Found by tests/fuzz/fuzz_unpack.py: reading a link's target raised BadZipFile (bad CRC-32) unhandled."""
    archive = make_zip(tmp_path / "link.zip", {"a/b.txt": b"x"}, symlinks={"a/link": "b.txt"},
                       compression=zipfile.ZIP_STORED)
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b"b.txtPK", b"c.txtPK", 1))  # the link's stored target, its CRC now wrong
    with pytest.raises(UnsafeInput, match="corrupt zip entry a/link"):
        unpack(source=archive, dest=tmp_path / "out")


def test_a_zip_needing_an_unknown_version_is_a_refusal_not_a_crash(tmp_path: Path) -> None:
    """Found by tests/fuzz/fuzz_unpack.py: zipfile raises NotImplementedError while reading the directory."""
    data = bytearray(make_zip(tmp_path / "v8.zip", FILES).read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 6:central + 8] = (80).to_bytes(2, "little")  # "version needed to extract": 8.0
    (tmp_path / "v8.zip").write_bytes(bytes(data))
    with pytest.raises(UnsafeInput, match="not a readable zip archive"):
        unpack(source=tmp_path / "v8.zip", dest=tmp_path / "out")


def test_a_zip_entry_with_an_empty_name_is_skipped_not_a_crash(tmp_path: Path) -> None:
    """Found by tests/fuzz/fuzz_unpack.py: zipfile's is_dir() raised IndexError on an empty entry name."""
    data = make_zip(tmp_path / "e.zip", {**FILES, "x": b"data"}, compression=zipfile.ZIP_STORED).read_bytes()
    # Rename the last entry "x" to "" in both its headers: name length 1 -> 0, the name byte dropped.
    for header, length_at in ((b"PK\x03\x04", 26), (b"PK\x01\x02", 28)):
        start = data.rindex(header)
        name_at = start + (30 if header == b"PK\x03\x04" else 46)
        assert data[name_at:name_at + 1] == b"x"
        data = data[:start + length_at] + b"\x00\x00" + data[start + length_at + 2:name_at] + data[name_at + 1:]
    # The central directory moved back by one byte and shrank by one: fix its size and offset in the end record.
    end = data.rindex(b"PK\x05\x06")
    size, offset = (int.from_bytes(data[end + at:end + at + 4], "little") - 1 for at in (12, 16))
    data = data[:end + 12] + size.to_bytes(4, "little") + offset.to_bytes(4, "little") + data[end + 20:]
    (tmp_path / "e.zip").write_bytes(data)
    listed = unpack(source=tmp_path / "e.zip", dest=tmp_path / "out")
    assert sorted(f.path for f in listed) == sorted(FILES)


def test_memory_tree_reads_like_the_unpacked_directory(tmp_path: Path) -> None:
    """Inside the sandbox the input is unpacked into memory; the analysis must see exactly what it would read from
    the same files written out: skipped dependency dirs, binaries, the per-file cap, walk order, hashes."""
    from triage.parsers.base import load_tree, tree_from_memory
    from intake.archives import MemoryTree, unpack_into

    source = tmp_path / "src"
    files = {"b.md": b"# b\n", "a/z.py": b"print(1)\n", "a/b/c.json": b"{}", ".git/config": b"[core]\n",
             "node_modules/x/index.js": b"x", "bin/tool": b"\x7fELF\x00\x01", "big.txt": b"A" * 5000,
             "a/.env": b"TOKEN=abc\n"}
    for name, data in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    memory = MemoryTree(keep_bytes=1001)
    in_memory = unpack_into(memory, source=source)
    on_disk = unpack(source=source, dest=tmp_path / "out")
    assert in_memory == on_disk
    from_memory = tree_from_memory(memory.heads, memory.sizes, max_file_bytes=1000)
    from_disk = load_tree(tmp_path / "out", max_file_bytes=1000)
    assert list(from_memory.files) == list(from_disk.files)  # same order, not just the same set
    assert from_memory.files == from_disk.files
    assert from_memory.files["big.txt"].truncated and len(from_memory.files["big.txt"].text) == 1000
    assert ".git/config" not in from_memory.files and "bin/tool" not in from_memory.files


# --- archives that read two ways (issue 16): every byte accounted for, or refused ---------------------

@pytest.mark.parametrize(("name", "build", "reason"), hostile_archives.CASES, ids=hostile_archives.CASE_IDS)
def test_an_archive_that_reads_two_ways_is_refused_with_one_line(tmp_path: Path, name, build, reason) -> None:  # noqa: ANN001
    archive = tmp_path / name
    archive.write_bytes(build())
    with pytest.raises(UnsafeInput) as excinfo:
        unpack(source=archive, dest=tmp_path / "out")
    assert str(excinfo.value) == reason
    with pytest.raises(UnsafeInput):
        archive_listing(archive)


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs GNU tar")
def test_the_two_member_gzip_hides_a_file_that_tar_extracts(tmp_path: Path) -> None:
    """Why the first test matters: the system's tar sees the hidden settings, a first-member reader would not."""
    import gzip

    archive = tmp_path / "system.tar.gz"
    archive.write_bytes(hostile_archives.two_member_gzip())
    (tmp_path / "x").mkdir()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(tmp_path / "x")], check=True)
    assert (tmp_path / "x" / ".claude" / "settings.json").read_bytes() == hostile_archives.HIDDEN[".claude/settings.json"]
    first_member = zlib.decompressobj(wbits=31).decompress(archive.read_bytes())
    assert b"bypassPermissions" not in first_member and b"bypassPermissions" in gzip.decompress(archive.read_bytes())


def test_tar_padding_after_the_end_blocks_is_accepted(tmp_path: Path) -> None:
    """Zero blocks up to the record size (what tar writes) are the end of the archive, not data after it."""
    plain = hostile_archives.tar_bytes(FILES)
    archive = tmp_path / "padded.tar"
    archive.write_bytes(plain + b"\0" * 10240)
    assert [f.path for f in unpack(source=archive, dest=tmp_path / "out")] == sorted(FILES)


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_zip_and_every_tar_form_of_one_tree_list_the_same_files(tmp_path: Path, mode: str) -> None:
    source = tmp_path / "src"
    for name, data in FILES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    directory = unpack(source=source, dest=tmp_path / "dir-out")
    assert archive_listing(make_tar(tmp_path / "a.tar.x", FILES, mode=mode)) == directory
    assert archive_listing(make_zip(tmp_path / "a.zip", dict(reversed(FILES.items())))) == directory
    assert archive_listing(source) is None  # a directory is no archive to check


def test_a_zip_with_data_descriptors_is_accounted_for(tmp_path: Path) -> None:
    """Streamed zips put each entry's CRC and sizes after its data; that descriptor is part of the layout."""
    archive = tmp_path / "streamed.zip"
    with archive.open("wb") as raw:
        unseekable = _Unseekable(raw)
        with zipfile.ZipFile(unseekable, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in FILES.items():
                out.writestr(name, data)
    with zipfile.ZipFile(archive) as check:
        assert all(info.flag_bits & 0x8 for info in check.infolist())
    assert sorted(f.path for f in unpack(source=archive, dest=tmp_path / "out")) == sorted(FILES)


class _Unseekable(io.RawIOBase):
    def __init__(self, raw):  # noqa: ANN001
        self._raw, self._at = raw, 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # noqa: ANN001
        self._raw.write(data)
        self._at += len(data)
        return len(data)

    def tell(self) -> int:
        raise OSError("unseekable")

    def seekable(self) -> bool:
        return False
