"""A documents bucket with history around an instant, for the restore drill's tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime

# S3 lists LastModified to the second: a gap over a second on each side keeps the instant unambiguous.
GAP_SECONDS = 1.2


def write_history(s3, bucket: str) -> tuple[datetime, dict[str, bytes]]:
    """Objects written, changed and deleted before and after an instant.

    Returns the instant and exactly what a restore to it must hold (key -> content).
    """
    s3.put_object(Bucket=bucket, Key="uploads/kept.txt", Body=b"kept")
    s3.put_object(Bucket=bucket, Key="uploads/changed.txt", Body=b"before")
    s3.put_object(Bucket=bucket, Key="uploads/deleted-later.txt", Body=b"deleted later")
    s3.put_object(Bucket=bucket, Key="uploads/deleted-before.txt", Body=b"gone")
    s3.delete_object(Bucket=bucket, Key="uploads/deleted-before.txt")
    time.sleep(GAP_SECONDS)
    instant = datetime.now(UTC)
    time.sleep(GAP_SECONDS)
    s3.put_object(Bucket=bucket, Key="uploads/changed.txt", Body=b"after")
    s3.delete_object(Bucket=bucket, Key="uploads/deleted-later.txt")
    s3.put_object(Bucket=bucket, Key="uploads/new-after.txt", Body=b"new")
    return instant, {"uploads/kept.txt": b"kept", "uploads/changed.txt": b"before",
                     "uploads/deleted-later.txt": b"deleted later"}
