"""What the pages keep between readers (web.kept)."""

from __future__ import annotations

import threading
import time

import pytest

from truceline.web.kept import Kept


def test_what_is_kept_is_made_once_however_many_readers_ask_at_the_same_moment() -> None:
    kept: Kept[int] = Kept(4)
    made: list[int] = []

    def make() -> int:
        made.append(1)
        time.sleep(0.2)  # (long enough for every reader to be waiting)
        return 42

    answers: list[int] = []
    readers = [threading.Thread(target=lambda: answers.append(kept.made("day", make)))
               for _ in range(8)]  # fmt: skip
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert answers == [42] * 8 and len(made) == 1

    def fail() -> int:
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        kept.made("other", fail)
    assert kept.made("other", lambda: 7) == 7  # a failure is not kept
