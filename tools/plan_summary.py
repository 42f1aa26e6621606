"""Summarize a Terraform plan as Markdown, for a pull-request comment or a job summary.

Input is the JSON document printed by ``terraform show -json <planfile>`` (a file
path, or ``-``/nothing for standard input).  Output, on standard output:

1. a heading naming the stack;
2. a table of add / change / destroy / replace counts per resource type, sorted by
   type, with a totals row (or the line "No changes." for a no-op plan);
3. one flagged line per destroyed or replaced resource instance (the dangerous
   actions a reviewer must look at), with the reason Terraform gives and, for a
   replacement, the attribute paths that force it;
4. optionally, the human-readable plan (``terraform show -no-color <planfile>``)
   in a collapsible ``<details>`` block, truncated so the whole document fits in
   ``--max-chars`` characters (GitHub rejects comment bodies over 65,536).

Only action counts, resource types, addresses and attribute *names* are printed,
plus one value: the container image of a changed task definition (the release line,
first, so a reviewer sees which image a plan rolls out). Never another attribute value
from the JSON plan, so nothing marked sensitive can leak through this summary.  (The optional text plan is Terraform's own rendering,
which already hides sensitive values as ``(sensitive value)``.)

Reads of data sources (``["read"]``) and ``["no-op"]`` entries are ignored.
``["delete", "create"]`` (destroy first) and ``["create", "delete"]``
(create-before-destroy) both count as *replace*.

Usage::

    terraform show -json tfplan > plan.json
    terraform show -no-color tfplan > plan.txt
    python -m tools.plan_summary --stack ajuda-dev plan.json --text plan.txt

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

#: GitHub refuses issue/PR comment bodies longer than this many characters.
GITHUB_COMMENT_LIMIT = 65536
#: Default budget for the whole document: the comment limit less room for a marker/header.
DEFAULT_MAX_CHARS = 60000

#: Table columns, in display order.
CATEGORIES = ("add", "change", "destroy", "replace")

#: Human wording for Terraform's ``action_reason`` values.
REASONS = {
    "replace_because_tainted": "the object is tainted",
    "replace_because_cannot_update": "a changed attribute forces replacement",
    "replace_by_request": "replacement was requested (-replace)",
    "replace_by_triggers": "replace_triggered_by changed",
    "delete_because_no_resource_config": "its configuration was removed",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "count/for_each was switched",
    "delete_because_count_index": "its count index is out of range",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_move_target": "its moved target does not exist",
    "read_because_config_unknown": "configuration is unknown until apply",
    "read_because_dependency_pending": "a dependency has pending changes",
}


class PlanError(ValueError):
    """The input is not a Terraform JSON plan."""


@dataclass(frozen=True)
class Flagged:
    """One destroyed or replaced resource instance."""

    address: str
    category: str  # "destroy" or "replace"
    detail: str = ""


@dataclass(frozen=True)
class ImageChange:
    """A task definition whose container image changes: the line a release is reviewed by."""

    address: str
    before: str
    after: str


#: Resource types whose container images a release changes (values shown: image references only).
TASK_DEFINITION_TYPES = ("aws_ecs_task_definition",)
UNKNOWN = "(known after apply)"


def _images(values: object, unknown: object) -> str | None:
    """The container images in a task definition's planned values, or None without a definition."""
    if unknown is True or (isinstance(unknown, dict) and unknown.get("container_definitions")):
        return UNKNOWN
    if not isinstance(values, dict) or not isinstance(values.get("container_definitions"), str):
        return None
    try:
        containers = json.loads(values["container_definitions"])
    except json.JSONDecodeError:
        return None
    return ", ".join(str(c.get("image")) for c in containers if isinstance(c, dict)) or None


def image_change(entry: dict) -> ImageChange | None:
    change = entry.get("change") or {}
    before = _images(change.get("before"), None)
    after = _images(change.get("after"), change.get("after_unknown"))
    if before == after or after is None:
        return None
    return ImageChange(entry.get("address", "?"), before or "(none)", after)


@dataclass
class Summary:
    """What a plan does, reduced to counts and addresses."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    flagged: list[Flagged] = field(default_factory=list)
    images: list[ImageChange] = field(default_factory=list)
    imports: int = 0
    forgets: int = 0
    drifted: int = 0
    errored: bool = False

    def total(self, category: str) -> int:
        return sum(counter[category] for counter in self.counts.values())

    @property
    def has_changes(self) -> bool:
        return any(self.total(c) for c in CATEGORIES) or bool(self.imports or self.forgets)


def classify(actions: Iterable[str]) -> str | None:
    """Map a ``change.actions`` list to a table category, or ``None`` to ignore it.

    >>> classify(["delete", "create"]), classify(["create", "delete"]), classify(["read"])
    ('replace', 'replace', None)
    """
    actions = list(actions)
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if actions == ["create"]:
        return "add"
    if actions == ["update"]:
        return "change"
    if actions == ["delete"]:
        return "destroy"
    if actions == ["forget"]:
        return "forget"
    return None  # ["no-op"], ["read"], or an action this tool does not know


def _format_path(path: list) -> str:
    """``["tags", "Name"]`` -> ``tags.Name``; ``["ingress", 0, "cidr"]`` -> ``ingress[0].cidr``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def _detail(entry: dict, change: dict, category: str) -> str:
    parts = []
    if category == "replace":
        parts.append("create before destroy" if change["actions"][0] == "create" else "destroy before create")
    reason = entry.get("action_reason")
    if reason:
        parts.append(REASONS.get(reason, reason.replace("_", " ")))
    replace_paths = change.get("replace_paths") or []
    if replace_paths:
        names = ", ".join(f"`{_format_path(p)}`" for p in replace_paths if isinstance(p, list))
        if names:
            parts.append(f"forced by {names}")
    if entry.get("deposed"):
        parts.append("deposed object")
    return "; ".join(parts)


def summarize(plan: dict) -> Summary:
    """Count the resource changes of a parsed ``terraform show -json`` plan."""
    if not isinstance(plan, dict) or ("format_version" not in plan and "resource_changes" not in plan):
        raise PlanError("not a Terraform JSON plan (no format_version / resource_changes)")
    summary = Summary(errored=bool(plan.get("errored")))
    summary.drifted = sum(
        1 for d in plan.get("resource_drift") or [] if classify(d.get("change", {}).get("actions", [])) is not None
    )
    for entry in plan.get("resource_changes") or []:
        if entry.get("mode", "managed") != "managed":
            continue  # data sources are only ever read
        change = entry.get("change") or {}
        actions = change.get("actions") or []
        if change.get("importing") is not None:
            summary.imports += 1
        category = classify(actions)
        if category is None:
            continue
        if category == "forget":
            summary.forgets += 1
            continue
        resource_type = entry.get("type") or entry.get("address", "?").split(".")[0]
        summary.counts[resource_type][category] += 1
        if resource_type in TASK_DEFINITION_TYPES and category != "destroy":
            image = image_change(entry)
            if image is not None:
                summary.images.append(image)
        if category in ("destroy", "replace"):
            summary.flagged.append(Flagged(entry.get("address", "?"), category, _detail(entry, change, category)))
    summary.flagged.sort(key=lambda f: (f.category, f.address))
    return summary


def _code(text: str) -> str:
    """Inline code that survives backticks inside ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fence_for(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, longest + 1)


def render(summary: Summary, stack: str, text_plan: str | None = None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The Markdown document; at most ``max_chars`` characters long (only the text plan is cut)."""
    lines = [f"### Terraform plan: {_code(stack)}", ""]
    if summary.errored:
        lines += ["> [!CAUTION]", "> The plan **errored**; the changes below are incomplete.", ""]
    for image in summary.images:
        lines += [f"**Release:** {_code(image.address)} image {_code(image.before)} → {_code(image.after)}", ""]
    if not summary.has_changes:
        lines.append("No changes. Infrastructure matches the configuration.")
    else:
        totals = {c: summary.total(c) for c in CATEGORIES}
        lines.append(
            f"**Plan:** {totals['add']} to add, {totals['change']} to change, "
            f"{totals['destroy']} to destroy, {totals['replace']} to replace."
        )
        if totals["replace"]:
            lines.append("(Terraform's own count shows each replacement as one add plus one destroy.)")
        if any(totals.values()):
            lines += ["", "| Resource type | Add | Change | Destroy | Replace |", "| --- | ---: | ---: | ---: | ---: |"]
            for resource_type in sorted(summary.counts):
                counter = summary.counts[resource_type]
                lines.append(f"| {_code(resource_type)} | " + " | ".join(str(counter[c]) for c in CATEGORIES) + " |")
            lines.append("| **Total** | " + " | ".join(f"**{totals[c]}**" for c in CATEGORIES) + " |")
        extras = []
        if summary.imports:
            extras.append(f"{summary.imports} to import")
        if summary.forgets:
            extras.append(f"{summary.forgets} to forget (removed from state, not destroyed)")
        if extras:
            lines += ["", "Also: " + ", ".join(extras) + "."]
    if summary.flagged:
        lines += ["", f"#### :warning: {len(summary.flagged)} destructive change(s)", ""]
        for item in summary.flagged:
            detail = f" ({item.detail})" if item.detail else ""
            lines.append(f"- :warning: **{item.category.upper()}** {_code(item.address)}{detail}")
    if summary.drifted:
        lines += ["", f"_Note: {summary.drifted} resource(s) changed outside Terraform since the last apply._"]
    document = "\n".join(lines) + "\n"
    if text_plan is not None:
        document += _details(text_plan, max_chars - len(document))
    return document


def _details(text_plan: str, budget: int) -> str:
    """The collapsible full plan, cut to fit in ``budget`` characters."""
    text_plan = text_plan.strip("\n")
    fence = _fence_for(text_plan)
    head = f"\n<details><summary>Full plan</summary>\n\n{fence}text\n"
    tail = f"\n{fence}\n\n</details>\n"
    room = budget - len(head) - len(tail)
    if len(text_plan) > room:
        note = "\n... [truncated {} characters: see the job log or the plan artifact for the full plan]"
        room -= len(note.format(len(text_plan)))
        if room <= 0:
            return "\n_The full plan is too long to show here; see the job log._\n" if budget > 80 else ""
        cut = text_plan.rfind("\n", 0, room)
        cut = cut if cut > room // 2 else room
        text_plan = text_plan[:cut] + note.format(len(text_plan) - cut)
    return head + text_plan + tail


def load_plan(stream: IO[str]) -> dict:
    try:
        return json.load(stream)
    except json.JSONDecodeError as error:
        raise PlanError(f"invalid JSON: {error}") from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan_summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("plan", nargs="?", default="-", help="terraform show -json output (default: stdin)")
    parser.add_argument("--stack", required=True, help="stack name for the heading")
    parser.add_argument("--text", metavar="PLAN_TXT", help="terraform show -no-color output to include, collapsed")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=DEFAULT_MAX_CHARS,
        help=f"cap on the output length; the text plan is truncated to fit (default {DEFAULT_MAX_CHARS})",
    )
    args = parser.parse_args(argv)
    try:
        if args.plan == "-":
            plan = load_plan(sys.stdin)
        else:
            with open(args.plan, encoding="utf-8") as stream:
                plan = load_plan(stream)
        summary = summarize(plan)
        text_plan = None
        if args.text:
            with open(args.text, encoding="utf-8", errors="replace") as stream:
                text_plan = stream.read()
    except (OSError, PlanError) as error:
        print(f"plan_summary: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(summary, args.stack, text_plan, args.max_chars))
    return 0


if __name__ == "__main__":
    sys.exit(main())
