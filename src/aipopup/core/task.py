"""Tasks and batches as plain data. The scheduler owns them; everyone else sees copies."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"  # on a dependency or a retry back-off
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED, State.SKIPPED})
UNFINISHED = frozenset(State) - FINISHED

OverwritePolicy = str  # "never" | "always" | "rename"
OVERWRITE_POLICIES = ("never", "always", "rename")
DEFAULT_NAME_TEMPLATE = "{stem}_{op}{ext}"


@dataclass
class Batch:
    id: int
    op: str
    params: dict[str, Any]
    output_dir: str
    title: str = ""
    name_template: str = DEFAULT_NAME_TEMPLATE
    overwrite: OverwritePolicy = "never"
    created: float = 0.0
    # the operation run on each output of this batch's tasks (download --then anonymize)
    then_op: str | None = None
    then_params: dict[str, Any] = field(default_factory=dict)
    finalized: dict[str, Any] = field(default_factory=dict)  # what the batch's finalizer returned
    final_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Batch:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Task:
    id: str  # "<batch>.<n>", short enough to type: `aipopup jobs show 3.17`
    batch_id: int
    op: str
    input: str  # a path or a URL; empty when it comes from the dependencies' outputs
    output: str | None  # the planned primary output; None until known (chained tasks)
    params: dict[str, Any]
    priority: int = 0
    seq: int = 0  # creation order, the tie-breaker between equal priorities
    state: State = State.QUEUED
    progress: float = 0.0
    attempts: int = 0
    error: str = ""
    hint: str = ""
    created: float = 0.0
    started: float = 0.0
    finished: float = 0.0
    retry_at: float = 0.0  # wall clock time a back-off ends
    depends_on: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # every file the task wrote (or found done)
    result: dict[str, Any] = field(default_factory=dict)  # operation-specific (faces, bytes, ...)
    rel_dir: str = ""  # the input's folder relative to the input root, mirrored under output_dir
    resource: str = "cpu"
    # tasks with the same key share a smaller limit (downloads: the server's host name)
    resource_key: str = ""

    def to_json(self, *, compact: bool = False) -> dict[str, Any]:
        """All fields; with ``compact``, only those that differ from the defaults (journal
        records: a third of the size, and replay time is mostly parsing)."""
        # Shallow, with fresh containers: the caller may hand this to the journal's writer thread
        # while the task changes (dataclasses.asdict deep-copies and cost more than the rest).
        data = dict(self.__dict__)
        data["state"] = self.state.value
        data["params"], data["result"] = dict(self.params), dict(self.result)
        data["depends_on"], data["outputs"] = list(self.depends_on), list(self.outputs)
        if compact:
            data = {k: v for k, v in data.items() if k in _REQUIRED or v != _DEFAULTS.get(k, _MISSING)}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        # Replay builds tens of thousands of these: fill __dict__ in C rather than run a
        # 25-argument __init__ (same result; mutable defaults are fresh per task).
        task = cls.__new__(cls)
        fields = task.__dict__
        fields.update(_DEFAULTS)
        fields["depends_on"], fields["outputs"], fields["result"] = [], [], {}
        fields.update(data if data.keys() <= _FIELDS else {k: v for k, v in data.items() if k in _FIELDS})
        fields["state"] = State(fields["state"])
        return task

    def copy(self) -> Task:
        # every state change's event carries a copy: __dict__ copied in C is 12 -> 1.6 us a
        # task against dataclasses.replace's 25-argument __init__ (7 % of 1,000 small downloads)
        task = Task.__new__(Task)
        fields = task.__dict__
        fields.update(self.__dict__)
        fields["params"], fields["depends_on"] = dict(self.params), list(self.depends_on)
        fields["outputs"], fields["result"] = list(self.outputs), dict(self.result)
        return task


_MISSING = object()
_FIELDS = frozenset(f.name for f in dataclasses.fields(Task))
_REQUIRED = frozenset(("id", "batch_id", "op", "input", "output", "params"))
_DEFAULTS: dict[str, Any] = {
    f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
    for f in dataclasses.fields(Task) if f.name not in _REQUIRED}
_DEFAULTS["state"] = State.QUEUED.value
