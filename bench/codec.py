"""Codec suite: livesvc.wire against the google-genai SDK, per message.

Messages (a realistic mix of one Live session):

* ``audio_up``: 20 ms of 16 kHz PCM (640 bytes) as the SDK frames it
  (``send_realtime_input(audio=...)``: snake top-level key, URL-safe base64).
* ``audio_down``: 20 ms of 24 kHz model audio (960 bytes) plus an output
  transcription, standard base64, as the server sends it; ``audio_down_200ms`` is
  the same with 9600 bytes, to show how the ratio shrinks as base64 dominates.
* ``tool_call``: one function call with arguments.
* ``usage``: Gemini API usage metadata with per-modality details.

SDK contenders are what the SDK runs per frame: for decode, what
``AsyncSession._receive`` does (``json.loads``, ``_LiveServerMessage_from_mldev``,
``LiveServerMessage._from_response`` with a fresh ``LiveServerMessage().model_dump()``);
for a client frame, the same with ``LiveClientMessage``; for encode, the body of
``send_realtime_input`` (validate, convert, ``convert_to_dict``,
``encode_unserializable_types``, ``json.dumps``). Ours build the struct and encode
it, or decode the bytes. Server frames have no SDK encoder; ours is timed alone.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from google.genai import _common, _live_converters, types
from google.genai import version as genai_version

from bench._harness import Options, Suite, interleaved_samples, median, print_table, write_results
from livesvc.wire import (
    Blob,
    RealtimeInput,
    decode_client,
    decode_server,
    encode_client,
    encode_server,
)

PCM_UP = bytes((i * 37) & 0xFF for i in range(640))  # 20 ms, 16 kHz, 16-bit mono
MIME_UP = "audio/pcm;rate=16000"


def _pcm_down(n: int) -> bytes:
    return bytes((i * 91 + 7) & 0xFF for i in range(n))


def _server_audio_frame(pcm: bytes) -> bytes:
    return json.dumps(
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [
                        {
                            "inlineData": {
                                "mimeType": "audio/pcm;rate=24000",
                                "data": base64.b64encode(pcm).decode(),
                            }
                        }
                    ]
                },
                "outputTranscription": {"text": "Sure, the weather in Paris is"},
            }
        }
    ).encode()


TOOL_CALL_FRAME = json.dumps(
    {
        "toolCall": {
            "functionCalls": [
                {
                    "id": "function-call-1234",
                    "name": "get_weather",
                    "args": {"city": "Paris", "unit": "celsius"},
                }
            ]
        }
    }
).encode()

USAGE_FRAME = json.dumps(
    {
        "usageMetadata": {
            "promptTokenCount": 1234,
            "responseTokenCount": 56,
            "totalTokenCount": 1290,
            "promptTokensDetails": [
                {"modality": "AUDIO", "tokenCount": 1200},
                {"modality": "TEXT", "tokenCount": 34},
            ],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 56}],
        }
    }
).encode()


def sdk_encode_audio_up() -> str:
    """The body of ``AsyncSession.send_realtime_input(audio=Blob(...))`` up to ``ws.send``."""
    kwargs = {"audio": types.Blob(data=PCM_UP, mime_type=MIME_UP)}
    realtime_input = types.LiveSendRealtimeInputParameters.model_validate(kwargs)
    realtime_input_dict = _live_converters._LiveSendRealtimeInputParameters_to_mldev(
        from_object=realtime_input
    )
    realtime_input_dict = _common.convert_to_dict(realtime_input_dict)
    realtime_input_dict = _common.encode_unserializable_types(realtime_input_dict)
    return json.dumps({"realtime_input": realtime_input_dict})


def ours_encode_audio_up() -> bytes:
    return encode_client(RealtimeInput(audio=Blob(data=PCM_UP, mime_type=MIME_UP)))


def sdk_decode_server(raw: bytes) -> types.LiveServerMessage:
    """What ``AsyncSession._receive`` does with one frame (Gemini API path)."""
    parameter_model = types.LiveServerMessage()
    response = json.loads(raw)
    response_dict = _live_converters._LiveServerMessage_from_mldev(response)
    return types.LiveServerMessage._from_response(
        response=response_dict, kwargs=parameter_model.model_dump()
    )


def sdk_decode_client(raw: bytes | str) -> types.LiveClientMessage:
    """The SDK's models applied to a client frame the same way (no converter exists)."""
    parameter_model = types.LiveClientMessage()
    return types.LiveClientMessage._from_response(
        response=json.loads(raw), kwargs=parameter_model.model_dump()
    )


# The realistic mix; audio_down_200ms is reported for information only.
MIX = frozenset({"audio_up", "audio_down", "tool_call", "usage"})


@dataclass(frozen=True, kw_only=True)
class Cell:
    """One timed operation: ours, and the SDK's equivalent when it has one."""

    case: str
    op: str
    frame_bytes: int
    ours: Callable[[], object]
    sdk: Callable[[], object] | None
    sdk_path: str
    in_mix: bool = True  # part of the realistic mix behind the headline ratio


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"codec bench: ours and the SDK disagree on {what}")


def build_cells() -> list[Cell]:
    """The timed operations, after checking that both sides produce the same content."""
    audio_up = sdk_encode_audio_up().encode()
    ours_up = decode_client(audio_up).realtime_input
    sdk_up = sdk_decode_client(audio_up).realtime_input
    _check(
        ours_up is not None and ours_up.audio is not None and ours_up.audio.data == PCM_UP,
        "audio_up",
    )
    _check(
        sdk_up is not None and sdk_up.audio is not None and sdk_up.audio.data == PCM_UP, "audio_up"
    )
    _check(decode_client(audio_up) == decode_client(ours_encode_audio_up()), "audio_up encoding")

    cells = [
        Cell(
            case="audio_up",
            op="encode",
            frame_bytes=len(audio_up),
            ours=ours_encode_audio_up,
            sdk=sdk_encode_audio_up,
            sdk_path="send_realtime_input body: validate + _to_mldev + convert_to_dict + json.dumps",
        ),
        Cell(
            case="audio_up",
            op="decode",
            frame_bytes=len(audio_up),
            ours=functools.partial(decode_client, audio_up),
            sdk=functools.partial(sdk_decode_client, audio_up),
            sdk_path="json.loads + LiveClientMessage._from_response",
        ),
    ]
    server_frames = {
        "audio_down": _server_audio_frame(_pcm_down(960)),
        "audio_down_200ms": _server_audio_frame(_pcm_down(9600)),
        "tool_call": TOOL_CALL_FRAME,
        "usage": USAGE_FRAME,
    }
    for case, frame in server_frames.items():
        ours_msg = decode_server(frame)
        sdk_msg = sdk_decode_server(frame)
        _check(sdk_decode_server(encode_server(ours_msg)) == sdk_msg, f"{case} content")
        cells.append(
            Cell(
                case=case,
                op="decode",
                frame_bytes=len(frame),
                ours=functools.partial(decode_server, frame),
                sdk=functools.partial(sdk_decode_server, frame),
                sdk_path="json.loads + _LiveServerMessage_from_mldev + LiveServerMessage._from_response",
                in_mix=case in MIX,
            )
        )
        cells.append(
            Cell(
                case=case,
                op="encode",
                frame_bytes=len(frame),
                ours=functools.partial(encode_server, ours_msg),
                sdk=None,
                sdk_path="(no SDK encoder)",
                in_mix=case in MIX,
            )
        )
    return cells


def run(options: Options) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for cell in build_cells():
        contenders = [cell.ours] if cell.sdk is None else [cell.ours, cell.sdk]
        samples = interleaved_samples(contenders, options)
        ours_us = median(samples[0])
        sdk_us = median(samples[1]) if cell.sdk is not None else None
        rows.append(
            {
                "case": cell.case,
                "op": cell.op,
                "frame_bytes": cell.frame_bytes,
                "ours_us": round(ours_us, 3),
                "sdk_us": None if sdk_us is None else round(sdk_us, 3),
                "ratio": None if sdk_us is None else round(sdk_us / ours_us, 2),
                "ours_samples_us": [round(s, 3) for s in samples[0]],
                "sdk_samples_us": None if sdk_us is None else [round(s, 3) for s in samples[1]],
                "sdk_path": cell.sdk_path,
                "in_mix": cell.in_mix,
            }
        )
    compared = [r for r in rows if r["ratio"] is not None and r["in_mix"]]
    # The mix: one of each compared message at its median cost.
    mix_ratio = sum(r["sdk_us"] for r in compared) / sum(r["ours_us"] for r in compared)
    geomean = math.exp(sum(math.log(r["ratio"]) for r in compared) / len(compared))
    result: dict[str, Any] = {
        "suite": "codec",
        "utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "msgspec": msgspec.__version__,
        "google_genai": genai_version.__version__,
        "repeats": options.repeats,
        "batch_seconds": options.batch_seconds,
        "statistic": "median of interleaved batches, microseconds per message",
        "rows": rows,
        "summary": {
            "mix_ratio": round(mix_ratio, 2),
            "geomean_ratio": round(geomean, 2),
            "min_ratio": min(r["ratio"] for r in compared),
            "min_ratio_case": min(compared, key=lambda r: r["ratio"])["case"],
            "cases_in_mix": sorted(MIX),
        },
    }
    print_table(
        ["case", "op", "bytes", "ours µs", "sdk µs", "sdk/ours"],
        [
            [
                r["case"] + ("" if r["in_mix"] else " (info)"),
                r["op"],
                str(r["frame_bytes"]),
                f"{r['ours_us']:.2f}",
                "-" if r["sdk_us"] is None else f"{r['sdk_us']:.2f}",
                "-" if r["ratio"] is None else f"{r['ratio']:.1f}x",
            ]
            for r in rows
        ],
    )
    summary = result["summary"]
    print(
        f"\ncodec ratio (SDK time / ours, same run): mix {summary['mix_ratio']:.1f}x, "
        f"geomean {summary['geomean_ratio']:.1f}x, min {summary['min_ratio']:.1f}x ({summary['min_ratio_case']}); "
        "cases marked (info) are outside the mix"
    )
    if options.write:
        print(f"results: {write_results('codec', result, options)}")
    return result


SUITE = Suite(
    name="codec", description="wire encode/decode per message vs the google-genai SDK", run=run
)
