"""Wizard page "Review faces" (anonymize only, when asked for on the options page): the face
review grid over the batch's photos, just before the summary page.

Every photo whose detections were shown goes into the request as its task's ``boxes``
parameter (``Choices.reviewed``), so the render masks exactly what the person saw and the
journal keeps it across a crash; photos never shown are detected at render time as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWizardPage

from aipopup.core import operation
from aipopup.gui.face_review import IN_FLIGHT, FaceReview, detect_for_review
from aipopup.gui.i18n import tr
from aipopup.gui.wizard.choices import Choices
from aipopup.gui.worker import BackgroundRunner

REVIEWED_OP = "anonymize"


def review_wanted(choices: Choices) -> bool:
    """The page is shown for anonymizing with the review asked for and photos among the inputs."""
    return choices.op == REVIEWED_OP and choices.review_faces and bool(photos_of(choices))


def photos_of(choices: Choices) -> list[str]:
    files = choices.scan.files if choices.scan is not None else []
    return [f for f in files if Path(f).suffix.lower() in operation.IMAGE_EXTENSIONS]


class FacesPage(QWizardPage):
    def __init__(self, choices: Choices, settings: Callable[[], Mapping[str, Any]]) -> None:
        super().__init__()
        self.choices = choices
        self._settings = settings
        # A lane of its own, as wide as the grid loads: a folder walk or a preview never waits
        # behind detection, nor the reverse.
        self.runner = BackgroundRunner(self, max_threads=IN_FLIGHT)
        self.review: FaceReview | None = None
        self._built_for: tuple[Any, ...] = ()
        self.setTitle(tr("Review faces"))
        self.setSubTitle(tr("Fix what the detector found before the photos are rendered. Photos you "
                            "do not scroll to are checked by the detector alone."))
        self._layout = QVBoxLayout(self)

    def initializePage(self) -> None:
        photos = photos_of(self.choices)
        params = dict(self.choices.params)
        params.pop("boxes", None)
        # Same photos and detection options: keep the grid and its edits (Back then Next).
        wanted = (tuple(photos), tuple(sorted(params.items())))
        if self.review is not None and wanted == self._built_for:
            return
        if self.review is not None:
            self.review.setParent(None)
            self.review.deleteLater()
        settings = dict(self._settings())
        self.review = FaceReview(photos, partial(detect_for_review, params=params, settings=settings),
                                 self.runner, self)
        self._layout.addWidget(self.review)
        self._built_for = wanted
        self.review.setFocus()

    def validatePage(self) -> bool:
        self.choices.reviewed = self.review.reviewed_boxes() if self.review is not None else {}
        return True

    def cleanup(self) -> None:
        self.runner.shutdown()
