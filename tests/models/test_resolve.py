"""resolve(): pick a Live model the key can use, falling back as the seeds describe."""

from __future__ import annotations

import httpx
import pytest
from structlog.testing import capture_logs

from livesvc.auth import ApiKey
from livesvc.models import list_models, resolve


def models_server(
    pages: list[dict[str, object]], seen: list[httpx.Request], status: int = 200
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        token = request.url.params.get("pageToken")
        index = int(token) if token else 0
        return httpx.Response(status, json=pages[index] if status == 200 else {"error": {}})

    return httpx.MockTransport(handler)


LIVE = ["generateContent", "bidiGenerateContent"]


async def test_prefers_the_first_registry_candidate_the_key_lists() -> None:
    """With 3.1 unavailable, the 2.5 native-audio model listed under an alias is chosen, across pages."""
    seen: list[httpx.Request] = []
    pages = [
        {
            "models": [
                {
                    "name": "models/gemini-2.0-flash",
                    "supportedGenerationMethods": ["generateContent"],
                },
                {
                    "name": "models/gemini-2.5-flash-native-audio-latest",
                    "supportedGenerationMethods": LIVE,
                },
            ],
            "nextPageToken": "1",
        },
        {
            "models": [
                {"name": "models/gemini-live-2.5-flash-preview", "supportedGenerationMethods": LIVE}
            ]
        },
    ]
    async with httpx.AsyncClient(transport=models_server(pages, seen)) as client:
        model = await resolve(
            "audio", auth=ApiKey("k"), base_url="http://127.0.0.1:1", http_client=client
        )
    # The name the key lists is the one returned: the server knows the model by it.
    assert model == "gemini-2.5-flash-native-audio-latest"
    assert [str(r.url) for r in seen] == [
        "http://127.0.0.1:1/v1beta/models?pageSize=100",
        "http://127.0.0.1:1/v1beta/models?pageSize=100&pageToken=1",
    ]
    assert seen[0].headers["x-goog-api-key"] == "k"


async def test_models_without_the_live_method_are_ignored() -> None:
    """A listed model that lacks bidiGenerateContent is not a Live model."""
    listed = await resolve(
        "text",
        available=["models/gemini-live-2.5-flash-preview"],
    )
    assert listed == "gemini-live-2.5-flash-preview"
    seen: list[httpx.Request] = []
    pages = [
        {
            "models": [
                {
                    "name": "models/gemini-live-2.5-flash-preview",
                    "supportedGenerationMethods": ["generateContent"],
                }
            ]
        }
    ]
    async with httpx.AsyncClient(transport=models_server(pages, seen)) as client:
        with pytest.raises(ValueError, match="'text'"):
            await resolve("text", auth=ApiKey("k"), http_client=client)


async def test_list_failure_falls_back_to_the_static_default_with_a_warning() -> None:
    """If the list cannot be fetched, the registry default is returned and the failure logged."""
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=models_server([], seen, status=403)) as client:
        with capture_logs() as logs:
            model = await resolve("audio", auth=ApiKey("k"), http_client=client)
    assert model == "gemini-3.8-live"
    assert [e["event"] for e in logs] == ["models.list_failed"]


async def test_preferred_candidates_come_first() -> None:
    """Caller-preferred names win over the registry order when listed."""
    model = await resolve(
        "audio",
        available=["models/gemini-3.1-flash-live-preview", "models/my-audio-model"],
        preferred=["my-audio-model"],
    )
    assert model == "my-audio-model"


async def test_empty_method_list_counts_as_supported() -> None:
    """A listed model with no method list is treated as Live-capable (as the seeds do)."""
    seen: list[httpx.Request] = []
    pages = [{"models": [{"name": "models/gemini-3.1-flash-live-preview"}]}]
    async with httpx.AsyncClient(transport=models_server(pages, seen)) as client:
        models = await list_models(ApiKey("k"), http_client=client)
        assert models[0].supports("bidiGenerateContent")
        assert (
            await resolve("audio", auth=ApiKey("k"), http_client=client)
            == "gemini-3.1-flash-live-preview"
        )


async def test_audio_prefers_a_listed_38_model() -> None:
    """gemini-3.8-live wins over every older listed model; without it, 3.1 is next."""
    older = [
        "models/gemini-live-2.5-flash-preview",
        "models/gemini-2.5-flash-native-audio-latest",
        "models/gemini-3.1-flash-live-preview",
    ]
    assert await resolve("audio", available=[*older, "models/gemini-3.8-live"]) == (
        "gemini-3.8-live"
    )
    assert await resolve("audio", available=older) == "gemini-3.1-flash-live-preview"


async def test_extended_thinking_is_picked_only_when_nothing_else_fits() -> None:
    """Background reasoning is a choice, not the audio default: a listed 2.5 model comes first."""
    both = [
        "models/gemini-3.8-live-extended-thinking",
        "models/gemini-2.5-flash-native-audio-latest",
    ]
    assert await resolve("audio", available=both) == "gemini-2.5-flash-native-audio-latest"
    assert (
        await resolve("audio", available=["models/gemini-3.8-live-extended-thinking"])
        == "gemini-3.8-live-extended-thinking"
    )


async def test_retired_models_are_accepted_where_served_but_never_a_default() -> None:
    """A server that still lists a retired model gets it, after any current model that fits."""
    assert (
        await resolve("text", available=["models/gemini-2.0-flash-live-001"])
        == "gemini-2.0-flash-live-001"
    )
    picked = await resolve(
        "audio",
        available=["models/gemini-live-2.5-flash-preview", "models/gemini-3.8-live"],
    )
    assert picked == "gemini-3.8-live"
    assert await resolve("audio", available=["models/unknown-model"]) == "gemini-3.8-live"
