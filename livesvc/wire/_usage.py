"""Token accounting, normalized across the Gemini API and Vertex spellings."""

from livesvc.wire._base import WireStruct

__all__ = ["ModalityTokenCount", "UsageMetadata"]


class ModalityTokenCount(WireStruct, kw_only=True):
    """Tokens of one modality (``TEXT``, ``AUDIO``, ``IMAGE``, ``VIDEO``, ``DOCUMENT``)."""

    modality: str | None = None
    token_count: int | None = None


class UsageMetadata(WireStruct, kw_only=True):
    """Token usage of the session so far.

    The Gemini API names the output ``responseTokenCount`` / ``responseTokensDetails``;
    Vertex names it ``candidatesTokenCount`` / ``candidatesTokensDetails``. Both are
    kept as sent (so re-encoding is faithful, and an emulator picks a backend's names
    by setting one of them), and :attr:`output_token_count` /
    :attr:`output_tokens_details` read whichever is present.

    Example:
        >>> UsageMetadata(candidates_token_count=7).output_token_count
        7
        >>> UsageMetadata(response_token_count=5).output_token_count
        5
    """

    prompt_token_count: int | None = None
    cached_content_token_count: int | None = None
    response_token_count: int | None = None
    candidates_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None
    thoughts_token_count: int | None = None
    total_token_count: int | None = None
    prompt_tokens_details: list[ModalityTokenCount] | None = None
    cache_tokens_details: list[ModalityTokenCount] | None = None
    response_tokens_details: list[ModalityTokenCount] | None = None
    candidates_tokens_details: list[ModalityTokenCount] | None = None
    tool_use_prompt_tokens_details: list[ModalityTokenCount] | None = None
    traffic_type: str | None = None
    service_tier: str | None = None

    @property
    def output_token_count(self) -> int | None:
        """Output tokens, from either backend's field."""
        if self.response_token_count is not None:
            return self.response_token_count
        return self.candidates_token_count

    @property
    def output_tokens_details(self) -> list[ModalityTokenCount] | None:
        """Per-modality output tokens, from either backend's field."""
        if self.response_tokens_details is not None:
            return self.response_tokens_details
        return self.candidates_tokens_details
