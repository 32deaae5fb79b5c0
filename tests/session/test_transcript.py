"""The transcript a reseed sends as history: what it keeps, in order, within its bounds."""

from __future__ import annotations

from livesvc.session._transcript import Transcript
from livesvc.wire import (
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    FunctionCall,
    FunctionResponse,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    ToolCall,
    ToolResponse,
    Transcription,
)


def said(text: str) -> ClientMessage:
    return ClientMessage(
        client_content=ClientContent(
            turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True
        )
    )


def reply(*texts: str, complete: bool = True) -> list[ServerMessage]:
    frames = [
        ServerMessage(server_content=ServerContent(model_turn=Content(parts=[Part(text=t)])))
        for t in texts
    ]
    if complete:
        frames.append(ServerMessage(server_content=ServerContent(turn_complete=True)))
    return frames


def feed(t: Transcript, frames: list[ServerMessage]) -> None:
    for frame in frames:
        t.server_message(frame)


def turns(t: Transcript) -> list[tuple[str | None, str]]:
    out = []
    for content in t.history():
        part = (content.parts or [])[0]
        if part.text is not None:
            out.append((content.role, part.text))
        elif part.function_call is not None:
            out.append((content.role, f"call {part.function_call.name}"))
        else:
            assert part.function_response is not None
            out.append((content.role, f"result {part.function_response.name}"))
    return out


def test_text_turns_enter_the_history_at_turn_complete() -> None:
    t = Transcript(max_turns=10, max_bytes=10_000)
    t.client_message(said("hi"))
    feed(t, reply("hel", "lo", complete=False))
    assert t.history() == []  # the reply is not over: not history yet
    feed(t, reply())
    assert turns(t) == [("user", "hi"), ("model", "hello")]


def test_audio_turns_keep_both_transcriptions_and_not_the_audio() -> None:
    t = Transcript(max_turns=10, max_bytes=10_000)
    t.client_message(
        ClientMessage(
            realtime_input=RealtimeInput(audio=Blob(data=bytes(640), mime_type="audio/pcm"))
        )
    )
    t.server_message(
        ServerMessage(
            server_content=ServerContent(input_transcription=Transcription(text="what time"))
        )
    )
    audio = Content(
        parts=[Part(inline_data=Blob(data=bytes(960), mime_type="audio/pcm;rate=24000"))]
    )
    t.server_message(ServerMessage(server_content=ServerContent(model_turn=audio)))
    t.server_message(
        ServerMessage(server_content=ServerContent(output_transcription=Transcription(text="noon")))
    )
    feed(t, reply())
    assert turns(t) == [("user", "what time"), ("model", "noon")]


def test_tool_exchanges_are_kept_as_calls_and_results() -> None:
    t = Transcript(max_turns=10, max_bytes=10_000)
    t.client_message(said("weather?"))
    t.server_message(
        ServerMessage(tool_call=ToolCall(function_calls=[FunctionCall(id="1", name="weather")]))
    )
    t.client_message(
        ClientMessage(
            tool_response=ToolResponse(
                function_responses=[FunctionResponse(id="1", name="weather", response={"t": 21})]
            )
        )
    )
    feed(t, reply("21 degrees"))
    assert turns(t) == [
        ("user", "weather?"),
        ("model", "call weather"),
        ("user", "result weather"),
        ("model", "21 degrees"),
    ]


def test_an_unanswered_prompt_is_forgotten_not_history() -> None:
    t = Transcript(max_turns=10, max_bytes=10_000)
    t.client_message(said("a"))
    feed(t, reply("echo a"))
    t.client_message(said("b"))  # the server session is lost before it answers
    t.forget_pending()
    assert turns(t) == [("user", "a"), ("model", "echo a")]


def test_the_oldest_turns_go_first_at_either_bound() -> None:
    by_turns = Transcript(max_turns=3, max_bytes=10_000)
    by_bytes = Transcript(max_turns=100, max_bytes=12)
    for t in (by_turns, by_bytes):
        for word in ("one", "two", "three"):
            t.client_message(said(word))
            feed(t, reply(word.upper()))
    assert turns(by_turns) == [("model", "TWO"), ("user", "three"), ("model", "THREE")]
    assert by_turns.dropped == 3
    assert turns(by_bytes) == [("user", "three"), ("model", "THREE")]
    assert by_bytes.dropped == 4
