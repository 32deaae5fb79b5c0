"""Known values of the enum-valued wire fields.

Enum fields are plain ``str`` so that values this code does not know yet pass
through unchanged; these namespaces only name the known ones.

Example:
    >>> from livesvc.wire import ActivityHandling, RealtimeInputConfig
    >>> RealtimeInputConfig(activity_handling=ActivityHandling.NO_INTERRUPTION).activity_handling
    'NO_INTERRUPTION'
"""

__all__ = [
    "ActivityHandling",
    "Behavior",
    "EndSensitivity",
    "FunctionResponseScheduling",
    "InteractionStatus",
    "MediaResolution",
    "Modality",
    "StartSensitivity",
    "ThinkingLevel",
    "TurnCompleteReason",
    "TurnCoverage",
    "VadSignalType",
    "VoiceActivityType",
]


class Modality:
    """``generation_config.response_modalities`` items and token-count modalities."""

    TEXT = "TEXT"
    AUDIO = "AUDIO"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    DOCUMENT = "DOCUMENT"


class MediaResolution:
    """``generation_config.media_resolution``."""

    UNSPECIFIED = "MEDIA_RESOLUTION_UNSPECIFIED"
    LOW = "MEDIA_RESOLUTION_LOW"
    MEDIUM = "MEDIA_RESOLUTION_MEDIUM"
    HIGH = "MEDIA_RESOLUTION_HIGH"


class ThinkingLevel:
    """``thinking_config.thinking_level``."""

    MINIMAL = "MINIMAL"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Behavior:
    """``FunctionDeclaration.behavior``."""

    BLOCKING = "BLOCKING"
    NON_BLOCKING = "NON_BLOCKING"


class FunctionResponseScheduling:
    """``FunctionResponse.scheduling`` (NON_BLOCKING functions only)."""

    UNSPECIFIED = "SCHEDULING_UNSPECIFIED"
    SILENT = "SILENT"
    WHEN_IDLE = "WHEN_IDLE"
    INTERRUPT = "INTERRUPT"


class StartSensitivity:
    """``automatic_activity_detection.start_of_speech_sensitivity``."""

    UNSPECIFIED = "START_SENSITIVITY_UNSPECIFIED"
    HIGH = "START_SENSITIVITY_HIGH"
    LOW = "START_SENSITIVITY_LOW"


class EndSensitivity:
    """``automatic_activity_detection.end_of_speech_sensitivity``."""

    UNSPECIFIED = "END_SENSITIVITY_UNSPECIFIED"
    HIGH = "END_SENSITIVITY_HIGH"
    LOW = "END_SENSITIVITY_LOW"


class ActivityHandling:
    """``realtime_input_config.activity_handling``."""

    UNSPECIFIED = "ACTIVITY_HANDLING_UNSPECIFIED"
    START_OF_ACTIVITY_INTERRUPTS = "START_OF_ACTIVITY_INTERRUPTS"
    NO_INTERRUPTION = "NO_INTERRUPTION"


class TurnCoverage:
    """``realtime_input_config.turn_coverage``."""

    UNSPECIFIED = "TURN_COVERAGE_UNSPECIFIED"
    TURN_INCLUDES_ONLY_ACTIVITY = "TURN_INCLUDES_ONLY_ACTIVITY"
    TURN_INCLUDES_ALL_INPUT = "TURN_INCLUDES_ALL_INPUT"
    TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO = "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"


class TurnCompleteReason:
    """``server_content.turn_complete_reason`` (the common values)."""

    UNSPECIFIED = "TURN_COMPLETE_REASON_UNSPECIFIED"
    MALFORMED_FUNCTION_CALL = "MALFORMED_FUNCTION_CALL"
    RESPONSE_REJECTED = "RESPONSE_REJECTED"
    NEED_MORE_INPUT = "NEED_MORE_INPUT"
    PROHIBITED_INPUT_CONTENT = "PROHIBITED_INPUT_CONTENT"
    IMAGE_PROHIBITED_INPUT_CONTENT = "IMAGE_PROHIBITED_INPUT_CONTENT"
    BLOCKLIST = "BLOCKLIST"
    GENERATED_OTHER = "GENERATED_OTHER"
    MAX_REGENERATION_REACHED = "MAX_REGENERATION_REACHED"


class InteractionStatus:
    """``server_content.interaction_status``."""

    UNSPECIFIED = "INTERACTION_STATUS_UNSPECIFIED"
    IN_PROGRESS = "IN_PROGRESS"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    IDLE = "IDLE"


class VoiceActivityType:
    """``voice_activity.voice_activity_type`` (wire key ``type``)."""

    ACTIVITY_START = "ACTIVITY_START"
    ACTIVITY_END = "ACTIVITY_END"


class VadSignalType:
    """``voice_activity_detection_signal.vad_signal_type``."""

    SOS = "VAD_SIGNAL_TYPE_SOS"
    EOS = "VAD_SIGNAL_TYPE_EOS"
