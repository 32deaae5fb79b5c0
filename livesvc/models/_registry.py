"""What each Live model can do, so a session is validated before any socket opens.

Google's Live models differ in ways the server reports only as an opaque close
(1007, 1008, 1011): an audio-only model rejects ``TEXT``, Gemini 3.1 wants
mid-session text as ``realtimeInput.text`` and has no ``NON_BLOCKING`` functions,
Vertex has no ephemeral tokens but has transparent resumption, Gemini 3.8 Live
refuses any ``thinkingConfig`` and 3.8 extended thinking refuses ``BLOCKING``
functions. This registry holds those facts (from the SDK, the docs and the
seeds; see ``gemini_ex-inventory.md`` §3, ``live-wire-protocol.md`` §8 and
``live-3.8.md`` §1, §2, §4).

Unknown models are allowed: validation then checks only what it knows.

Example::

    >>> caps = capabilities("models/gemini-3.1-flash-live-preview")
    >>> caps.text_input.value, sorted(caps.response_modalities)
    ('realtime_input', ['AUDIO'])
    >>> capabilities("my-fine-tune") is None
    True
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from livesvc.auth import Backend

__all__ = [
    "REGISTRY",
    "ModelCapabilities",
    "TextInput",
    "ThinkingKnob",
    "capabilities",
    "candidates",
    "normalize_model_name",
]


class TextInput(enum.Enum):
    """How a model takes a text turn mid-session."""

    CLIENT_CONTENT = "client_content"
    REALTIME_INPUT = "realtime_input"


class ThinkingKnob(enum.Enum):
    """Which thinking control a model accepts."""

    BUDGET = "budget"  # thinking_budget (2.5 models)
    LEVEL = "level"  # thinking_level (3.x models)
    NONE = "none"


@dataclass(frozen=True)
class ModelCapabilities:
    """The facts about one Live model that local validation needs.

    Attributes:
        retired: Google shut the model down on its public endpoints. It is still
            accepted (a private deployment or the emulator may serve it) but is
            never a default nor a :func:`candidates` entry.
        thinking_config: ``False`` when any ``thinkingConfig`` is refused (3.8 Live).
        thinking_levels: the ``thinkingLevel`` values accepted (``None``: any known one).
        default_thinking_level: filled in when the caller gives no level; set on
            models that refuse a setup without one (3.8 extended thinking).
        blocking_tools: ``False`` when ``behavior: BLOCKING`` is refused.
        non_blocking_by_default: a declaration without ``behavior`` is NON_BLOCKING.
        proactive_audio_always_on: backends where ``proactiveAudio: false`` is refused.
        affective_dialog_removed: backends where ``enableAffectiveDialog`` is refused.
        vertex_response_modalities: extra modalities on Vertex AI (3.8 avatar ``VIDEO``).
        informative_tool_errors: the model calls a tool again when its answer says
            nothing useful (3.8), so failures are answered with ``status``,
            ``retryable`` and a message.
    """

    name: str
    aliases: tuple[str, ...] = ()
    backends: frozenset[Backend] = frozenset({Backend.GEMINI})
    response_modalities: frozenset[str] = frozenset({"AUDIO"})
    text_input: TextInput = TextInput.CLIENT_CONTENT
    non_blocking_tools: bool = True
    affective_dialog: bool = False
    proactive_audio: bool = False
    thinking: ThinkingKnob = ThinkingKnob.BUDGET
    retired: bool = False
    thinking_config: bool = True
    thinking_levels: frozenset[str] | None = None
    default_thinking_level: str | None = None
    blocking_tools: bool = True
    non_blocking_by_default: bool = False
    proactive_audio_always_on: frozenset[Backend] = frozenset()
    affective_dialog_removed: frozenset[Backend] = frozenset()
    vertex_response_modalities: frozenset[str] = frozenset()
    informative_tool_errors: bool = False
    # What the models list shows (``displayName``, ``inputTokenLimit``, ``outputTokenLimit``).
    display_name: str = ""
    input_token_limit: int = 131072
    output_token_limit: int = 8192

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name followed by its aliases."""
        return (self.name, *self.aliases)

    def modalities(self, backend: Backend) -> frozenset[str]:
        """The response modalities the model answers in on ``backend``."""
        if backend is Backend.VERTEX:
            return self.response_modalities | self.vertex_response_modalities
        return self.response_modalities


_LEVELS_38 = frozenset({"LOW", "MEDIUM", "HIGH"})

# Order is preference: resolve() picks the first one that is available.
REGISTRY: tuple[ModelCapabilities, ...] = (
    ModelCapabilities(
        name="gemini-3.8-live",
        display_name="Gemini 3.8 Live",
        output_token_limit=65536,
        backends=frozenset({Backend.GEMINI, Backend.VERTEX}),
        thinking=ThinkingKnob.NONE,
        thinking_config=False,
        non_blocking_by_default=True,
        # Vertex keeps both switchable (on by default); the Gemini API does not.
        affective_dialog=True,
        proactive_audio=True,
        proactive_audio_always_on=frozenset({Backend.GEMINI}),
        affective_dialog_removed=frozenset({Backend.GEMINI}),
        vertex_response_modalities=frozenset({"VIDEO"}),
        informative_tool_errors=True,
    ),
    ModelCapabilities(
        name="gemini-3.1-flash-live-preview",
        display_name="Gemini 3.1 Flash Live Preview",
        text_input=TextInput.REALTIME_INPUT,
        non_blocking_tools=False,
        thinking=ThinkingKnob.LEVEL,
    ),
    ModelCapabilities(
        name="gemini-2.5-flash-native-audio-preview-12-2025",
        display_name="Gemini 2.5 Flash Native Audio Preview",
        aliases=(
            "gemini-2.5-flash-native-audio-latest",
            "gemini-2.5-flash-native-audio-preview-09-2025",
        ),
        affective_dialog=True,
        proactive_audio=True,
    ),
    ModelCapabilities(
        name="gemini-live-2.5-flash-native-audio",
        display_name="Gemini Live 2.5 Flash Native Audio",
        aliases=(
            "gemini-live-2.5-flash-preview-native-audio-09-2025",
            "gemini-live-2.5-flash-preview-native-audio",
        ),
        backends=frozenset({Backend.VERTEX}),
        affective_dialog=True,
        proactive_audio=True,
    ),
    ModelCapabilities(
        name="gemini-live-2.5-flash",
        display_name="Gemini Live 2.5 Flash",
        backends=frozenset({Backend.VERTEX}),
        response_modalities=frozenset({"TEXT", "AUDIO"}),
    ),
    ModelCapabilities(
        name="gemini-live-2.5-flash-preview",
        display_name="Gemini Live 2.5 Flash Preview",
        response_modalities=frozenset({"TEXT", "AUDIO"}),
        retired=True,
    ),
    ModelCapabilities(
        name="gemini-2.0-flash-live-001",
        display_name="Gemini 2.0 Flash Live",
        aliases=("gemini-2.0-flash-live-preview-04-09",),
        backends=frozenset({Backend.GEMINI, Backend.VERTEX}),
        response_modalities=frozenset({"TEXT", "AUDIO"}),
        thinking=ThinkingKnob.NONE,
        retired=True,
    ),
    # Background reasoning for agents: chosen by name, never as the "audio" default.
    ModelCapabilities(
        name="gemini-3.8-live-extended-thinking",
        display_name="Gemini 3.8 Live Extended Thinking",
        output_token_limit=65536,
        thinking=ThinkingKnob.LEVEL,
        thinking_levels=_LEVELS_38,
        default_thinking_level="LOW",
        blocking_tools=False,
        non_blocking_by_default=True,
        informative_tool_errors=True,
        # Unknown for this model (fact sheet, Unknown 9-10): not refused locally.
        affective_dialog=True,
        proactive_audio=True,
    ),
)

_BY_NAME = {name: caps for caps in REGISTRY for name in caps.names}
_PREFIX = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?(?:models/)?")


def normalize_model_name(model: str) -> str:
    """Strip resource prefixes and a ``:method`` suffix.

    >>> normalize_model_name("projects/p/locations/l/publishers/google/models/m:bidiGenerateContent")
    'm'
    """
    return _PREFIX.sub("", model.strip()).split(":", 1)[0]


def capabilities(model: str) -> ModelCapabilities | None:
    """The registry entry for ``model`` (any prefix form), or ``None`` if unknown."""
    return _BY_NAME.get(normalize_model_name(model))


def candidates(modality: str, *, backend: Backend = Backend.GEMINI) -> list[str]:
    """Registry names able to answer in ``modality`` on ``backend``, most preferred first.

    Retired models are left out: they are accepted by name, never picked.

    >>> candidates("audio")[:2]
    ['gemini-3.8-live', 'gemini-3.1-flash-live-preview']
    """
    wanted = modality.upper()
    out: list[str] = []
    for caps in REGISTRY:
        if caps.retired:
            continue
        if backend in caps.backends and wanted in caps.modalities(backend):
            out.extend(caps.names)
    return out
