"""A collection's golden set: the questions (with gold passages and answers) model changes are gated on.

Stored as ``golden.json`` in the collection's directory, in the formats ``hopgraph eval`` reads
(MuSiQue ``paragraphs`` with ``is_supporting``, or HotpotQA ``supporting_facts`` + ``context``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.settings import Settings
from retrieval.evaluation import load_questions
from service.model_lifecycle import golden_path

MAX_QUESTIONS = 10_000


def save_golden(settings: Settings, questions: list[dict[str, Any]]) -> int:
    """Validate ``questions`` and replace the store's golden set with them atomically.

    Returns:
        How many questions it holds.

    Raises:
        InputError: empty, too many, or not in a format ``hopgraph eval`` reads (the message says which item).
    """
    if not questions:
        raise InputError("a golden set needs at least one question")
    if len(questions) > MAX_QUESTIONS:
        raise InputError(f"a golden set holds at most {MAX_QUESTIONS} questions")
    path = golden_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".golden-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(questions, fh)
            fh.flush()
            os.fsync(fh.fileno())
        count = len(load_questions(Path(tmp)))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return count


def golden_count(settings: Settings) -> int:
    """How many questions the golden set holds (0 when there is none)."""
    path = golden_path(settings)
    return len(load_questions(path)) if path.is_file() else 0
