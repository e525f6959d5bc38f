"""The shell on a terminal (a pty, no tmux): prompt_toolkit reads the lines, and the
history is kept in $XDG_STATE_HOME/secbrief/shell_history for the next session."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

DEADLINE = 60.0  # seconds; generous for a busy 2-core machine


class Terminal:
    def __init__(self, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "shell"], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = b""

    def wait_for(self, token: bytes) -> bool:
        end = time.monotonic() + DEADLINE
        while token not in self.seen and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        return token in self.seen

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        try:
            return self.proc.wait(DEADLINE)
        finally:
            os.close(self.master)


def session(env: dict[str, str], *keys: str, expect: bytes) -> bytes:
    """Type each line (keys as a terminal sends them) and wait for ``expect``."""
    term = Terminal(env)
    try:
        assert term.wait_for(b"/help for commands")
        for line in keys:
            term.type(line)
        found = term.wait_for(expect)
        term.type("/quit")
    except BaseException:
        term.proc.kill()
        term.close()
        raise
    code = term.close()
    assert found, term.seen[-2000:]
    assert code == 0
    return term.seen


def test_a_terminal_session_edits_lines_and_keeps_history(
        db_path: Path | str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECBRIEF_")}
    env |= {"SECBRIEF_DATABASE": str(db_path), "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm"}
    backspaces = "\x7f" * len("r Flax Typhoon")
    session(env, f"/actr Flax Typhoon{backspaces}or Flax Typhoon", expect=b"Storm-0919")
    history = (tmp_path / "secbrief" / "shell_history").read_text()
    assert "+/actor Flax Typhoon" in history and "+/quit" in history
    # The next session recalls it: Up twice (past /quit), Enter.
    seen = session(env, "\x1b[A\x1b[A", expect=b"Storm-0919")
    assert b"Storm-0919" in seen
