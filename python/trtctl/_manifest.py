"""``plan`` and ``apply`` over an ``engines.toml``, with the selectors of the CLI."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _trtctl

logger = logging.getLogger("trtctl")

Progress = Callable[[Dict[str, Any]], None]
"""Receives each progress event as a dict (``event``: begin, started, bytes, finished, waiting, summary)."""

Selectors = Union[str, Sequence[str], None]


def _as_list(value: Selectors) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


@dataclass(frozen=True)
class Step:
    """One engine of a plan and what apply would do to it."""

    engine: str
    """The engine's file name."""
    family: str
    model: str
    precision: str
    arch: str
    action: str
    """``up_to_date``, ``fetch``, ``build``, ``rebuild``, ``upload``, ``cannot_build`` or
    ``untrusted`` (signatures are required and no trusted key signed the remote engine)."""
    reason: str
    """Why, in the words of ``trtctl plan`` (empty when there is nothing to say)."""


class Plan:
    """What ``trtctl plan`` shows: the steps, their counts, the text and the JSON."""

    def __init__(self, parts: Tuple[str, str, List[Tuple[str, str]]]) -> None:
        plan_json, text, actions = parts
        self._json = plan_json
        self._text = text
        self.data: Dict[str, Any] = json.loads(plan_json)
        """The plan as ``trtctl plan --json`` prints it."""
        self.steps: List[Step] = [
            Step(
                engine=step["key"]["file"],
                family=step["key"]["family"],
                model=step["id"]["model_name"],
                precision=step["id"]["precision"],
                arch=step["id"]["gpu_arch"],
                action=action,
                reason=reason,
            )
            for step, (action, reason) in zip(self.data["steps"], actions)
        ]

    @property
    def counts(self) -> Dict[str, int]:
        """How many steps have each action (every action present, zero when none)."""
        counts = dict.fromkeys(
            ("up_to_date", "fetch", "build", "rebuild", "upload", "cannot_build", "untrusted"),
            0,
        )
        for step in self.steps:
            counts[step.action] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        """Whether apply would fetch, build or upload anything."""
        return any(
            s.action not in ("up_to_date", "cannot_build", "untrusted") for s in self.steps
        )

    def to_json(self) -> str:
        """The plan as ``trtctl plan --json`` prints it (``trtctl apply FILE`` takes it)."""
        return self._json

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<trtctl.Plan {self.counts}>"


@dataclass(frozen=True)
class Outcome:
    """What apply did to one engine in one action."""

    engine: str
    action: str
    """``fetch``, ``build`` or ``upload``."""
    outcome: str
    """``done``, ``already_done`` (another process or machine did it), ``failed`` or ``skipped``."""
    detail: Any
    """Bytes moved for ``done``, otherwise the reason."""
    elapsed_ms: int


@dataclass(frozen=True)
class ApplyResult:
    """What :func:`apply` did."""

    plan: Plan
    outcomes: List[Outcome]
    report: Dict[str, Any]
    """The summary: counts, failures, bytes moved, ``interrupted``."""
    allow_missing: bool = False

    @property
    def cannot_build(self) -> List[str]:
        """Engines that could be neither fetched nor built here."""
        return list(self.report["cannot_build"])

    @property
    def ok(self) -> bool:
        """Like the CLI's exit code 0: no failure, and every engine present unless allow_missing."""
        return (
            not self.report["failures"]
            and not self.report["interrupted"]
            and (self.allow_missing or not self.report["cannot_build"])
        )


def _log_event(event: Dict[str, Any]) -> None:
    kind = event["event"]
    if kind == "started":
        logger.info("%s %s", event["action"], event["file"])
    elif kind == "finished":
        outcome = event["outcome"]
        level = logging.WARNING if outcome["outcome"] == "failed" else logging.INFO
        detail = outcome.get("detail")
        logger.log(
            level,
            "%s %s: %s%s",
            event["action"],
            event["file"],
            outcome["outcome"],
            f" ({detail})" if isinstance(detail, str) else "",
        )
    elif kind == "waiting":
        logger.info(
            "waiting for %s: being built by %s (pid %s)", event["file"], event["host"], event["pid"]
        )
    elif kind == "bytes":
        logger.debug("%s: %s bytes", event["file"], event["done"])
    else:
        logger.debug("%s", event)


def _sink(progress: Optional[Progress]) -> Callable[[str], None]:
    def emit(event_json: str) -> None:
        event = json.loads(event_json)
        _log_event(event)
        if progress is not None:
            progress(event)

    return emit


def plan(
    manifest: Union[str, "os.PathLike[str]"] = "engines.toml",
    *,
    target: Selectors = None,
    gpu_arch: Selectors = None,
    no_upload: bool = False,
) -> Plan:
    """Compares ``manifest`` with the local and remote caches, like ``trtctl plan``.

    ``target`` picks engines (``model``, ``model:precision``, ``model:precision:sm_NN``);
    ``gpu_arch`` plans as if GPUs of these archs were here.
    """
    return Plan(
        _trtctl.plan(
            os.fspath(manifest),
            targets=_as_list(target),
            gpu_arch=_as_list(gpu_arch),
            no_upload=no_upload,
        )
    )


def apply(
    manifest: Union[str, "os.PathLike[str]"] = "engines.toml",
    *,
    target: Selectors = None,
    force_rebuild: Selectors = None,
    gpu_arch: Selectors = None,
    no_upload: bool = False,
    jobs: int = 4,
    keep_going: bool = False,
    allow_missing: bool = False,
    progress: Optional[Progress] = None,
) -> ApplyResult:
    """Fetches, builds and uploads what the plan says, like ``trtctl apply``.

    Progress goes to the ``trtctl`` logger and, if given, to ``progress``. Failed actions are
    in the result (``ok`` is False), not raised; bad input raises. Ctrl-C stops cleanly and
    raises ``KeyboardInterrupt``; an exception ``progress`` raises stops the run the same way
    and is raised here.
    """
    plan_parts, report_json, finished = _trtctl.apply(
        os.fspath(manifest),
        _sink(progress),
        targets=_as_list(target),
        force_rebuild=_as_list(force_rebuild),
        gpu_arch=_as_list(gpu_arch),
        no_upload=no_upload,
        jobs=jobs,
        keep_going=keep_going,
    )
    outcomes = []
    for event_json in finished:
        event = json.loads(event_json)
        outcomes.append(
            Outcome(
                engine=event["file"],
                action=event["action"],
                outcome=event["outcome"]["outcome"],
                detail=event["outcome"].get("detail"),
                elapsed_ms=event["elapsed_ms"],
            )
        )
    return ApplyResult(
        plan=Plan(plan_parts),
        outcomes=outcomes,
        report=json.loads(report_json),
        allow_missing=allow_missing,
    )
