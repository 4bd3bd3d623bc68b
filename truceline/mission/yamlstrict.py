"""A strict YAML reader for mission files.

Plain PyYAML reads YAML 1.1, where `no` is false, `19:30` is the integer 1170 and a duplicate
key silently replaces the first. A typo in an agreement must not change its meaning, so this
reader resolves only the YAML 1.2 core scalars (null, true/false, decimal numbers), keeps times
as strings for the schema to check, and rejects duplicate keys with their line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from truceline.i18n.message import M, Message


class StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalar resolution and duplicate-key detection."""

    yaml_implicit_resolvers = {}  # noqa: RUF012 - replaced wholesale below

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise ConstructorError(
                        None,
                        None,
                        M(
                            "duplicate key {key!r} (first at line {line})",
                            key=key,
                            line=seen[key].start_mark.line + 1,
                        ),
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$"),
    list("-+.0123456789"),
)


def _construct_int(loader: yaml.SafeLoader, node: Node) -> int:
    return int(loader.construct_scalar(node))  # type: ignore[arg-type]


StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class YamlSyntaxError(ValueError):
    def __init__(self, line: int, column: int, message: str) -> None:
        self.line, self.column, self.message = line, column, message
        super().__init__(f"{line}:{column}: {message}")


def load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        said = exc.problem or exc.context  # (ours a Message; PyYAML's own English)
        message = said if isinstance(said, Message) else str(said)
        raise YamlSyntaxError(line, column, message) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(0, 0, str(exc)) from None
