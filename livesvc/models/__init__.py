"""Live model capabilities and runtime model resolution.

Example::

    from livesvc.models import capabilities, resolve

    model = await resolve("audio")                 # asks the models list, falls back
    capabilities(model).text_input                 # how send_text will send text
"""

from __future__ import annotations

from livesvc.models._registry import REGISTRY as REGISTRY
from livesvc.models._registry import ModelCapabilities as ModelCapabilities
from livesvc.models._registry import TextInput as TextInput
from livesvc.models._registry import ThinkingKnob as ThinkingKnob
from livesvc.models._registry import candidates as candidates
from livesvc.models._registry import capabilities as capabilities
from livesvc.models._registry import normalize_model_name as normalize_model_name
from livesvc.models._resolve import ListedModel as ListedModel
from livesvc.models._resolve import list_models as list_models
from livesvc.models._resolve import pick_from_available as pick_from_available
from livesvc.models._resolve import resolve as resolve

__all__ = [
    "REGISTRY",
    "ListedModel",
    "ModelCapabilities",
    "TextInput",
    "ThinkingKnob",
    "capabilities",
    "candidates",
    "list_models",
    "normalize_model_name",
    "pick_from_available",
    "resolve",
]
