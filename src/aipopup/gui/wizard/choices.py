"""What the pages of the batch wizard have chosen so far; plain data the pages share.

Only the GUI thread reads or writes it; background work gets copies of the values it needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aipopup.core.planner import BatchRequest
from aipopup.core.task import DEFAULT_NAME_TEMPLATE


def is_link(text: str) -> bool:
    return "://" in text


@dataclass
class Scan:
    """What the inputs amount to: the files found (links are counted apart) and their size."""
    files: list[str] = field(default_factory=list)
    links: int = 0
    total_bytes: int = 0


@dataclass
class Choices:
    inputs: list[str] = field(default_factory=list)
    recursive: bool = True
    extensions: frozenset[str] = frozenset()  # empty: whatever the operation accepts
    scan: Scan | None = None
    op: str = ""
    then_op: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    then_params: dict[str, Any] = field(default_factory=dict)
    output_dir: str = ""
    name_template: str = DEFAULT_NAME_TEMPLATE
    overwrite: str = "never"
    # each operation's options from the last batch run, offered again when it is chosen
    remembered: dict[str, dict[str, Any]] = field(default_factory=dict)
    review_faces: bool = False  # anonymize: show the face review page before the summary
    # the face review's boxes per photo shown, keyed by resolved path (as the planner keys inputs)
    reviewed: dict[str, list[list[int]]] = field(default_factory=dict)

    def planned_inputs(self) -> list[str]:
        """With an extension filter the files found are named one by one (the planner filters
        folders only by what the operation accepts); without one, folders are passed as they
        are, so their sub-folders are mirrored in the output folder."""
        if self.extensions and self.scan is not None:
            return [*self.scan.files, *(i for i in self.inputs if is_link(i))]
        return list(self.inputs)

    def request(self) -> BatchRequest:
        # Reviewed boxes become the tasks' own parameters: journaled with them, so a crash
        # before the render keeps the review.
        reviewed = self.reviewed if self.review_faces and self.op == "anonymize" else {}
        return BatchRequest(op=self.op, inputs=self.planned_inputs(), output_dir=self.output_dir,
                            params=dict(self.params), recursive=self.recursive,
                            name_template=self.name_template, overwrite=self.overwrite,
                            then_op=self.then_op, then_params=dict(self.then_params),
                            per_input_params={path: {"boxes": json.dumps(boxes)}
                                              for path, boxes in reviewed.items()})
