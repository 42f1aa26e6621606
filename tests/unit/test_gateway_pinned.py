"""The gateway image installs LiteLLM pinned by version AND hash, the release the README's provenance names."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "docker" / "gateway" / "requirements.txt"
REQUIREMENT = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")


def _locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of every requirement in the lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        match = REQUIREMENT.match(line)
        if match:
            current = match.group(1).lower()
            entries[current] = (match.group(2), [])
        elif current and line.strip().startswith("--hash="):
            entries[current][1].append(line.strip().removeprefix("--hash=").rstrip(" \\"))
        elif line.strip() and not line.lstrip().startswith("#"):
            assert not line[0].isalnum(), f"a requirement without an exact pin: {line!r}"
    return entries


def test_every_locked_package_has_an_exact_version_and_a_sha256():
    """pip's hash-checking mode (pip docs, "Secure installs": https://pip.pypa.io/en/stable/topics/secure-installs/)
    refuses the whole install unless every requirement is pinned with == and carries a hash."""
    entries = _locked()
    assert "litellm" in entries
    unhashed = [name for name, (_, hashes) in entries.items()
                if not hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes)]
    assert not unhashed, f"locked without a sha256: {unhashed}"


def test_the_image_installs_only_the_hashed_wheels():
    dockerfile = (ROOT / "docker" / "gateway" / "Dockerfile").read_text()
    install = next(line for line in dockerfile.splitlines() if "pip install" in line and "requirements.txt" in line)
    for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:"):
        assert flag in install, flag


def test_the_readme_records_the_provenance_of_the_locked_release():
    version, _ = _locked()["litellm"]
    readme = (ROOT / "README.md").read_text()
    assert f"`litellm[proxy]=={version}` from PyPI" in readme, "README's provenance names another LiteLLM release"
