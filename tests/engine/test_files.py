"""`sha256_of`: a file's digest, and a folder's as the digest of its files' bytes in path order."""

from __future__ import annotations

import hashlib

from saliency_desktop.engine.files import sha256_of


def test_file_and_folder_digests(tmp_path):
    folder = tmp_path / "saved"
    (folder / "variables").mkdir(parents=True)
    parts = {"saved_model.pb": b"graph" * 1000, "variables/v.data": bytes(range(256)) * 9000}
    for name, data in parts.items():
        (folder / name).write_bytes(data)
    whole = hashlib.sha256(b"".join(parts[n] for n in sorted(parts))).hexdigest()
    assert sha256_of(folder) == whole  # the same value as before: trusted digests stay valid
    one = folder / "variables/v.data"
    assert sha256_of(one) == hashlib.sha256(parts["variables/v.data"]).hexdigest()
