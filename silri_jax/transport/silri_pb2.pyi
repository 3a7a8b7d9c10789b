from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Protocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROTOCOL_UNSPECIFIED: _ClassVar[Protocol]
    PROTOCOL_VERSION: _ClassVar[Protocol]

class DType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DTYPE_UNSPECIFIED: _ClassVar[DType]
    UINT8: _ClassVar[DType]
    INT32: _ClassVar[DType]
    INT64: _ClassVar[DType]
    FLOAT32: _ClassVar[DType]
    FLOAT64: _ClassVar[DType]
    BOOL: _ClassVar[DType]
    FLOAT16: _ClassVar[DType]
    BFLOAT16: _ClassVar[DType]
    UINT64: _ClassVar[DType]
PROTOCOL_UNSPECIFIED: Protocol
PROTOCOL_VERSION: Protocol
DTYPE_UNSPECIFIED: DType
UINT8: DType
INT32: DType
INT64: DType
FLOAT32: DType
FLOAT64: DType
BOOL: DType
FLOAT16: DType
BFLOAT16: DType
UINT64: DType

class Tensor(_message.Message):
    __slots__ = ("name", "dtype", "shape", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, name: _Optional[str] = ..., dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class TensorSpec(_message.Message):
    __slots__ = ("name", "dtype", "shape")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class EnvSpec(_message.Message):
    __slots__ = ("observations", "action_dim", "has_gripper")
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    ACTION_DIM_FIELD_NUMBER: _ClassVar[int]
    HAS_GRIPPER_FIELD_NUMBER: _ClassVar[int]
    observations: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    action_dim: int
    has_gripper: bool
    def __init__(self, observations: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ..., action_dim: _Optional[int] = ..., has_gripper: _Optional[bool] = ...) -> None: ...

class TransitionBatch(_message.Message):
    __slots__ = ("actor_id", "first_seq", "num_transitions", "observations", "next_observations", "actions", "gripper_actions", "rewards", "terminated", "truncated", "is_intervention", "episode_ids", "steps", "next_is_following")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    NUM_TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    GRIPPER_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    IS_INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    EPISODE_IDS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_IS_FOLLOWING_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    first_seq: int
    num_transitions: int
    observations: _containers.RepeatedCompositeFieldContainer[Tensor]
    next_observations: _containers.RepeatedCompositeFieldContainer[Tensor]
    actions: Tensor
    gripper_actions: Tensor
    rewards: Tensor
    terminated: Tensor
    truncated: Tensor
    is_intervention: Tensor
    episode_ids: Tensor
    steps: Tensor
    next_is_following: Tensor
    def __init__(self, actor_id: _Optional[str] = ..., first_seq: _Optional[int] = ..., num_transitions: _Optional[int] = ..., observations: _Optional[_Iterable[_Union[Tensor, _Mapping]]] = ..., next_observations: _Optional[_Iterable[_Union[Tensor, _Mapping]]] = ..., actions: _Optional[_Union[Tensor, _Mapping]] = ..., gripper_actions: _Optional[_Union[Tensor, _Mapping]] = ..., rewards: _Optional[_Union[Tensor, _Mapping]] = ..., terminated: _Optional[_Union[Tensor, _Mapping]] = ..., truncated: _Optional[_Union[Tensor, _Mapping]] = ..., is_intervention: _Optional[_Union[Tensor, _Mapping]] = ..., episode_ids: _Optional[_Union[Tensor, _Mapping]] = ..., steps: _Optional[_Union[Tensor, _Mapping]] = ..., next_is_following: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("actor_id", "acked_seq", "progress")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    acked_seq: int
    progress: LearnerProgress
    def __init__(self, actor_id: _Optional[str] = ..., acked_seq: _Optional[int] = ..., progress: _Optional[_Union[LearnerProgress, _Mapping]] = ...) -> None: ...

class LearnerProgress(_message.Message):
    __slots__ = ("updates", "env_steps", "training", "train_from")
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    ENV_STEPS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FROM_FIELD_NUMBER: _ClassVar[int]
    updates: int
    env_steps: int
    training: bool
    train_from: int
    def __init__(self, updates: _Optional[int] = ..., env_steps: _Optional[int] = ..., training: _Optional[bool] = ..., train_from: _Optional[int] = ...) -> None: ...

class WaitProgressRequest(_message.Message):
    __slots__ = ("actor_id", "min_updates", "max_wait_s")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_UPDATES_FIELD_NUMBER: _ClassVar[int]
    MAX_WAIT_S_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    min_updates: int
    max_wait_s: float
    def __init__(self, actor_id: _Optional[str] = ..., min_updates: _Optional[int] = ..., max_wait_s: _Optional[float] = ...) -> None: ...

class ParamsPiece(_message.Message):
    __slots__ = ("tensor", "byte_offset")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    BYTE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    tensor: Tensor
    byte_offset: int
    def __init__(self, tensor: _Optional[_Union[Tensor, _Mapping]] = ..., byte_offset: _Optional[int] = ...) -> None: ...

class ParamsUpdate(_message.Message):
    __slots__ = ("version", "chunk_index", "num_chunks", "total_bytes", "pieces", "published_unix_s")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    NUM_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIECES_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    version: int
    chunk_index: int
    num_chunks: int
    total_bytes: int
    pieces: _containers.RepeatedCompositeFieldContainer[ParamsPiece]
    published_unix_s: float
    def __init__(self, version: _Optional[int] = ..., chunk_index: _Optional[int] = ..., num_chunks: _Optional[int] = ..., total_bytes: _Optional[int] = ..., pieces: _Optional[_Iterable[_Union[ParamsPiece, _Mapping]]] = ..., published_unix_s: _Optional[float] = ...) -> None: ...

class EpisodeStats(_message.Message):
    __slots__ = ("actor_id", "episode_id", "episode_return", "length", "success", "intervention_steps", "duration_s", "params_version", "extra")
    class ExtraEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    EPISODE_RETURN_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    INTERVENTION_STEPS_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    PARAMS_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    episode_id: int
    episode_return: float
    length: int
    success: bool
    intervention_steps: int
    duration_s: float
    params_version: int
    extra: _containers.ScalarMap[str, float]
    def __init__(self, actor_id: _Optional[str] = ..., episode_id: _Optional[int] = ..., episode_return: _Optional[float] = ..., length: _Optional[int] = ..., success: _Optional[bool] = ..., intervention_steps: _Optional[int] = ..., duration_s: _Optional[float] = ..., params_version: _Optional[int] = ..., extra: _Optional[_Mapping[str, float]] = ...) -> None: ...

class HandshakeRequest(_message.Message):
    __slots__ = ("protocol_version", "config_hash", "env_spec", "actor_id")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    ENV_SPEC_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    config_hash: str
    env_spec: EnvSpec
    actor_id: str
    def __init__(self, protocol_version: _Optional[int] = ..., config_hash: _Optional[str] = ..., env_spec: _Optional[_Union[EnvSpec, _Mapping]] = ..., actor_id: _Optional[str] = ...) -> None: ...

class HandshakeReply(_message.Message):
    __slots__ = ("protocol_version", "acked_seq", "params_version", "max_message_bytes", "server_id", "progress", "session")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    PARAMS_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    acked_seq: int
    params_version: int
    max_message_bytes: int
    server_id: str
    progress: LearnerProgress
    session: str
    def __init__(self, protocol_version: _Optional[int] = ..., acked_seq: _Optional[int] = ..., params_version: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., server_id: _Optional[str] = ..., progress: _Optional[_Union[LearnerProgress, _Mapping]] = ..., session: _Optional[str] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthReply(_message.Message):
    __slots__ = ("ok", "stopped")
    OK_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    stopped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ok: _Optional[bool] = ..., stopped: _Optional[_Iterable[str]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("actor_id", "have_version")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    HAVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    have_version: int
    def __init__(self, actor_id: _Optional[str] = ..., have_version: _Optional[int] = ...) -> None: ...

class ReportReply(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    def __init__(self, accepted: _Optional[bool] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ("actor_id",)
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    def __init__(self, actor_id: _Optional[str] = ...) -> None: ...

class PingReply(_message.Message):
    __slots__ = ("protocol_version", "params_version", "server_unix_s", "server_id", "progress")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVER_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    params_version: int
    server_unix_s: float
    server_id: str
    progress: LearnerProgress
    def __init__(self, protocol_version: _Optional[int] = ..., params_version: _Optional[int] = ..., server_unix_s: _Optional[float] = ..., server_id: _Optional[str] = ..., progress: _Optional[_Union[LearnerProgress, _Mapping]] = ...) -> None: ...
