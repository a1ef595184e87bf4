"""The wheel installs everything under the one `msar` namespace and leaves nothing out."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_runtime_package_folder_is_listed_under_msar():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping, listed = config["package-dir"], set(config["packages"])
    assert all(name.startswith("msar.") for name in mapping)  # no generic top-level names
    expected = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            expected.add(".".join([package, *rel.parts]))
    assert expected == listed
    assert not any(folder in ("train", "tests") for folder in mapping.values())
