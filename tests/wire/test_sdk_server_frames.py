"""Server frames: what we decode and re-encode, the SDK parses exactly as the original.

Each fixture is shaped like the SDK's own test fixtures and the protocol reference.
The SDK parser is what ``live.AsyncSession._receive`` runs per frame: ``json.loads``,
the backend's ``_LiveServerMessage_from_mldev`` / ``_from_vertex`` converter, then
``types.LiveServerMessage._from_response``.
"""

import base64
import json
import re
from typing import Any

import pytest
from google.genai import _live_converters, types

from livesvc.wire import (
    GoAway,
    ServerMessage,
    SessionResumptionUpdate,
    VoiceActivity,
    decode_server,
    encode_server,
)

AUDIO_24K = bytes(range(256)) * 3 + bytes([0xFB, 0xFF, 0xFE]) * 64  # 960 bytes = 20 ms at 24 kHz
STD = base64.b64encode(AUDIO_24K).decode()
URLSAFE = base64.urlsafe_b64encode(AUDIO_24K).decode()

FIXTURES: dict[str, dict[str, Any]] = {
    "setup_complete_empty": {"setupComplete": {}},
    "setup_complete_session": {
        "setupComplete": {
            "sessionId": "test_session_id",
            "voiceConsentSignature": {"signature": "sig"},
        }
    },
    "text_part": {
        "serverContent": {"modelTurn": {"parts": [{"text": "This is a simple response."}]}}
    },
    "audio_and_transcription": {
        "serverContent": {
            "modelTurn": {
                "role": "model",
                "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": STD}}],
            },
            "outputTranscription": {"text": "Hello there", "finished": False},
        }
    },
    "audio_urlsafe_unpadded": {
        "serverContent": {
            "modelTurn": {
                "parts": [{"inlineData": {"mimeType": "audio/pcm", "data": URLSAFE.rstrip("=")}}]
            }
        }
    },
    "sdk_fixture_audio": {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": {"data": "MDAwMDAw", "mimeType": "audio/pcm"}}]}
        }
    },
    "every_part_kind": {
        "serverContent": {
            "modelTurn": {
                "parts": [
                    {"text": "pondering", "thought": True, "thoughtSignature": "-__-AAE="},
                    {"executableCode": {"code": "print(1)", "language": "PYTHON", "id": "e1"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n", "id": "e1"}},
                    {"functionCall": {"id": "c1", "name": "f", "args": {"a": 1}}},
                    {
                        "fileData": {
                            "fileUri": "gs://b/o",
                            "mimeType": "image/png",
                            "displayName": "o",
                        }
                    },
                    {
                        "inlineData": {
                            "data": "AAE=",
                            "mimeType": "image/jpeg",
                            "displayName": "pic",
                        }
                    },
                    {
                        "text": "clip",
                        "videoMetadata": {"startOffset": "1s", "endOffset": "2.5s", "fps": 2.0},
                    },
                    {"text": "lo-res", "mediaResolution": {"level": "MEDIA_RESOLUTION_LOW"}},
                ]
            }
        }
    },
    "turn_complete_idle": {
        "serverContent": {
            "turnComplete": True,
            "turnCompleteReason": "NEED_MORE_INPUT",
            "waitingForInput": True,
            "interactionStatus": "IDLE",
        }
    },
    "interrupted": {"serverContent": {"interrupted": True}},
    "generation_complete": {"serverContent": {"generationComplete": True}},
    "transcriptions": {
        "serverContent": {
            "inputTranscription": {
                "text": "test_input",
                "finished": True,
                "languageCode": "en-US",
                "speakerLabel": "A",
                "words": [{"word": "test_input", "startOffset": "0.1s", "endOffset": "0.6s"}],
            },
            "interimInputTranscription": {"text": "test_in"},
        }
    },
    "grounding": {
        "serverContent": {
            "modelTurn": {"parts": [{"text": "It is sunny."}]},
            "turnComplete": True,
            "groundingMetadata": {
                "web_search_queries": ["test query"],
                "groundingChunks": [
                    {
                        "web": {
                            "domain": "google.com",
                            "title": "Search results",
                            "uri": "https://x.test/",
                        }
                    }
                ],
                "groundingSupports": [
                    {
                        "segment": {"startIndex": 0, "endIndex": 12, "text": "It is sunny."},
                        "groundingChunkIndices": [0],
                        "confidenceScores": [0.9],
                    }
                ],
                "searchEntryPoint": {"renderedContent": "<div/>", "sdkBlob": "AAE="},
                "retrievalMetadata": {"googleSearchDynamicRetrievalScore": 0.5},
            },
        }
    },
    "url_context": {
        "serverContent": {
            "urlContextMetadata": {
                "urlMetadata": [
                    {
                        "retrievedUrl": "https://x.test/",
                        "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_SUCCESS",
                    }
                ]
            }
        }
    },
    "sdk_fixture_usage_both_backends": {
        "usageMetadata": {
            "promptTokenCount": 15,
            "responseTokenCount": 25,
            "candidatesTokenCount": 50,
            "totalTokenCount": 200,
            "responseTokensDetails": [{"tokenCount": 20, "modality": "TEXT"}],
            "candidatesTokensDetails": [{"tokenCount": 10, "modality": "TEXT"}],
        },
        "serverContent": {
            "modelTurn": {"parts": [{"text": "This is a simple response."}]},
            "turnComplete": True,
        },
    },
    "usage_gemini": {
        "usageMetadata": {
            "promptTokenCount": 100,
            "cachedContentTokenCount": 10,
            "responseTokenCount": 30,
            "toolUsePromptTokenCount": 5,
            "thoughtsTokenCount": 7,
            "totalTokenCount": 152,
            "promptTokensDetails": [
                {"modality": "AUDIO", "tokenCount": 90},
                {"modality": "TEXT", "tokenCount": 10},
            ],
            "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 10}],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 30}],
            "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
        }
    },
    "usage_vertex": {
        "usageMetadata": {
            "promptTokenCount": 100,
            "candidatesTokenCount": 30,
            "totalTokenCount": 130,
            "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 30}],
            "trafficType": "ON_DEMAND",
        }
    },
    "tool_call": {
        "toolCall": {
            "functionCalls": [
                {"name": "get_current_weather", "args": {"location": "San Francisco", "unit": "C"}},
                {
                    "id": "fc2",
                    "name": "stream",
                    "args": {},
                    "willContinue": True,
                    "partialArgs": [
                        {"jsonPath": "$.q", "stringValue": "par", "willContinue": True}
                    ],
                },
            ]
        }
    },
    "tool_call_cancellation": {"toolCallCancellation": {"ids": ["fc1", "fc2"]}},
    "go_away": {"goAway": {"timeLeft": "10s"}},
    "resumption_sdk_fixture": {
        "sessionResumptionUpdate": {
            "newHandle": "test_handle",
            "resumable": "true",
            "lastConsumedClientMessageIndex": "123456789",
        }
    },
    "resumption_not_resumable": {"sessionResumptionUpdate": {"newHandle": "", "resumable": False}},
    "voice_activity": {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "1.5s"}},
    "vad_signal": {"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}},
    "forward_compatible": {
        "serverContent": {"turnComplete": True, "someFutureField": {"x": [1, 2]}},
        "usageMetadata": {"totalTokenCount": 3, "futureCount": 9},
    },
}

# Free-form JSON: its keys are data, not field names, so they keep their spelling.
_FREE_FORM = frozenset({"args"})
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            _CAMEL.sub(r"_\1", k).lower(): (v if k in _FREE_FORM else snake_keys(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def sdk_parse(raw: bytes | str, *, vertexai: bool) -> types.LiveServerMessage:
    """What live.AsyncSession._receive does with one frame."""
    response = json.loads(raw) if raw else {}
    if vertexai:
        response_dict = _live_converters._LiveServerMessage_from_vertex(response)
    else:
        response_dict = _live_converters._LiveServerMessage_from_mldev(response)
    return types.LiveServerMessage._from_response(
        response=response_dict, kwargs=types.LiveServerMessage().model_dump()
    )


@pytest.mark.parametrize("vertexai", [False, True], ids=["gemini", "vertex"])
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_sdk_parses_our_reencoding_like_the_original(name: str, vertexai: bool) -> None:
    raw = json.dumps(FIXTURES[name])
    expected = sdk_parse(raw, vertexai=vertexai)
    assert expected != types.LiveServerMessage(), "fixture must mean something to the SDK"
    ours = decode_server(raw)
    assert sdk_parse(encode_server(ours), vertexai=vertexai) == expected


@pytest.mark.parametrize("vertexai", [False, True], ids=["gemini", "vertex"])
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_snake_case_frames_decode_like_camel_case(name: str, vertexai: bool) -> None:
    camel_frame = json.dumps(FIXTURES[name])
    snake_frame = json.dumps(snake_keys(FIXTURES[name]))
    assert snake_frame != camel_frame
    ours = decode_server(snake_frame)
    assert ours == decode_server(camel_frame)
    assert sdk_parse(encode_server(ours), vertexai=vertexai) == sdk_parse(
        camel_frame, vertexai=vertexai
    )


def test_audio_bytes_match_the_sdk_in_both_alphabets() -> None:
    for name in ("audio_and_transcription", "audio_urlsafe_unpadded"):
        msg = decode_server(json.dumps(FIXTURES[name]))
        assert msg.server_content is not None
        assert msg.server_content.model_turn is not None
        assert msg.server_content.model_turn.parts is not None
        blob = msg.server_content.model_turn.parts[0].inline_data
        assert blob is not None
        assert blob.data == AUDIO_24K


def test_resumption_update_coerces_string_bool_and_int64() -> None:
    msg = decode_server(json.dumps(FIXTURES["resumption_sdk_fixture"]))
    assert msg == ServerMessage(
        session_resumption_update=SessionResumptionUpdate(
            new_handle="test_handle", resumable=True, last_consumed_client_message_index=123456789
        )
    )
    assert b'"lastConsumedClientMessageIndex":"123456789"' in encode_server(msg)


def test_usage_output_tokens_normalize_across_backends() -> None:
    gemini = decode_server(json.dumps(FIXTURES["usage_gemini"])).usage_metadata
    vertex = decode_server(json.dumps(FIXTURES["usage_vertex"])).usage_metadata
    assert gemini is not None
    assert vertex is not None
    assert gemini.output_token_count == vertex.output_token_count == 30
    assert gemini.output_tokens_details == vertex.output_tokens_details
    # Each backend's SDK parse agrees with our normalized view of its own frame.
    sdk_vertex = sdk_parse(json.dumps(FIXTURES["usage_vertex"]), vertexai=True).usage_metadata
    assert sdk_vertex is not None
    assert sdk_vertex.response_token_count == 30


def test_voice_activity_and_go_away_accessors() -> None:
    msg = decode_server(json.dumps({**FIXTURES["voice_activity"], **FIXTURES["go_away"]}))
    assert msg.voice_activity == VoiceActivity(
        voice_activity_type="ACTIVITY_START", audio_offset="1.5s"
    )
    assert msg.voice_activity.audio_offset_seconds == 1.5
    assert msg.go_away == GoAway(time_left="10s")
    assert msg.go_away.time_left_seconds == 10.0
    assert json.loads(encode_server(msg))["voiceActivity"] == {
        "type": "ACTIVITY_START",
        "audioOffset": "1.5s",
    }
