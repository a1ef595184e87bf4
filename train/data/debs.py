"""Fetch Debian packages and unpack them into the cache, without installing anything system-wide.

``apt-get download`` puts the ``.deb`` in ``<cache>/debs/``; ``dpkg-deb --fsys-tarfile | tar -x``
unpacks it into ``<cache>/pkgs/<package>/``, optionally only the members matching shell patterns
(flightgear-data-base is 1.3 GB, of which we need 25 MB of sounds). A stamp file marks a finished
unpack, so a second run does nothing. Large ``.deb`` files can be deleted once unpacked.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
from pathlib import Path

from msar.dsp.errors import MsarError

log = logging.getLogger(__name__)

_STAMP = ".unpacked"


def deb_path(cache: Path, package: str) -> Path | None:
    """The downloaded ``.deb`` for ``package`` in ``<cache>/debs``, or None."""
    hits = sorted(glob.glob(str(cache / "debs" / f"{package}_*.deb")))
    return Path(hits[-1]) if hits else None


def download(cache: Path, package: str) -> Path:
    """``apt-get download`` the package into ``<cache>/debs`` (skipped when already there)."""
    found = deb_path(cache, package)
    if found is not None:
        return found
    dest = cache / "debs"
    dest.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s", package)
    proc = subprocess.run(["apt-get", "download", package], cwd=dest, capture_output=True, text=True)
    found = deb_path(cache, package)
    if proc.returncode != 0 or found is None:
        raise MsarError(f"{package}: apt-get download failed ({proc.stderr.strip().splitlines()[-1:] or '?'})")
    return found


def unpacked_root(cache: Path, package: str) -> Path:
    return cache / "pkgs" / package


def unpack(cache: Path, package: str, patterns: tuple[str, ...] = (), delete_deb: bool = False) -> Path:
    """Download (if needed) and unpack ``package`` into ``<cache>/pkgs/<package>/``; return that folder.

    ``patterns``: tar wildcards of the members to keep (e.g. ``'./usr/share/x/*.ogg'``); empty
    means everything. ``delete_deb`` removes the ``.deb`` afterwards (for the big packages).
    Idempotent: a stamp file recording the patterns marks a finished unpack.
    """
    root = unpacked_root(cache, package)
    stamp = root / _STAMP
    want = "\n".join(patterns)
    if stamp.exists() and stamp.read_text() == want:
        deb = deb_path(cache, package)
        if delete_deb and deb is not None:
            deb.unlink()
        return root
    deb = download(cache, package)
    if root.exists():
        shutil.rmtree(root)
    tmp = root.with_name(root.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    log.info("unpacking %s", deb.name)
    tar_cmd = ["tar", "-x", "-C", str(tmp)]
    if patterns:
        tar_cmd += ["--wildcards", *patterns]
    dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    tar = subprocess.run(tar_cmd, stdin=dpkg.stdout, capture_output=True, text=True)
    dpkg.stdout.close()
    dpkg.wait()
    # A pattern that matches nothing makes tar fail; that is fine as long as nothing else went wrong.
    errors = [line for line in tar.stderr.splitlines()
              if "Not found in archive" not in line and "Exiting with failure status" not in line]
    if dpkg.returncode != 0 or (tar.returncode != 0 and errors):
        shutil.rmtree(tmp, ignore_errors=True)
        raise MsarError(f"{deb}: unpacking failed ({tar.stderr.strip()[:300]})")
    os.replace(tmp, root)
    stamp.write_text(want)
    if delete_deb:
        deb.unlink()
    return root


def version(cache: Path, package: str) -> str:
    """The package version, from the downloaded file name (``pkg_1.2-3_all.deb``), or ``''``."""
    deb = deb_path(cache, package)
    return deb.name.split("_")[1].replace("%3a", ":") if deb else ""
