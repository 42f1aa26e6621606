"""What failed, from a cdktf/Terraform log: the resource address and the error, one pair per diagnostic.

``scripts/local.sh`` keeps the full cdktf/Terraform output in a log file and, when a step fails,
prints only this summary and the log's path. Terraform prints each error as a boxed diagnostic
(cdktf prefixes every line with the stack name)::

    ajuda-local  ╷
                 │ Error: creating S3 Bucket (name): ... BucketAlreadyExists ...
                 │
                 │   with aws_s3_bucket.storage_documents_1A2B3C (storage/documents),
                 │   on cdk.tf.json line 120, in resource "aws_s3_bucket" "storage_documents_1A2B3C":
                 ╵

Usage: ``python -m tools.deploy_log LOG [--offset BYTES]`` (only the part after ``BYTES``).
Standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

_ERROR = re.compile(r"(?:^|[│|]\s*|\s)Error:\s*(?P<message>.+)$")
_WITH = re.compile(r"^\s*with (?P<address>[A-Za-z0-9_.\[\]\"-]+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_ERROR_CHARS = 400
MAX_FAILURES = 5


@dataclass(frozen=True)
class Failure:
    error: str
    resource: str | None = None


def _body(line: str) -> str:
    """The diagnostic text of a line, without colours, cdktf's stack prefix and the box border."""
    line = _ANSI.sub("", line).rstrip()
    return line.split("│", 1)[1] if "│" in line else line


def failures(text: str) -> list[Failure]:
    """Every distinct error diagnostic in ``text``, with the resource it names when it names one.

    Terraform's boxed diagnostics come first; bare ``Error:`` lines (cdktf's own, a crash) are
    reported only when the log holds no boxed one.
    """
    boxed: list[Failure] = []
    bare: list[Failure] = []
    current: dict | None = None
    for raw in text.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        in_box = "│" in line
        error = _ERROR.search(line)
        if error and in_box:
            if current:
                boxed.append(Failure(**current))
            current = {"error": error.group("message").strip()[:MAX_ERROR_CHARS], "resource": None}
        elif current is not None and in_box:
            match = _WITH.match(_body(line))
            if match and current["resource"] is None:
                current["resource"] = match.group("address").rstrip(",")
        elif current is not None:
            boxed.append(Failure(**current))
            current = None
        elif error:
            bare.append(Failure(error=error.group("message").strip()[:MAX_ERROR_CHARS]))
    if current:
        boxed.append(Failure(**current))
    return list(dict.fromkeys(boxed or bare))


def render(found: list[Failure]) -> str:
    if not found:
        return "  (no Terraform error found in the log: read its end)\n"
    lines = []
    for failure in found[:MAX_FAILURES]:
        lines.append(f"  resource: {failure.resource or '(none named)'}")
        lines.append(f"  error:    {failure.error}")
    if len(found) > MAX_FAILURES:
        lines.append(f"  ... and {len(found) - MAX_FAILURES} more errors")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy_log", description=__doc__.split("\n")[0])
    parser.add_argument("log")
    parser.add_argument("--offset", type=int, default=0, help="read from this byte on (the failed step's part)")
    args = parser.parse_args(argv)
    try:
        with open(args.log, "rb") as stream:
            stream.seek(args.offset)
            text = stream.read().decode("utf-8", errors="replace")
    except OSError as error:
        print(f"deploy_log: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(failures(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
