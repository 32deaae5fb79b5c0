"""The turn tracker: where the conversation is, from what was sent and what came back.

A **turn** is an *interaction*: everything the model does for one request.
Gemini 3.8 may speak several times for one request ("checking flights now",
then the answer), each utterance ending with ``turnComplete``; only
``interactionStatus: IDLE`` (or the deprecated ``REQUIRES_ACTION``) ends the
interaction, while ``IN_PROGRESS`` says background work goes on. Models that send
no status (2.5, 3.1) end the interaction with their ``turnComplete``, so for them
an interaction and an utterance are the same thing. This is the rule of the
google-genai SDK's ``receive()`` (see ``livesvc.tools.ends_interaction``).

The tracker is pure (no I/O, no clock): the session core feeds it and reads it.

Example::

    >>> from livesvc.wire import ServerContent
    >>> turns = TurnTracker()
    >>> turns.expect_reply()
    >>> turns.on_content(ServerContent(turn_complete=True, interaction_status="IN_PROGRESS"))
    TurnUpdate(utterance_ended=True, interaction_ended=False, status='IN_PROGRESS')
    >>> (turns.busy, turns.turns_completed, turns.utterances_completed)
    (True, 0, 1)
    >>> turns.on_content(ServerContent(turn_complete=True, interaction_status="IDLE"))
    TurnUpdate(utterance_ended=True, interaction_ended=True, status='IDLE')
    >>> (turns.busy, turns.turns_completed)
    (False, 1)
"""

from __future__ import annotations

from typing import NamedTuple

from livesvc.session._events import TurnState
from livesvc.tools import ends_interaction
from livesvc.wire import InteractionStatus, ServerContent

__all__ = ["TurnTracker", "TurnUpdate"]


class TurnUpdate(NamedTuple):
    """What one ``serverContent`` changed.

    ``status`` is the ``interactionStatus`` it carried, if any.
    """

    utterance_ended: bool
    interaction_ended: bool
    status: str | None


class TurnTracker:
    """Turn and interaction state of one session (see the module docstring)."""

    def __init__(self) -> None:
        self.generating = False  # an utterance is being produced (or one is expected)
        self.interrupted = False
        self.generation_complete = False
        self.turn_complete = False  # the last utterance ended
        self.in_progress = False  # the server works on an interaction (IN_PROGRESS)
        self.interaction_status: str | None = None  # the last status the server sent
        self.turns_completed = 0  # interactions ended over the session's life
        self.utterances_completed = 0  # turnCompletes over the session's life

    @property
    def busy(self) -> bool:
        """The model is speaking, or still working on the interaction in the background."""
        return self.generating or self.in_progress

    def expect_reply(self) -> None:
        """A prompt was written: a reply (a new interaction, or more of this one) is due."""
        self.generating = True
        self.turn_complete = False
        self.interrupted = False
        self.generation_complete = False

    def link_lost(self) -> None:
        """The connection ended: what was in flight on it is gone (a replay asks again)."""
        self.generating = False
        self.in_progress = False

    def on_content(self, sc: ServerContent) -> TurnUpdate:
        """Update from one ``serverContent``."""
        if sc.model_turn is not None or sc.output_transcription is not None:
            self.generating = True
            self.turn_complete = False
        if sc.generation_complete:
            self.generation_complete = True
        if sc.interrupted:
            self.interrupted = True
            self.generating = False
        status = sc.interaction_status
        if not sc.turn_complete:
            return TurnUpdate(utterance_ended=False, interaction_ended=False, status=status)
        self.turn_complete = True
        self.generating = False
        self.utterances_completed += 1
        if status is not None:
            self.interaction_status = status
        ended = ends_interaction(sc)
        self.in_progress = status == InteractionStatus.IN_PROGRESS
        if ended:
            self.turns_completed += 1
        return TurnUpdate(utterance_ended=True, interaction_ended=ended, status=status)

    def state(self, *, pending_tool_calls: int) -> TurnState:
        """The public snapshot."""
        return TurnState(
            generating=self.generating,
            interrupted=self.interrupted,
            generation_complete=self.generation_complete,
            turn_complete=self.turn_complete and not self.in_progress,
            turns_completed=self.turns_completed,
            pending_tool_calls=pending_tool_calls,
            interaction_status=self.interaction_status,
            in_progress=self.in_progress,
            utterances_completed=self.utterances_completed,
        )
