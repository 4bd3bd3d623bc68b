"""Every command in the README's example runs as written, after what `make run` builds (the
demo centre in demo.db, its data and keys in demo-data/)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRUCELINE = str(Path(sys.executable).with_name("truceline"))


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n.venv/bin/truceline --version\n", 1)[1].split("```", 1)[0]
    return [".venv/bin/truceline --version", *[
        line for line in block.splitlines() if line.strip() and not line.startswith("#")
    ]]  # fmt: skip


def test_every_command_of_the_readme_runs_as_written(tmp_path: Path) -> None:
    env = {**os.environ, "TRUCELINE_KEY_DIR": ""}
    env.pop("TRUCELINE_KEY_DIR")
    built = subprocess.run([TRUCELINE, "demo", "--days", "2", "--db", "sqlite:///demo.db"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert built.returncode == 0, built.stderr
    commands = readme_commands()
    assert len(commands) >= 10
    for line in commands:
        words = shlex.split(line.split("  #")[0])
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        assert words[0] == ".venv/bin/truceline", line
        ran = subprocess.run([TRUCELINE, *words[1:]], cwd=tmp_path, env=env,
                             capture_output=True, text=True)  # fmt: skip
        assert ran.returncode == 0, f"{line}\n{ran.stdout[-800:]}\n{ran.stderr[-800:]}"
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert (tmp_path / "my-mission.yaml").is_file()
