"""Vault throughput and memory: the vault vs bare AES-256-GCM, and vault-on-S3 vs plain boto3, in one run.

Usage: .venv/bin/python tests/bench/bench_vault.py [--quick]

* encrypt: ``VaultStore.put`` (fresh data key, chunked AES-256-GCM with
  authenticated chunk index/object id/final flag, plaintext SHA-256, file
  backend, key row in the database) vs a bare loop of ``AESGCM.encrypt`` over
  the same chunks of the same stream written to a file in the same directory.
* decrypt: ``VaultStore.open`` read to the end vs a bare ``AESGCM.decrypt`` loop
  over the baseline's file.
* peak_rss_mib: growth of resident memory (sampled every 5 ms) over the
  process's RSS before the vault runs started, while streaming GiB-sized data.
* S3: the same vault on moto's S3 server vs ``boto3`` upload_fileobj /
  download_fileobj of the same bytes (single-threaded transfers, 8 MiB parts).

Full run: 1 GiB local, 256 MiB S3. ``--quick``: 128 MiB local, 32 MiB S3.
Last line: ``bench_vault: encrypt_ratio= decrypt_ratio= peak_rss_mib= …``
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024


def maintenance_read():  # noqa: ANN201 - after django.setup()
    """The bench's own reads: a system purpose, outside any person's access (intake.access)."""
    from intake.access import SystemRead
    from intake.vault.services import ReadPurpose

    return SystemRead(ReadPurpose.SYSTEM)


class RepeatingSource(io.RawIOBase):
    """``total`` bytes of incompressible data without holding them: one random block, repeated."""

    def __init__(self, total: int, block: bytes):
        self.total, self.block, self.position = total, block, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        left = self.total - self.position
        if left <= 0:
            return 0
        offset = self.position % len(self.block)
        n = min(len(buffer), left, len(self.block) - offset)
        buffer[:n] = self.block[offset:offset + n]
        self.position += n
        return n


class RssSampler:
    """Peak resident set size while active, sampled from /proc (works where VmHWM cannot be reset)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(0.005)

    def __enter__(self):  # noqa: ANN204
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())


def setup_django(data_dir: Path) -> None:
    os.environ["ASSAY_DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def bare_encrypt(source: io.RawIOBase, path: Path, chunk: int) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    prefix = os.urandom(4)
    index = 0
    with open(path, "wb") as out:
        while block := source.read(chunk):
            out.write(aead.encrypt(prefix + struct.pack(">Q", index), block, None))
            index += 1
        # Same durability as the vault's file backend, which fsyncs before the object counts as stored.
        out.flush()
        os.fsync(out.fileno())
    bare_encrypt.key = aead  # the decrypt baseline reads this file back
    bare_encrypt.prefix = prefix


def bare_decrypt(path: Path, chunk: int) -> int:
    aead, prefix = bare_encrypt.key, bare_encrypt.prefix
    total = index = 0
    with open(path, "rb") as handle:
        while record := handle.read(chunk + 16):
            total += len(aead.decrypt(prefix + struct.pack(">Q", index), record, None))
            index += 1
    return total


def drain(reader, chunk: int) -> int:  # noqa: ANN001
    total = 0
    while block := reader.read(chunk):
        total += len(block)
    return total


def timed(fn, *args):  # noqa: ANN001, ANN002, ANN201
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def bench_local(size: int, block: bytes, work: Path, rounds: int) -> dict:
    from intake.vault.crypto import DEFAULT_CHUNK_BYTES
    from intake.vault.services import VaultStore

    chunk = DEFAULT_CHUNK_BYTES
    store = VaultStore(vault_uri=f"file://{work / 'vault'}", key_provider_uri=f"local:{work / 'kek'}")
    bare_path = work / "bare.bin"
    ours_enc, ours_dec, bare_enc, bare_dec = [], [], [], []
    rss_before = RssSampler.current()
    peak = rss_before
    for _ in range(rounds):
        with RssSampler() as sampler:
            seconds, stored = timed(lambda: store.put(RepeatingSource(size, block), max_bytes=size,
                                                      artifact_id="bench"))
            ours_enc.append(seconds)
            with store.open(stored.key, access=maintenance_read()) as reader:
                seconds, count = timed(drain, reader, chunk)
            ours_dec.append(seconds)
        assert count == size and stored.size == size
        peak = max(peak, sampler.peak)
        store.delete(stored.key)
        seconds, _ = timed(bare_encrypt, RepeatingSource(size, block), bare_path, chunk)
        bare_enc.append(seconds)
        seconds, count = timed(bare_decrypt, bare_path, chunk)
        bare_dec.append(seconds)
        assert count == size
        bare_path.unlink()
    best = min
    return {
        "encrypt_ratio": best(bare_enc) / best(ours_enc),
        "decrypt_ratio": best(bare_dec) / best(ours_dec),
        "peak_rss_mib": (peak - rss_before) / MIB,
        "vault_encrypt_mib_s": size / MIB / best(ours_enc),
        "vault_decrypt_mib_s": size / MIB / best(ours_dec),
        "bare_encrypt_mib_s": size / MIB / best(bare_enc),
        "bare_decrypt_mib_s": size / MIB / best(bare_dec),
    }


def bench_cpu_only(size: int, block: bytes, rounds: int) -> dict:
    """The same comparison without disk or database: cipher, framing and hashing only (less I/O noise)."""
    import uuid

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from intake.vault.crypto import DEFAULT_CHUNK_BYTES, encrypt_stream, new_data_key, open_decrypting

    chunk = DEFAULT_CHUNK_BYTES
    key, oid = new_data_key(), uuid.uuid4()
    sealed = io.BytesIO()
    encrypt_stream(RepeatingSource(size, block), sealed.write, key=key, object_id=oid, max_bytes=size)
    sealed = sealed.getvalue()
    aead = AESGCM(key)

    def ours_encrypt() -> None:
        encrypt_stream(RepeatingSource(size, block), lambda record: None, key=key, object_id=oid, max_bytes=size)

    def bare_encrypt_null() -> None:
        source, index = RepeatingSource(size, block), 0
        while data := source.read(chunk):
            aead.encrypt(b"\0\0\0\0" + struct.pack(">Q", index), data, None)
            index += 1

    bare_sealed = b"".join(aead.encrypt(b"\0\0\0\0" + struct.pack(">Q", i), block[(i * chunk) % len(block):][:chunk], None)
                           for i in range(size // chunk))

    def ours_decrypt() -> None:
        drain(open_decrypting(io.BytesIO(sealed), key=key, expected_object_id=oid), chunk)

    def bare_decrypt_null() -> None:
        source, index = io.BytesIO(bare_sealed), 0
        while record := source.read(chunk + 16):
            aead.decrypt(b"\0\0\0\0" + struct.pack(">Q", index), record, None)
            index += 1

    times = {name: min(timed(fn)[0] for _ in range(rounds)) for name, fn in
             (("ours_enc", ours_encrypt), ("bare_enc", bare_encrypt_null), ("ours_dec", ours_decrypt),
              ("bare_dec", bare_decrypt_null))}
    return {"cpu_encrypt_ratio": times["bare_enc"] / times["ours_enc"],
            "cpu_decrypt_ratio": times["bare_dec"] / times["ours_dec"]}


def start_moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def bench_s3(size: int, block: bytes, work: Path) -> dict:
    import boto3
    from boto3.s3.transfer import TransferConfig

    proc, endpoint = start_moto()
    try:
        os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench",
                           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
        from intake.vault.services import VaultStore

        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        config = TransferConfig(use_threads=False, multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
        store = VaultStore(vault_uri="s3://bench/vault", key_provider_uri=f"local:{work / 'kek'}")
        seconds_put, stored = timed(lambda: store.put(RepeatingSource(size, block), max_bytes=size,
                                                      artifact_id="bench"))
        with store.open(stored.key, access=maintenance_read()) as reader:
            seconds_get, count = timed(drain, reader, MIB)
        assert count == size
        store.delete(stored.key)
        plain_put, _ = timed(lambda: s3.upload_fileobj(RepeatingSource(size, block), "bench", "plain", Config=config))

        class Sink(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, data) -> int:  # noqa: ANN001
                return len(data)

        plain_get, _ = timed(lambda: s3.download_fileobj("bench", "plain", Sink(), Config=config))
        return {"s3_put_ratio": plain_put / seconds_put, "s3_get_ratio": plain_get / seconds_get,
                "s3_vault_put_mib_s": size / MIB / seconds_put, "s3_vault_get_mib_s": size / MIB / seconds_get}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, under 45 s")
    args = parser.parse_args()
    local_size = (128 if args.quick else 1024) * MIB
    s3_size = (32 if args.quick else 256) * MIB
    rounds = 3
    with tempfile.TemporaryDirectory(prefix="bench-vault-") as tmp:
        work = Path(tmp)
        setup_django(work)
        block = os.urandom(16 * MIB)
        local = bench_local(local_size, block, work, rounds)
        print(f"local {local_size // MIB} MiB: vault encrypt {local['vault_encrypt_mib_s']:.0f} MiB/s vs bare "
              f"{local['bare_encrypt_mib_s']:.0f}; vault decrypt {local['vault_decrypt_mib_s']:.0f} MiB/s vs bare "
              f"{local['bare_decrypt_mib_s']:.0f}; peak RSS growth {local['peak_rss_mib']:.1f} MiB")
        cpu = bench_cpu_only(min(local_size, 128 * MIB), block, rounds)
        print(f"cpu only (no disk, no database): encrypt ratio {cpu['cpu_encrypt_ratio']:.2f} (includes the "
              f"plaintext SHA-256 the bare loop does not compute), decrypt ratio {cpu['cpu_decrypt_ratio']:.2f}")
        s3 = bench_s3(s3_size, block, work)
        print(f"s3 {s3_size // MIB} MiB via moto: vault put {s3['s3_vault_put_mib_s']:.0f} MiB/s, "
              f"get {s3['s3_vault_get_mib_s']:.0f} MiB/s")
    print(f"bench_vault: encrypt_ratio={local['encrypt_ratio']:.2f} decrypt_ratio={local['decrypt_ratio']:.2f} "
          f"peak_rss_mib={local['peak_rss_mib']:.1f} cpu_encrypt_ratio={cpu['cpu_encrypt_ratio']:.2f} "
          f"cpu_decrypt_ratio={cpu['cpu_decrypt_ratio']:.2f} s3_put_ratio={s3['s3_put_ratio']:.2f} "
          f"s3_get_ratio={s3['s3_get_ratio']:.2f} size_mib={local_size // MIB} s3_size_mib={s3_size // MIB}")


if __name__ == "__main__":
    main()
