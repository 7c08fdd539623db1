"""Attachments: where to keep them, and what importing and syncing photos costs.

    .venv/bin/python benchmarks/bench_attachments.py [--mb 24] [--photos 100] [--photo-mb 3]

1. Storage (issue 18: "measure both"): the same bytes as 64 KiB chunks
   a) inside the SQLCipher database (table attachment_chunks, one transaction), and
   b) as AES-256-GCM files beside it, named by an HMAC of their content, each written
      and fsynced then the folder fsynced (as durable as a SQLite commit),
   written and read back; ratios against the baseline of writing the same bytes to one
   plain file with one fsync (and reading it back).
2. Import of N synthetic 3 MB photos (noise JPEGs made with Pillow: worst case, they do not
   shrink by compression) through attachments.add (check, downscale to 1600 px, strip EXIF,
   store), vs Pillow decoding the same photos alone; then their sync to a folder hub (send on
   one laptop, receive on another), vs copying the same bytes of hub files with shutil.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from cpc_desktop.core import attachments  # noqa: E402

CHUNK = attachments.CHUNK_BYTES


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def storage(base: Path, mb: int) -> None:
    from conftest import create_vault, make_intake_values

    base.mkdir(parents=True)
    data = os.urandom(mb * 2 ** 20)
    chunks = attachments.split(data)
    # Baseline: one plain file, one fsync.
    plain = base / "plain.bin"
    t = time.perf_counter()
    with open(plain, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    base_w = time.perf_counter() - t
    t = time.perf_counter()
    assert plain.read_bytes() == data
    base_r = time.perf_counter() - t
    plain.unlink()

    # a) inside SQLCipher, through the real add() path's statements.
    v = create_vault(base / "vault").vault
    rid = v.add(v.forms.intake.form, make_intake_values())
    del rid
    t = time.perf_counter()
    with v.writing() as conn:
        conn.executemany("INSERT OR IGNORE INTO attachment_chunks(id, data) VALUES (?,?)",
                         [(attachments.sha256(c), c) for c in chunks])
    db_w = time.perf_counter() - t
    ids = [attachments.sha256(c) for c in chunks]
    t = time.perf_counter()
    got = b"".join(attachments.chunk(v, i) or b"" for i in ids)
    db_r = time.perf_counter() - t
    assert got == data
    v.lock()

    # b) encrypted files beside the database.
    folder = base / "chunks"
    folder.mkdir()
    key, id_key = os.urandom(32), os.urandom(32)
    t = time.perf_counter()
    names = []
    for c in chunks:
        name = hmac.new(id_key, c, hashlib.sha256).hexdigest()
        nonce = os.urandom(12)
        with open(folder / name, "wb") as fh:
            fh.write(nonce + AESGCM(key).encrypt(nonce, c, name.encode()))
            fh.flush()
            os.fsync(fh.fileno())
        names.append(name)
    _fsync_dir(folder)
    files_w = time.perf_counter() - t
    t = time.perf_counter()
    parts = []
    for name in names:
        blob = (folder / name).read_bytes()
        parts.append(AESGCM(key).decrypt(blob[:12], blob[12:], name.encode()))
    files_r = time.perf_counter() - t
    assert b"".join(parts) == data

    print(f"1. storage of {mb} MB in {len(chunks)} chunks of 64 KiB")
    print(f"   baseline plain file: write {base_w * 1000:.0f} ms, read {base_r * 1000:.0f} ms")
    print(f"   a) SQLCipher blobs:  write {db_w * 1000:.0f} ms ({db_w / base_w:.1f}x), "
          f"read {db_r * 1000:.0f} ms ({db_r / base_r:.1f}x)")
    print(f"   b) encrypted files:  write {files_w * 1000:.0f} ms ({files_w / base_w:.1f}x), "
          f"read {files_r * 1000:.0f} ms ({files_r / base_r:.1f}x)")


def synthetic_photo(rng: random.Random, mb: float) -> bytes:
    """A noise JPEG of about `mb` MB with an EXIF GPS block (as a phone writes it)."""
    from PIL import Image

    side = int((mb * 2 ** 20 / 0.9) ** 0.5 * 1.0)
    w, h = int(side * 1.2), int(side / 1.2)
    im = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (12.0, 3.0, 0.0), 3: "W", 4: (77.0, 2.0, 0.0)}
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def import_and_sync(base: Path, n: int, mb: float) -> None:
    from PIL import Image

    from cpc_desktop.sync import FolderHub, SyncEngine
    from sync_support import shelter_of

    base.mkdir(parents=True)
    rng = random.Random(7)
    photos = [synthetic_photo(rng, mb) for _ in range(n)]
    total = sum(map(len, photos))
    a, b = shelter_of(base / "shelter", 2)
    rid = a.add(a.forms.intake.form, __import__("conftest").make_intake_values())
    t = time.perf_counter()
    for p in photos:
        with Image.open(io.BytesIO(p)) as im:
            im.load()
    decode = time.perf_counter() - t
    t = time.perf_counter()
    for i, p in enumerate(photos):
        attachments.add(a, rid, p, kind="foto", filename=f"foto-{i}.jpg")
    imported = time.perf_counter() - t
    stored = sum(x.size for x in attachments.list_for(a, rid))
    print(f"2. import of {n} photos, {total / 2 ** 20:.0f} MB: {imported:.1f} s "
          f"({imported / n * 1000:.0f} ms each; {imported / decode:.1f}x Pillow decoding "
          f"them alone), stored {stored / 2 ** 20:.1f} MB")
    hub_dir = base / "hub"
    hub_dir.mkdir()
    t = time.perf_counter()
    sent = SyncEngine(a).sync(FolderHub(hub_dir))
    send = time.perf_counter() - t
    t = time.perf_counter()
    got = SyncEngine(b).sync(FolderHub(hub_dir))
    receive = time.perf_counter() - t
    assert all(x.present for x in attachments.list_for(b, rid))
    on_hub = sum(p.stat().st_size for p in hub_dir.rglob("*") if p.is_file())
    copy_dir = base / "copy"
    t = time.perf_counter()
    shutil.copytree(hub_dir, copy_dir)
    copy = time.perf_counter() - t
    print(f"   sync to a folder hub: send {send:.1f} s, receive {receive:.1f} s; hub "
          f"{on_hub / 2 ** 20:.1f} MB ({on_hub / stored:.2f}x the stored bytes); copying the "
          f"hub's files takes {copy:.2f} s (send {send / max(copy, 1e-3):.0f}x, receive "
          f"{receive / max(copy, 1e-3):.0f}x); chunks {sent.attachment_chunks_sent} up, "
          f"{got.attachment_chunks_received} down")
    t = time.perf_counter()
    again = SyncEngine(a).sync(FolderHub(hub_dir))
    print(f"   a second sync with nothing new: {time.perf_counter() - t:.2f} s, "
          f"{again.attachment_chunks_sent} chunks sent (deduplicated)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=24)
    ap.add_argument("--photos", type=int, default=100)
    ap.add_argument("--photo-mb", type=float, default=3.0)
    ap.add_argument("--skip-storage", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_storage:
            storage(Path(tmp) / "s", args.mb)
        if args.photos:
            import_and_sync(Path(tmp) / "i", args.photos, args.photo_mb)


if __name__ == "__main__":
    main()
