"""Casing, base64, int64 and error-path behaviour of the wire codec."""

import base64
import json
from typing import Any

import pytest

from livesvc.wire import (
    Blob,
    ClientContent,
    ClientMessage,
    ContextUpdate,
    ContextUpdateTools,
    GoAway,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    Setup,
    ToolResponse,
    UsageMetadata,
    WireDecodeError,
    decode_client,
    decode_server,
    encode_client,
    encode_server,
)

AUDIO = bytes([0xFB, 0xFF, 0xFE, 0x00, 0x01]) * 3


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(AUDIO).decode(),
        base64.urlsafe_b64encode(AUDIO).decode(),
        base64.b64encode(AUDIO).decode().rstrip("="),
        base64.urlsafe_b64encode(AUDIO).decode().rstrip("="),
    ],
)
@pytest.mark.parametrize(
    ("outer", "mime"), [("realtimeInput", "mimeType"), ("realtime_input", "mime_type")]
)
def test_audio_decodes_in_any_casing_and_alphabet(encoded: str, outer: str, mime: str) -> None:
    frame = json.dumps({outer: {"audio": {"data": encoded, mime: "audio/pcm;rate=16000"}}})
    msg = decode_client(frame)
    assert msg == ClientMessage(
        realtime_input=RealtimeInput(audio=Blob(data=AUDIO, mime_type="audio/pcm;rate=16000"))
    )


def test_encode_is_camel_case_standard_base64_and_omits_unset() -> None:
    frame = encode_client(RealtimeInput(audio=Blob(data=AUDIO, mime_type="audio/pcm;rate=16000")))
    assert json.loads(frame) == {
        "realtimeInput": {
            "audio": {"data": base64.b64encode(AUDIO).decode(), "mimeType": "audio/pcm;rate=16000"}
        }
    }


def test_camel_case_wins_when_a_frame_has_both_spellings() -> None:
    msg = decode_client(
        b'{"setup": {"model": "m", "explicitVadSignal": true, "explicit_vad_signal": false}}'
    )
    assert msg.setup == Setup(model="m", explicit_vad_signal=True)


def test_int64_decodes_from_string_or_number_and_encodes_as_string() -> None:
    for raw in (b'"123456789"', b"123456789"):
        msg = decode_server(
            b'{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": ' + raw + b"}}"
        )
        assert msg.session_resumption_update is not None
        assert msg.session_resumption_update.last_consumed_client_message_index == 123456789
    frame = encode_server(
        ServerMessage(
            session_resumption_update=SessionResumptionUpdate(last_consumed_client_message_index=5)
        )
    )
    assert frame == b'{"sessionResumptionUpdate":{"lastConsumedClientMessageIndex":"5"}}'


def test_unknown_fields_are_ignored_and_unknown_enums_pass_through() -> None:
    msg = decode_server(
        b'{"serverContent": {"turnComplete": true, "brandNewField": {"x": 1},'
        b' "turnCompleteReason": "SOME_FUTURE_REASON"}, "usageMetadata": {"totalTokenCount": 3}}'
    )
    assert msg.server_content is not None
    assert msg.server_content.turn_complete is True
    assert msg.server_content.turn_complete_reason == "SOME_FUTURE_REASON"
    assert msg.usage_metadata == UsageMetadata(total_token_count=3)


def test_usage_output_tokens_from_either_backend() -> None:
    gemini = decode_server(b'{"usageMetadata": {"responseTokenCount": 9}}').usage_metadata
    vertex = decode_server(b'{"usageMetadata": {"candidates_token_count": 9}}').usage_metadata
    assert gemini is not None
    assert vertex is not None
    assert gemini.output_token_count == vertex.output_token_count == 9


def test_go_away_time_left_in_seconds() -> None:
    msg = decode_server(b'{"go_away": {"time_left": "1.5s"}}')
    assert msg.go_away == GoAway(time_left="1.5s")
    assert msg.go_away.time_left_seconds == 1.5


@pytest.mark.parametrize(
    ("frame", "path"),
    [
        (b"not json", "$"),
        (b"[]", "$"),
        (b'{"realtimeInput": {"audio": {"data": 5}}}', "$.realtimeInput.audio.data"),
        (b'{"realtimeInput": {"audio": {"data": "a!b@"}}}', "$.realtimeInput.audio.data"),
        (
            b'{"realtime_input": {"media_chunks": [{}, {"data": "***"}]}}',
            "$.realtime_input.media_chunks[1].data",
        ),
        (
            b'{"setup": {"generationConfig": {"temperature": "hot"}}}',
            "$.setup.generationConfig.temperature",
        ),
    ],
)
def test_bad_frames_raise_wire_decode_error_naming_the_path(frame: bytes, path: str) -> None:
    with pytest.raises(WireDecodeError) as info:
        decode_client(frame)
    assert info.value.path == path
    assert f"`{path}`" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\xff\xfe",
        b'{"toolResponse": {"functionResponses": [{"response": {"a": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}]}}",
        '{"setup": {"model": "\ud800"}}',
        b'{"setup": {"generationConfig": {"temperature": 1e400}}}',
        b'{"setup": {"contextWindowCompression": {"triggerTokens": "99999999999999999999"}}}',
        b'{"realtimeInput": {"audio": {"data": "\xc3\xa9\xc3\xa9"}}}',
    ],
    ids=[
        "empty",
        "binary",
        "deep",
        "surrogate",
        "huge-float",
        "int64-overflow",
        "non-ascii-base64",
    ],
)
def test_hostile_frames_raise_only_wire_decode_error(frame: bytes | str) -> None:
    with pytest.raises(WireDecodeError):
        decode_client(frame)


def test_int64_overflow_names_its_field() -> None:
    with pytest.raises(WireDecodeError) as info:
        decode_server(
            b'{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "9223372036854775808"}}'
        )
    assert info.value.path == "$.sessionResumptionUpdate.lastConsumedClientMessageIndex"


def test_snake_spellings_leave_no_trace_after_decoding() -> None:
    msg = decode_client(
        b'{"realtime_input": {"media_chunks": [{"data": "AAE", "mime_type": "audio/pcm"}], "audio_stream_end": true}}'
    )
    assert msg.realtime_input_ is None  # type: ignore[attr-defined]
    assert msg.realtime_input is not None
    assert msg.realtime_input.media_chunks_ is None  # type: ignore[attr-defined]
    assert "_" not in encode_client(msg).decode().replace("audio/pcm", "")
    assert repr(msg) == (
        "ClientMessage(realtime_input=RealtimeInput(media_chunks=[Blob(data=b'\\x00\\x01', "
        "mime_type='audio/pcm')], audio_stream_end=True))"
    )


@pytest.mark.parametrize(
    ("bare", "key"),
    [
        (Setup(model="m"), "setup"),
        (ClientContent(turn_complete=True), "clientContent"),
        (RealtimeInput(text="hi"), "realtimeInput"),
        (ToolResponse(function_responses=[]), "toolResponse"),
        (ContextUpdate(tools=ContextUpdateTools(tools=[])), "contextUpdate"),
    ],
)
def test_encode_client_wraps_a_bare_message(bare: Any, key: str) -> None:
    frame = encode_client(bare)
    assert list(json.loads(frame)) == [key]
    assert encode_client(decode_client(frame)) == frame


def test_encoders_reject_the_wrong_direction() -> None:
    with pytest.raises(TypeError):
        encode_client(ServerMessage())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_server(ClientMessage())  # type: ignore[arg-type]


def test_several_server_fields_in_one_frame() -> None:
    frame = encode_server(
        ServerMessage(
            server_content=ServerContent(turn_complete=True),
            usage_metadata=UsageMetadata(total_token_count=5),
            go_away=GoAway(time_left="30s"),
        )
    )
    assert json.loads(frame) == {
        "serverContent": {"turnComplete": True},
        "goAway": {"timeLeft": "30s"},
        "usageMetadata": {"totalTokenCount": 5},
    }
