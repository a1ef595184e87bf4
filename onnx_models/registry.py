"""Where models are and what their sidecars say: list and resolve models by name or by path
(``msar models``; ``--model NAME|PATH``). Reads JSON only; loading is ``runtime.py``'s job.

A model is ``<name>.onnx`` with ``<name>.onnx.json`` beside it. Names resolve in the folder of
this package (the shipped models); anything with a path separator or ending in ``.onnx`` is a
path.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from msar.dsp.errors import MsarError

#: The shipped models' folder (this package).
MODELS_DIR = Path(__file__).resolve().parent
SIDECAR_SUFFIX = ".json"  # appended to the .onnx name: model.onnx -> model.onnx.json


@dataclass(frozen=True)
class ModelEntry:
    """One model found on disk: its name, the ``.onnx`` path and its sidecar as read."""

    name: str
    path: Path
    sidecar: dict


def sidecar_path(onnx_path: str | os.PathLike) -> Path:
    return Path(str(onnx_path) + SIDECAR_SUFFIX)


def read_sidecar(onnx_path: str | os.PathLike) -> dict:
    """The parsed ``<model>.onnx.json``. Raises MsarError naming the file when it is missing or
    not a JSON object."""
    path = sidecar_path(onnx_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MsarError(f"{path}: model sidecar missing (every .onnx needs its .onnx.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MsarError(f"{path}: unreadable model sidecar ({exc})") from None
    if not isinstance(data, dict):
        raise MsarError(f"{path}: model sidecar is not a JSON object")
    return data


def update_sidecar(onnx_path: str | os.PathLike, key: str, value) -> None:
    """Set ``key`` of a model's sidecar to ``value`` (JSON-able), keeping everything else; written
    atomically (temp file + rename), for the measured calibrations that follow an export
    (a synthesis voice's ``voice_defaults`` and ``pace``)."""
    path = sidecar_path(onnx_path)
    side = read_sidecar(onnx_path)
    side[key] = value
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(side, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def list_models(folder: str | os.PathLike | None = None, task: str | None = None) -> list[ModelEntry]:
    """Every ``*.onnx`` with a readable sidecar in ``folder`` (default: the shipped models),
    sorted by name; ``task`` keeps only that task (``repair``, ...)."""
    folder = Path(folder) if folder is not None else MODELS_DIR
    out = []
    for path in sorted(folder.glob("*.onnx")):
        try:
            card = read_sidecar(path)
        except MsarError:
            continue
        if task is None or card.get("task") == task:
            out.append(ModelEntry(str(card.get("name", path.stem)), path, card))
    return out


def resolve(name_or_path: str | os.PathLike, task: str | None = None) -> Path:
    """The ``.onnx`` path of a model name (shipped models) or a path. Raises MsarError when
    there is no such model, listing the shipped ones of ``task``."""
    text = str(name_or_path)
    if text.endswith(".onnx") or os.sep in text or "/" in text:
        path = Path(text)
        if not path.is_file():
            raise MsarError(f"{path}: no such model file")
        return path
    path = MODELS_DIR / f"{text}.onnx"
    if path.is_file():
        return path
    names = ", ".join(m.name for m in list_models(task=task)) or "none installed"
    raise MsarError(f"unknown model '{text}' (available: {names})")


@functools.lru_cache(maxsize=16)
def _loaded(cls: type, path: str, mtime_ns: int, size: int):
    return cls(path)


def load(name_or_path: str | os.PathLike, task: str, cls: type):
    """``cls(path)`` for the model of ``task`` named ``name_or_path`` (a shipped name or a path),
    built once per process and reused; a file changed on disk is loaded again."""
    path = resolve(name_or_path, task=task).resolve()
    st = path.stat()
    return _loaded(cls, str(path), st.st_mtime_ns, st.st_size)
