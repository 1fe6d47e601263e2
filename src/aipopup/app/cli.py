"""The ``aipopup`` command line: ``run`` a batch, manage ``jobs``, or start the GUI.

Exit codes: 0 all succeeded (or skipped as done), 1 some tasks failed, 2 bad usage,
3 interrupted (state kept; ``aipopup jobs resume`` continues), 4 another AI Popup owns the state.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aipopup import __version__
from aipopup.app import paths
from aipopup.core import operation
from aipopup.core.errors import ParamError, StateLocked
from aipopup.core.params import Param
from aipopup.core.task import FINISHED, OVERWRITE_POLICIES, State

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BUSY = 0, 1, 2, 3, 4
COMMON_DESTS = {"output", "workers", "recursive", "name", "overwrite", "json", "state_dir", "verbose", "op",
                "inputs", "command"}

log = logging.getLogger("aipopup.cli")


class UsageError(Exception):
    pass


# -- parsers -------------------------------------------------------------------------------------
def _state_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--state-dir", help="where the journal lives (default: the user data folder; "
                                            "AIPOPUP_STATE_DIR also sets it)")
    parent.add_argument("--json", action="store_true", help="print events and the summary as JSON lines")
    parent.add_argument("-v", "--verbose", action="store_true", help="log more")
    return parent


def _add_param(parser: argparse.ArgumentParser | argparse._ArgumentGroup, param: Param) -> None:
    help_text = param.help + ("" if param.default in (None, "") else f" (default: {param.default})")
    help_text = help_text.replace("%", "%%")  # argparse %-formats help: "in % of" broke crop --help
    dest = "p_" + param.name
    if param.kind == "bool":
        parser.add_argument(param.flag, dest=dest, action=argparse.BooleanOptionalAction, default=None,
                            help=help_text)
    elif param.kind == "choice":
        parser.add_argument(param.flag, dest=dest, choices=param.choices, default=None, help=help_text)
    else:
        metavar = {"int": "N", "float": "X", "path": "PATH"}.get(param.kind, "TEXT")
        parser.add_argument(param.flag, dest=dest, default=None, metavar=metavar, help=help_text)


def build_parser() -> argparse.ArgumentParser:
    state = _state_options()
    parser = argparse.ArgumentParser(
        prog="aipopup",
        description="Batch-process photos, videos and downloads: blur faces, crop portraits, convert, "
                    "download. With no command, the window opens.",
        epilog="Exit codes: 0 all succeeded, 1 some tasks failed, 2 bad usage, 3 interrupted "
               "(continue with 'aipopup jobs resume'), 4 another AI Popup is using the state folder.")
    parser.add_argument("--version", action="version", version=f"AI Popup {__version__}")
    parser.add_argument("--self-check", action="store_true",
                        help="check that everything loads and works, then exit 0 (ok) or 1")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the window, with these inputs in a new batch")
    gui.add_argument("inputs", nargs="*", help="files, folders or links")

    run = commands.add_parser("run", help="run one operation on files, folders or links",
                              description="Run an operation; its options follow it. Chain a second "
                                          "operation on each output with --then OP [its options].")
    ops = run.add_subparsers(dest="op", metavar="OP", required=True)
    for op in operation.all_operations():
        sub = ops.add_parser(op.name, help=op.summary, description=op.summary, parents=[state])
        sub.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="URLs or a .txt/.csv list" if op.inputs_are_urls else "files or folders")
        sub.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
        sub.add_argument("-r", "--recursive", action="store_true", help="include sub-folders")
        sub.add_argument("--name", default="{stem}_{op}{ext}", metavar="TEMPLATE",
                         help="output file names: {stem} {op} {n} {face} {date} {ext} (default: %(default)s)")
        sub.add_argument("--overwrite", choices=OVERWRITE_POLICIES, default="never",
                         help="when an output exists: keep it and skip (never, the default), replace it "
                              "(always), or write beside it with -2, -3... (rename)")
        sub.add_argument("--workers", type=int, metavar="N",
                         help="tasks at the same time (default: settings)")
        group = sub.add_argument_group(f"{op.name} options")
        for param in op.schema.params:
            if not param.hidden:
                _add_param(group, param)

    jobs = commands.add_parser("jobs", help="list, inspect and control batches from earlier runs")
    actions = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="batches and their task counts", parents=[state])
    for name, text in (("show", "a batch (ID) or a task (ID.N) in detail"),
                       ("pause", "pause a batch or task"), ("cancel", "cancel a batch or task"),
                       ("retry", "retry the failed tasks of a batch, or one task, and wait")):
        actions.add_parser(name, help=text, parents=[state]).add_argument("id", metavar="ID")
    resume = actions.add_parser("resume", help="continue unfinished work (all of it without ID) and wait",
                                parents=[state])
    resume.add_argument("id", nargs="?", metavar="ID")
    actions.add_parser("clean", help="forget finished batches (outputs stay on disk)", parents=[state])
    actions.add_parser("history", help="finished batches, also those cleaned: counts, duration, speed",
                       parents=[state])
    export = actions.add_parser("export", help="a finished batch's results, one row per task or face, "
                                "as CSV (or JSON when FILE ends in .json)", parents=[state])
    export.add_argument("id", metavar="ID")
    export.add_argument("file", metavar="FILE")
    return parser


def _then_parser(op: operation.Operation) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"aipopup run ... --then {op.name}", description=op.summary)
    for param in op.schema.params:
        if not param.hidden:
            _add_param(parser, param)
    return parser


def _params(namespace: argparse.Namespace) -> dict[str, Any]:
    return {k[2:]: v for k, v in vars(namespace).items() if k.startswith("p_") and v is not None}


# -- entry ---------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in ("run", "jobs", "gui") and not args[0].startswith("-")):
        return _launch_gui(args)  # `aipopup FILES...`: hand them to the window
    then_args: list[str] = []
    if args[0] == "run" and "--then" in args:
        cut = args.index("--then")
        args, then_args = args[:cut], args[cut + 1:]
    parser = build_parser()
    namespace = parser.parse_args(args)
    _setup_logging(getattr(namespace, "verbose", False))
    try:
        if namespace.self_check:
            from aipopup.app.selfcheck import run_self_check

            return int(run_self_check())
        if namespace.command == "gui":
            return _launch_gui(namespace.inputs)
        if namespace.command == "run":
            return _cmd_run(namespace, then_args)
        if namespace.command == "jobs":
            return _cmd_jobs(namespace)
    except UsageError as exc:
        print(f"aipopup: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StateLocked as exc:
        print(f"aipopup: {exc}", file=sys.stderr)
        return EXIT_BUSY
    parser.print_help()
    return EXIT_OK


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _launch_gui(inputs: list[str]) -> int:
    try:
        from aipopup.gui.main import run_gui  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        build_parser().print_help()
        return EXIT_OK
    return int(run_gui(inputs))


def _load_settings(workers: dict[str, int] | None = None) -> Any:
    from aipopup.core.settings import Settings, SettingsError

    try:
        settings = Settings.load(paths.settings_file())
        if workers:
            settings.update(workers)  # for this run only: not saved
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    except ParamError as exc:
        flag = "workers" if workers and exc.name in workers else exc.name
        raise UsageError(f"--{flag}: {exc.message}") from None
    return settings


def _workers_setting(op_name: str, workers: int | None) -> dict[str, int] | None:
    """--workers bounds the operation's own kind of task: a download run is limited by the
    network slots (the per-server setting still applies), not by the CPU ones it never uses."""
    if workers is None:
        return None
    return {"net_workers" if operation.get(op_name).resource == "net" else "workers": workers}


def _open_engine(namespace: argparse.Namespace, workers: dict[str, int] | None = None) -> Any:
    from aipopup.core.engine import Engine

    settings = _load_settings(workers)
    engine = Engine(paths.state_dir(namespace.state_dir), settings=settings, start_existing=False,
                    durable=True)
    if engine.recovery.damaged_lines:
        print(f"aipopup: the journal had {len(engine.recovery.damaged_lines)} damaged line(s), skipped; "
              f"the original is kept as {engine.recovery.backup}", file=sys.stderr)
    return engine


def _cmd_run(namespace: argparse.Namespace, then_args: list[str]) -> int:
    from aipopup.core.planner import BatchRequest, PlanError, plan

    then_op = then_params = None
    if then_args:
        if not then_args or then_args[0].startswith("-"):
            raise UsageError("--then needs an operation name, e.g. --then anonymize --mode pixelate")
        try:
            then = operation.get(then_args[0])
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from None
        then_op, then_params = then.name, _params(_then_parser(then).parse_args(then_args[1:]))
    if namespace.workers is not None and namespace.workers < 1:
        raise UsageError("--workers must be at least 1")
    request = BatchRequest(op=namespace.op, inputs=namespace.inputs, output_dir=namespace.output,
                           params=_params(namespace), recursive=namespace.recursive,
                           name_template=namespace.name, overwrite=namespace.overwrite,
                           then_op=then_op, then_params=then_params or {})
    try:
        batch, tasks = plan(request)
    except ParamError as exc:
        raise UsageError(f"--{exc.name.replace('_', '-')}: {exc.message}") from None
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    engine = _open_engine(namespace, _workers_setting(namespace.op, namespace.workers))
    others = engine.recovery.unfinished
    if others and not namespace.json:
        print(f"aipopup: {others} unfinished task(s) from earlier runs are not run now; "
              "continue them with: aipopup jobs resume", file=sys.stderr)
    batch = engine.scheduler.add_batch(batch, tasks)
    return _run_to_end(engine, [batch.id], namespace.json)


def _run_to_end(engine: Any, batch_ids: list[int], json_mode: bool) -> int:
    """Wait for ``batch_ids`` while showing progress; Ctrl-C (or SIGTERM) pauses and saves."""
    from aipopup.app.console import Console

    scheduler = engine.scheduler
    console = Console(scheduler, batch_ids, json_mode=json_mode)
    interrupted = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for running tasks
        interrupted.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    console.start()
    try:
        while not scheduler.wait_idle(batch_ids, timeout=0.2):
            if interrupted.is_set():
                for batch_id in batch_ids:
                    scheduler.pause_batch(batch_id)
                scheduler.wait_idle(batch_ids, timeout=5.0)
                break
    except KeyboardInterrupt:
        interrupted.set()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        console.stop()
    summary = console.summary(interrupted=interrupted.is_set())
    console.print_summary(summary)
    engine.close()
    if interrupted.is_set():
        return EXIT_INTERRUPTED
    return EXIT_FAILED if summary["failures"] or summary["final_errors"] else EXIT_OK


# -- jobs ----------------------------------------------------------------------------------------
def _resolve_ids(store: Any, ident: str) -> tuple[list[str], list[int]]:
    """A batch id ("3") or a task id ("3.7") -> (task ids, batch ids)."""
    if "." in ident:
        if ident not in store.tasks:
            raise UsageError(f"no task {ident} (see: aipopup jobs list)")
        return [ident], [store.tasks[ident].batch_id]
    try:
        batch_id = int(ident)
    except ValueError:
        raise UsageError(f"{ident!r} is not a batch id (3) or a task id (3.7)") from None
    if batch_id not in store.batches:
        raise UsageError(f"no batch {batch_id} (see: aipopup jobs list)")
    return list(store.by_batch.get(batch_id, [])), [batch_id]


def _cmd_jobs(namespace: argparse.Namespace) -> int:
    action = namespace.action
    if action in ("history", "export"):
        return _jobs_history(paths.state_dir(namespace.state_dir), namespace)
    if action in ("list", "show"):
        from aipopup.core.engine import replay

        store, _ = replay(paths.state_dir(namespace.state_dir))
        return _jobs_list(store, namespace.json) if action == "list" else _jobs_show(store, namespace)
    engine = _open_engine(namespace)
    scheduler = engine.scheduler
    try:
        if action == "clean":
            count = scheduler.clean()
            scheduler.compact()
            print(f"forgot {count} finished batch(es); their outputs stay where they are")
            engine.close()
            return EXIT_OK
        if action == "resume" and namespace.id is None:
            batch_ids = [b.id for b in scheduler.batches()
                         if any(t.state not in FINISHED for t in scheduler.tasks(b.id))]
            if not batch_ids:
                print(json.dumps({"event": "summary", "total": 0, "message": "nothing to resume"})
                      if namespace.json else "nothing to resume: every batch has finished")
                engine.close()
                return EXIT_OK
            scheduler.resume_all()
            return _run_to_end(engine, batch_ids, namespace.json)
        task_ids, batch_ids = _resolve_ids(scheduler.store, namespace.id)
    except BaseException:
        if engine.lock._fh is not None:
            engine.close()
        raise
    if action == "pause":
        scheduler.pause(task_ids)
    elif action == "cancel":
        scheduler.cancel(task_ids)
    elif action in ("resume", "retry"):
        if action == "retry":
            failed = [t for t in task_ids if scheduler.task(t).state in (State.FAILED, State.CANCELLED)]
            scheduler.retry(failed if "." not in namespace.id else task_ids)
        scheduler.resume(task_ids)
        return _run_to_end(engine, batch_ids, namespace.json)
    engine.close()
    return EXIT_OK


def _jobs_history(state_dir: Path, namespace: argparse.Namespace) -> int:
    """Read-only like ``list``: the history is appended by whoever owns the state folder."""
    from aipopup.app import history_export
    from aipopup.core import history

    records = history.read_history(state_dir)
    if namespace.action == "export":
        # A batch number names its latest run (numbers are reused after a clean); a key is exact.
        found = [r for r in records if namespace.id in (r.key, str(r.batch))]
        if not found:
            raise UsageError(f"no finished batch {namespace.id} (see: aipopup jobs history)")
        try:
            target = history_export.export(state_dir, found[0], Path(namespace.file).expanduser())
        except (history.HistoryError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"wrote {target}")
        return EXIT_OK
    if namespace.json:
        print(json.dumps([r.to_json() for r in records], ensure_ascii=False))
        return EXIT_OK
    if not records:
        print("no finished batches")
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.finished))
        speed = f"{r.items_per_s:.2f}/s" + (f" {r.mb_per_s:.1f} MB/s" if r.mb_per_s is not None else "")
        print(f"{when}  {r.batch:>4}  {r.op:<10} {r.done}/{r.total} done, {r.failed} failed, "
              f"{r.cancelled} cancelled, {r.skipped} skipped  {r.duration:.1f} s  {speed}  {r.title}")
    return EXIT_OK


def _jobs_list(store: Any, json_mode: bool) -> int:
    rows = []
    for batch in sorted(store.batches.values(), key=lambda b: b.id):
        counts: dict[str, int] = {}
        for task in store.batch_tasks(batch.id):
            counts[task.state.value] = counts.get(task.state.value, 0) + 1
        rows.append({"id": batch.id, "op": batch.op, "title": batch.title, "output_dir": batch.output_dir,
                     "counts": counts, "total": sum(counts.values())})
    if json_mode:
        print(json.dumps(rows, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("no batches")
    for row in rows:
        shown = ", ".join(f"{n} {s}" for s, n in sorted(row["counts"].items()))
        print(f"{row['id']:>4}  {row['op']:<10} {row['total']:>6} tasks  {shown}  {row['title']}")
    return EXIT_OK


def _jobs_show(store: Any, namespace: argparse.Namespace) -> int:
    task_ids, batch_ids = _resolve_ids(store, namespace.id)
    if "." in namespace.id:
        task = store.tasks[namespace.id]
        if namespace.json:
            print(json.dumps(task.to_json(), ensure_ascii=False))
            return EXIT_OK
        for key, value in task.to_json().items():
            print(f"{key:>12}: {value}")
        return EXIT_OK
    batch = store.batches[batch_ids[0]]
    tasks = [store.tasks[t] for t in task_ids]
    if namespace.json:
        blob = {"batch": batch.to_json(), "tasks": [t.to_json() for t in tasks]}
        print(json.dumps(blob, ensure_ascii=False))
        return EXIT_OK
    print(f"batch {batch.id}: {batch.title}\n  operation: {batch.op} {batch.params}\n"
          f"  output: {batch.output_dir}\n  naming: {batch.name_template}, overwrite {batch.overwrite}")
    for task in tasks:
        detail = task.error or (task.output or "")
        print(f"  {task.id:<8} {task.state.value:<10} {Path(task.input).name or task.input}  {detail}")
    return EXIT_OK
