"""The model capability registry: names in any form map to the facts validation needs."""

from __future__ import annotations

import pytest

from livesvc.auth import Backend
from livesvc.models import TextInput, ThinkingKnob, candidates, capabilities, normalize_model_name


@pytest.mark.parametrize(
    "name",
    [
        "gemini-2.5-flash-native-audio-latest",
        "models/gemini-2.5-flash-native-audio-preview-09-2025",
        "publishers/google/models/gemini-2.5-flash-native-audio-preview-12-2025",
        "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash-native-audio-latest",
        "models/gemini-2.5-flash-native-audio-latest:bidiGenerateContent",
    ],
)
def test_aliases_and_prefixes_resolve_to_one_entry(name: str) -> None:
    """Every spelling of the 2.5 native-audio model finds the same entry."""
    caps = capabilities(name)
    assert caps is not None
    assert caps.name == "gemini-2.5-flash-native-audio-preview-12-2025"


def test_gemini_31_facts() -> None:
    """3.1 is audio-only, takes text as realtimeInput.text, has no NON_BLOCKING, uses thinking levels."""
    caps = capabilities("gemini-3.1-flash-live-preview")
    assert caps is not None
    assert caps.response_modalities == {"AUDIO"}
    assert caps.text_input is TextInput.REALTIME_INPUT
    assert caps.non_blocking_tools is False
    assert caps.thinking is ThinkingKnob.LEVEL
    assert caps.affective_dialog is False


def test_unknown_model_has_no_entry() -> None:
    """A model the registry does not know is allowed but unchecked."""
    assert capabilities("gemini-9-ultra-live") is None


def test_candidates_are_filtered_by_modality_and_backend() -> None:
    """Audio candidates start with the preferred Gemini model; Vertex lists only Vertex models."""
    assert candidates("audio")[:2] == ["gemini-3.8-live", "gemini-3.1-flash-live-preview"]
    assert "gemini-live-2.5-flash-native-audio" not in candidates("audio")
    vertex = candidates("audio", backend=Backend.VERTEX)
    assert vertex[:2] == ["gemini-3.8-live", "gemini-live-2.5-flash-native-audio"]
    assert "gemini-3.1-flash-live-preview" not in vertex
    assert "gemini-3.8-live-extended-thinking" not in vertex
    assert "gemini-3.1-flash-live-preview" not in candidates("text")


def test_normalize_model_name() -> None:
    """Prefixes and method suffixes are stripped; bare names stay."""
    assert normalize_model_name("models/x") == "x"
    assert normalize_model_name("x") == "x"


def test_retired_models_are_known_but_not_candidates() -> None:
    """Models Google shut down (Dec 2025) keep their entry but leave the default lists."""
    for name in ("gemini-live-2.5-flash-preview", "gemini-2.0-flash-live-001"):
        caps = capabilities(name)
        assert caps is not None
        assert caps.retired
        assert name not in candidates("audio")
        assert name not in candidates("text")
        assert name not in candidates("text", backend=Backend.VERTEX)


def test_gemini_38_facts() -> None:
    """3.8 Live: no thinkingConfig, NON_BLOCKING by default, fixed audio features on the Gemini API."""
    caps = capabilities("models/gemini-3.8-live")
    assert caps is not None
    assert caps.backends == {Backend.GEMINI, Backend.VERTEX}
    assert caps.thinking_config is False
    assert caps.non_blocking_by_default
    assert caps.blocking_tools
    assert caps.modalities(Backend.GEMINI) == {"AUDIO"}
    assert caps.modalities(Backend.VERTEX) == {"AUDIO", "VIDEO"}
    assert caps.proactive_audio_always_on == {Backend.GEMINI}
    assert caps.affective_dialog_removed == {Backend.GEMINI}
    et = capabilities("gemini-3.8-live-extended-thinking")
    assert et is not None
    assert et.backends == {Backend.GEMINI}
    assert et.thinking is ThinkingKnob.LEVEL
    assert et.thinking_levels == {"LOW", "MEDIUM", "HIGH"}
    assert et.default_thinking_level == "LOW"
    assert et.blocking_tools is False
    assert et.non_blocking_by_default
    assert candidates("video") == []
    assert candidates("video", backend=Backend.VERTEX) == ["gemini-3.8-live"]
