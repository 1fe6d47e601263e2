"""Planning a batch: parameters per input, and the errors a person sees for bad options."""

from __future__ import annotations

from pathlib import Path

import pytest

from aipopup.app.cli import build_parser
from aipopup.core.errors import ParamError
from aipopup.core.params import Param, Schema
from aipopup.core.planner import BatchRequest, PlanError, plan


def test_parameters_for_one_input_reach_only_its_task(testdata: Path, tmp_path: Path) -> None:
    photos = [testdata / "faces" / "obama.jpg", testdata / "faces" / "biden.jpg"]
    _, tasks = plan(BatchRequest(op="convert", inputs=[str(p) for p in photos], output_dir=str(tmp_path),
                                 params={"quality": 80},
                                 per_input_params={str(photos[1].resolve()): {"quality": 50}}))
    assert [t.params["quality"] for t in tasks] == [80, 50]
    with pytest.raises(ParamError, match="at most 100"):
        plan(BatchRequest(op="convert", inputs=[str(photos[0])], output_dir=str(tmp_path),
                          per_input_params={str(photos[0].resolve()): {"quality": 500}}))


def test_a_bad_choice_names_the_valid_ones() -> None:
    schema = Schema((Param("mode", "choice", "blur", "How.", choices=("blur", "pixelate")),))
    with pytest.raises(ParamError, match="is not one of blur, pixelate"):
        schema.validate({"mode": "smudge"})


def test_hidden_parameters_are_not_command_line_options(capsys: pytest.CaptureFixture[str]) -> None:
    import tests.engine_ops  # noqa: F401 - registers "probe", which has a hidden "note"

    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "probe", "--help"])
    shown = capsys.readouterr().out
    assert "--seconds" in shown and "--note" not in shown


def test_an_unknown_operation_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="unknown operation"):
        plan(BatchRequest(op="nosuch", inputs=["x"], output_dir=str(tmp_path)))
