"""Pid files: a writer killed mid-write must not leave a file that reads as a live process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.process import pid_file_alive, process_alive, write_pid_file


def test_written_pid_file_names_this_process(tmp_path: Path) -> None:
    path = tmp_path / ".restore-x-00.pid"
    write_pid_file(path)
    assert path.read_text() == str(os.getpid())
    assert pid_file_alive(path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left beside it


def test_empty_garbled_or_missing_pid_file_is_dead(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pid"
    empty.write_text("")  # what a kill between create and write leaves: must not read as pid 0 (the process group)
    garbled = tmp_path / "garbled.pid"
    garbled.write_text("12ab")
    assert not pid_file_alive(empty)
    assert not pid_file_alive(garbled)
    assert not pid_file_alive(tmp_path / "missing.pid")
    assert not process_alive(0) and not process_alive(-1)


def test_pid_of_an_exited_process_is_dead(tmp_path: Path) -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    path = tmp_path / "gone.pid"
    path.write_text(child.stdout.strip())
    assert not pid_file_alive(path)
