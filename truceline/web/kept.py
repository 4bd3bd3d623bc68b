"""What a page computed, kept for the next reader who asks the same (per worker process).

A key names what was asked and the record's watermark (`signing.watermark`: the heads of the
logs, the last assessment run, the newest observation and position): equal watermarks, equal
answers, and any change to the record makes a new key. Only answers that are the same for
every reader allowed to ask may be kept. At most `size` answers, the least recently used
dropped first. `made` makes a missing answer once however many readers ask for it at the
same moment (the others wait for it): twenty officers opening the report of a new day make
it once, not twenty times.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def made(self, key: Hashable, make: Callable[[], V]) -> V:
        """The answer kept for `key`, else made by `make` (once: a reader who asks while it
        is being made waits for it; if making fails, the next reader tries again)."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        try:
            with making:
                value = self.get(key)
                if value is None:
                    value = self.put(key, make())
                return value
        finally:
            with self._lock:
                if self._making.get(key) is making:
                    del self._making[key]

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
