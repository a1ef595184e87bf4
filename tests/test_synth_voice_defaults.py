"""Per-voice rendering defaults (``voice_defaults`` in a synthesis sidecar): a voice's own default
replaces the module's, an explicit option replaces both, and a bad value is a clear error."""

import json
import shutil

import numpy as np
import pytest

from msar.dsp.errors import MsarError
from msar.onnx_models import registry
from msar.onnx_models import synth as S

NAME = "multispeaker-synth"
pytestmark = pytest.mark.skipif(not (registry.MODELS_DIR / f"{NAME}.onnx").exists() or shutil.which("espeak-ng") is None,
                                reason="needs the shipped voice and espeak-ng")


def _copy_with(tmp_path, defaults: dict):
    for f in registry.MODELS_DIR.glob(f"{NAME}*"):
        shutil.copy(f, tmp_path / f.name)
    side_path = tmp_path / f"{NAME}.onnx.json"
    side = json.loads(side_path.read_text())
    side["voice_defaults"] = {"speakers": defaults}
    side_path.write_text(json.dumps(side))
    return S.Voice(tmp_path / f"{NAME}.onnx")


def test_a_voice_default_replaces_the_module_default_and_an_option_replaces_both(tmp_path):
    shipped = S.load_voice(NAME)
    a, b = shipped.speakers[0].name, shipped.speakers[1].name
    voice = _copy_with(tmp_path, {a: {"postfilter": 0.4, "pause_gate": 0.0}})
    assert voice.setting("postfilter", a) == 0.4 and voice.setting("gv", a) == S.GV_WEIGHT
    assert voice.setting("postfilter", b) == S.POSTFILTER_BETA
    assert voice.setting("postfilter", a, S.SynthOptions(postfilter=0.1)) == 0.1
    text = "Yes, the garden was full of roses."
    explicit = lambda **kw: S.SynthOptions(**(dict(S.RENDER_SETTINGS) | kw))  # noqa: E731  (every setting given)
    own = voice.synthesize(text, a)[0]
    assert np.array_equal(own, shipped.synthesize(text, a, explicit(postfilter=0.4, pause_gate=0.0))[0])
    assert not np.array_equal(own, shipped.synthesize(text, a, explicit())[0])
    assert np.array_equal(voice.synthesize(text, a, S.SynthOptions(postfilter=S.POSTFILTER_BETA, pause_gate=S.PAUSE_GATE_DB))[0],
                          shipped.synthesize(text, a, explicit())[0])
    assert np.array_equal(voice.synthesize(text, b)[0], shipped.synthesize(text, b, explicit())[0])


@pytest.mark.parametrize("bad", [{"postfilter": 1.5}, {"gv": -0.1}, {"loudness": 1.0}, {"pause_gate": "deep"}])
def test_a_bad_voice_default_is_a_clear_error(tmp_path, bad):
    spk = S.load_voice(NAME).speakers[0].name
    with pytest.raises(MsarError, match=f"voice_defaults of {spk}: {next(iter(bad))}="):
        _copy_with(tmp_path, {spk: bad})


def test_speakers_lists_each_voice_s_own_defaults(tmp_path):
    from click.testing import CliRunner

    from msar.cli.main import cli

    shipped = S.load_voice(NAME)
    a = shipped.speakers[0].name
    _copy_with(tmp_path, {a: {"postfilter": 0.4, "pause_gate": 0.0}})
    r = CliRunner().invoke(cli, ["speakers", "--model", str(tmp_path / f"{NAME}.onnx")])
    assert r.exit_code == 0, r.output
    rows = {line.split(",")[0]: line.rsplit(",", 4)[1:] for line in r.output.splitlines()[1:]}
    assert rows[a] == ["0.4", f"{S.GV_WEIGHT:g}", f"{S.GV_F0_WEIGHT:g}", "0"]
    assert rows[shipped.speakers[1].name] == [f"{S.POSTFILTER_BETA:g}", f"{S.GV_WEIGHT:g}", f"{S.GV_F0_WEIGHT:g}",
                                             f"{S.PAUSE_GATE_DB:g}"]
