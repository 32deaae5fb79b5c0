"""Token field masks, as a property: whatever a mask names is the token's, all of it.

A client once overrode ``responseModalities`` under a token minted with
``fieldMask: "generationConfig"``: a whole message in a mask must lock every
field below it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from livesvc.gateway._merge import merge_setup
from livesvc.gateway._tokens import parse_field_mask
from livesvc.wire import Content, GenerationConfig, Part, Setup

OVERRIDABLE = frozenset(
    {
        "generation_config.response_modalities",
        "generation_config.temperature",
        "generation_config.top_p",
        "system_instruction",
    }
)
# What a mask may name: whole messages, single fields, and two-level paths as the SDK writes.
MASK_PATHS = [
    "generationConfig",
    "generationConfig.responseModalities",
    "generationConfig.temperature",
    "generationConfig.topP",
    "systemInstruction",
    "systemInstruction.parts",
]


def config(
    modality: str | None, temperature: float | None, top_p: float | None
) -> GenerationConfig:
    return GenerationConfig(
        response_modalities=[modality] if modality else None,
        temperature=temperature,
        top_p=top_p,
    )


def get(setup: Setup, path: str):  # type: ignore[no-untyped-def]
    if path.startswith("generation_config."):
        gc = setup.generation_config
        return getattr(gc, path.split(".", 1)[1]) if gc is not None else None
    return getattr(setup, path)


modalities = st.sampled_from([None, "AUDIO", "TEXT"])
numbers = st.one_of(st.none(), st.floats(0, 1, allow_nan=False))
instructions = st.one_of(st.none(), st.text(min_size=1, max_size=5))


def setups() -> st.SearchStrategy[Setup]:
    return st.builds(
        lambda m, t, p, i: Setup(
            model="models/m",
            generation_config=config(m, t, p),
            system_instruction=Content(parts=[Part(text=i)]) if i else None,
        ),
        modalities,
        numbers,
        numbers,
        instructions,
    )


@settings(max_examples=300, deadline=None)
@given(
    mask=st.lists(st.sampled_from(MASK_PATHS), min_size=1, max_size=3, unique=True),
    profile=setups(),
    token=setups(),
    client=setups(),
)
def test_every_path_under_a_mask_is_the_tokens(mask, profile, token, client):
    locked = parse_field_mask(",".join(mask))
    merged = merge_setup(profile, client, overridable=OVERRIDABLE, token=token, token_locked=locked)
    for path in OVERRIDABLE:
        top = path.split(".")[0]
        masked = path in locked or top in locked
        if masked:
            want = get(token, path)
            if want is None:
                want = get(profile, path)  # locked to unset: the profile's stays
            assert get(merged, path) == want, (path, mask)
        else:
            # Not masked: the client's value wins over the profile's when it gives one.
            given = get(client, path)
            assert get(merged, path) == (given if given is not None else get(profile, path))


def test_a_whole_message_in_the_mask_locks_its_fields():
    token = Setup(model="models/m", generation_config=config("AUDIO", None, None))
    client = Setup(model="models/m", generation_config=config("TEXT", 0.5, None))
    merged = merge_setup(
        Setup(model="models/m"),
        client,
        overridable=OVERRIDABLE,
        token=token,
        token_locked=parse_field_mask("generationConfig"),
    )
    assert merged.generation_config is not None
    assert merged.generation_config.response_modalities == ["AUDIO"]
    assert merged.generation_config.temperature is None  # locked to the token's "unset"
