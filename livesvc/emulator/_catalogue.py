"""The model catalogue: which models exist, on which backend, with what abilities."""

from __future__ import annotations

import msgspec

__all__ = [
    "DEFAULT_CATALOGUE",
    "GEMINI",
    "VERTEX",
    "Catalogue",
    "ModelSpec",
    "TEXT_INPUT_ANY",
    "TEXT_INPUT_REALTIME",
]

GEMINI = "gemini"
VERTEX = "vertex"

# How a model takes text mid-session: "any" accepts clientContent and realtimeInput.text;
# "realtime_input" refuses clientContent after the initial history (1007), as
# gemini-3.1-flash-live-preview did at launch.
TEXT_INPUT_ANY = "any"
TEXT_INPUT_REALTIME = "realtime_input"


class ModelSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One emulated model.

    Attributes:
        name: the bare model id, e.g. ``"gemini-3.1-flash-live-preview"``.
        backend: ``"gemini"`` (Gemini API paths) or ``"vertex"`` (Vertex AI paths).
        response_modalities: modalities a session may ask for (one per session).
        text_input: ``"any"`` or ``"realtime_input"`` (see module constants).
        non_blocking_tools: whether ``behavior: NON_BLOCKING`` functions run
            asynchronously; when False they behave as blocking ones.
        aliases: other ids that resolve to this model.
        display_name: shown by ``models.list``.
        rules38: the Gemini 3.8 setup rules and interaction lifecycle
            (``"gemini-3.8-live"`` or ``"gemini-3.8-live-extended-thinking"``), or
            ``None`` for older models: every ``turnComplete`` then carries an
            ``interactionStatus``, and functions without ``behavior`` are NON_BLOCKING.
    """

    name: str
    backend: str = GEMINI
    response_modalities: tuple[str, ...] = ("AUDIO",)
    text_input: str = TEXT_INPUT_ANY
    non_blocking_tools: bool = True
    aliases: tuple[str, ...] = ()
    display_name: str = ""
    input_token_limit: int = 131072
    output_token_limit: int = 8192
    rules38: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in (GEMINI, VERTEX):
            raise ValueError(f"backend must be {GEMINI!r} or {VERTEX!r}")
        if self.text_input not in (TEXT_INPUT_ANY, TEXT_INPUT_REALTIME):
            raise ValueError(f"text_input must be {TEXT_INPUT_ANY!r} or {TEXT_INPUT_REALTIME!r}")
        if not self.response_modalities:
            raise ValueError("a model needs at least one response modality")


DEFAULT_CATALOGUE: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="gemini-3.8-live",
        response_modalities=("AUDIO",),
        display_name="Gemini 3.8 Live",
        output_token_limit=65536,
        rules38="gemini-3.8-live",
    ),
    ModelSpec(
        name="gemini-3.8-live",
        backend=VERTEX,
        response_modalities=("AUDIO",),
        display_name="Gemini 3.8 Live",
        output_token_limit=65536,
        rules38="gemini-3.8-live",
    ),
    ModelSpec(
        name="gemini-3.8-live-extended-thinking",
        response_modalities=("AUDIO",),
        display_name="Gemini 3.8 Live Extended Thinking",
        output_token_limit=65536,
        rules38="gemini-3.8-live-extended-thinking",
    ),
    ModelSpec(
        name="gemini-3.1-flash-live-preview",
        response_modalities=("AUDIO",),
        non_blocking_tools=False,
        display_name="Gemini 3.1 Flash Live Preview",
    ),
    ModelSpec(
        name="gemini-2.5-flash-native-audio-preview-12-2025",
        response_modalities=("AUDIO",),
        aliases=(
            "gemini-2.5-flash-native-audio-preview-09-2025",
            "gemini-2.5-flash-native-audio-latest",
        ),
        display_name="Gemini 2.5 Flash Native Audio Preview",
    ),
    ModelSpec(
        name="gemini-live-2.5-flash-preview",
        response_modalities=("TEXT", "AUDIO"),
        display_name="Gemini Live 2.5 Flash Preview",
    ),
    ModelSpec(
        name="gemini-live-2.5-flash",
        backend=VERTEX,
        response_modalities=("TEXT", "AUDIO"),
        display_name="Gemini Live 2.5 Flash",
    ),
    ModelSpec(
        name="gemini-live-2.5-flash-native-audio",
        backend=VERTEX,
        response_modalities=("AUDIO",),
        display_name="Gemini Live 2.5 Flash Native Audio",
    ),
)


class Catalogue:
    """Looks models up by any of the names a client may send in ``setup.model``.

    Gemini API names: ``models/X`` or ``X``. Vertex names: ``publishers/google/models/X``,
    ``projects/P/locations/L/publishers/google/models/X``, ``models/X`` or ``X``.

    >>> Catalogue(DEFAULT_CATALOGUE).find("models/gemini-live-2.5-flash-preview", GEMINI).name
    'gemini-live-2.5-flash-preview'
    >>> Catalogue(DEFAULT_CATALOGUE).find("models/gemini-live-2.5-flash", GEMINI) is None
    True
    """

    def __init__(self, models: tuple[ModelSpec, ...]) -> None:
        self.models = models
        self._by_name: dict[tuple[str, str], ModelSpec] = {}
        for spec in models:
            for name in (spec.name, *spec.aliases):
                self._by_name.setdefault((spec.backend, name), spec)

    def find(self, model: str, backend: str) -> ModelSpec | None:
        """The model ``setup.model`` names on ``backend``, or None."""
        bare = bare_model_id(model, backend)
        return None if bare is None else self._by_name.get((backend, bare))

    def named(self, name: str, backend: str) -> ModelSpec | None:
        """The model whose bare name is ``name`` on ``backend`` (as sessions record it)."""
        return next((m for m in self.models if m.name == name and m.backend == backend), None)

    def for_backend(self, backend: str) -> list[ModelSpec]:
        """Models served on ``backend``, in catalogue order."""
        return [spec for spec in self.models if spec.backend == backend]


def bare_model_id(model: str, backend: str) -> str | None:
    """The model id inside a resource name, or None if the name has the wrong shape.

    >>> bare_model_id("projects/p/locations/us-central1/publishers/google/models/m", VERTEX)
    'm'
    >>> bare_model_id("tunedModels/t", GEMINI) is None
    True
    """
    parts = model.split("/")
    if len(parts) == 1:
        bare = parts[0]
    elif len(parts) == 2 and parts[0] == "models":
        bare = parts[1]
    elif backend == VERTEX and len(parts) == 4 and parts[:3] == ["publishers", "google", "models"]:
        bare = parts[3]
    elif (
        backend == VERTEX
        and len(parts) == 8
        and parts[0] == "projects"
        and parts[2] == "locations"
        and parts[4:7] == ["publishers", "google", "models"]
    ):
        bare = parts[7]
    else:
        return None
    return bare or None
