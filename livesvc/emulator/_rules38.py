"""The Gemini 3.8 Live setup rules, as the emulator enforces them (pure).

Each rule refuses a setup the way Google does, with close code 1007 and a
reason naming the field (the sources give no exact wording, so the reason says
what is wrong and how to fix it). Where the Gemini API and Vertex AI differ
(``../shared/docs/live-3.8.md`` §2), each endpoint follows its own rule:

==============================  ========================================  =============
setup                           ``gemini-3.8-live``                       extended thinking
==============================  ========================================  =============
``thinkingConfig``              refused (both endpoints)                  required: a ``thinkingLevel``
``thinkingLevel``               refused                                   LOW, MEDIUM or HIGH
``thinkingBudget``              refused                                   refused
``proactiveAudio: false``       refused (Gemini API; Vertex accepts)      refused
``enableAffectiveDialog``       refused (Gemini API; Vertex accepts)      refused
``behavior: BLOCKING``          accepted (cancelled by new input)         refused
==============================  ========================================  =============

Response modalities are checked with every model's (3.8: AUDIO only).

Example::

    >>> from livesvc.wire import Setup
    >>> check_setup(Setup(model="models/gemini-3.8-live-extended-thinking"), RULES_ET, "gemini")
    (1007, 'generationConfig.thinkingConfig.thinkingLevel is required for models/gemini-3.8-live-extended-thinking: set LOW, MEDIUM or HIGH')
"""

from __future__ import annotations

from livesvc.wire import Setup

__all__ = ["RULES_ET", "RULES_LIVE", "THINKING_LEVELS", "check_setup"]

RULES_LIVE = "gemini-3.8-live"
RULES_ET = "gemini-3.8-live-extended-thinking"
THINKING_LEVELS = ("LOW", "MEDIUM", "HIGH")
_INVALID = 1007


def check_setup(setup: Setup, rules: str, backend: str) -> tuple[int, str] | None:
    """The close code and reason refusing ``setup`` under ``rules``, or ``None`` if it is valid."""
    model = f"models/{rules}"
    config = setup.generation_config
    thinking = config.thinking_config if config else None
    on_gemini = backend == "gemini"
    if rules == RULES_LIVE:
        if thinking is not None:
            return _refuse(
                "generationConfig.thinkingConfig", f"is not supported by {model}: remove it"
            )
    else:
        level = (thinking.thinking_level or "").upper() if thinking else ""
        if not level:
            return _refuse(
                "generationConfig.thinkingConfig.thinkingLevel",
                f"is required for {model}: set LOW, MEDIUM or HIGH",
            )
        if level not in THINKING_LEVELS:
            return _refuse(
                "generationConfig.thinkingConfig.thinkingLevel",
                f"{level} is not supported by {model}: use LOW, MEDIUM or HIGH",
            )
    if thinking is not None and thinking.thinking_budget is not None:
        return _refuse(
            "generationConfig.thinkingConfig.thinkingBudget", f"is not supported by {model}"
        )
    strict = on_gemini or rules == RULES_ET
    proactivity = setup.proactivity
    if strict and proactivity is not None and proactivity.proactive_audio is False:
        return _refuse(
            "proactivity.proactiveAudio",
            f"cannot be false on {model}: proactive audio is always on",
        )
    if strict and config is not None and config.enable_affective_dialog is not None:
        return _refuse(
            "generationConfig.enableAffectiveDialog", f"is not supported by {model}: remove it"
        )
    if rules == RULES_ET:
        for tool in setup.tools or ():
            for declaration in tool.function_declarations or ():
                if (declaration.behavior or "").upper() == "BLOCKING":
                    return _refuse(
                        "tools.functionDeclarations.behavior",
                        f"BLOCKING ({declaration.name}) is not supported by {model}: "
                        "only NON_BLOCKING functions",
                    )
    return None


def _refuse(field: str, problem: str) -> tuple[int, str]:
    if problem[0].isupper():  # a value first: "<field>: <VALUE> is ..."
        return _INVALID, f"{field}: {problem}"
    return _INVALID, f"{field} {problem}"
