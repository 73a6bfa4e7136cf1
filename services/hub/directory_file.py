"""A directory file (YAML) read into a DirectoryPublished, naming the line of every problem.

The file holds ``areas`` and ``agencies`` exactly as the DirectoryPublished event does; the
CLI adds version, published_at and published_by. The file is parsed with PyYAML's compose()
so every value keeps its line, and validated by the schemas' own model, so the file and the
event can never disagree about what is valid. Pure: no I/O beyond the text handed in.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from referral_schemas.directory_v1 import DirectoryPublished, iso_duration

Loc = tuple[str | int, ...]
RESERVED = ("version", "published_at", "published_by")


class DirectoryFileError(Exception):
    """The file cannot become a directory; ``problems`` are ``FILE:LINE: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class _Located:
    """The file's values, with the line where each value (and each mapping key) starts."""

    lines: dict[Loc, int] = field(default_factory=dict)
    key_lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def line_of(self, loc: Loc, *, key: bool = False) -> int:
        """The line of ``loc``, else of its nearest enclosing value that exists in the file."""
        if key and loc in self.key_lines:
            return self.key_lines[loc]
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _value(node: yaml.Node, loc: Loc, found: _Located, loader: yaml.SafeLoader) -> Any:
    found.lines[loc] = _line(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str):
                found.problems.append((_line(key_node), "keys must be text"))
                continue
            if key in result:
                first = found.key_lines[(*loc, key)]
                found.problems.append(
                    (_line(key_node), f"duplicate key '{key}' (first at {first})")
                )
                continue
            found.key_lines[(*loc, key)] = _line(key_node)
            result[key] = _value(value_node, (*loc, key), found, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, (*loc, i), found, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node)


def _compose(text: str, found: _Located) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            found.problems.append((1, "the file is empty"))
            return None
        return _value(root, (), found, loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        found.problems.append((line, f"not valid YAML: {err.problem or err.context}"))
        return None
    except yaml.YAMLError as err:
        found.problems.append((1, f"not valid YAML: {type(err).__name__}"))
        return None
    finally:
        loader.dispose()


def _path(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def _validation_problems(exc: ValidationError, found: _Located) -> list[tuple[int, str]]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            where = f"{_path(loc[:-1])}: " if loc[:-1] else ""
            problems.append((found.line_of(loc, key=True), f"{where}unknown key '{loc[-1]}'"))
        elif kind == "missing":
            where = f"{_path(loc[:-1])}: " if loc[:-1] else ""
            problems.append((found.line_of(loc), f"{where}missing field '{loc[-1]}'"))
        elif loc:
            problems.append((found.line_of(loc), f"{_path(loc)}: {error['msg']}"))
        else:
            problems.append((1, str(error["msg"])))
    return problems


def _items(data: Any, name: str) -> Iterable[tuple[int, dict[str, Any]]]:
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, list):
        yield from ((i, item) for i, item in enumerate(value) if isinstance(item, dict))


def _texts(item: dict[str, Any], name: str) -> Iterable[tuple[int, str]]:
    value = item.get(name)
    if isinstance(value, list):
        yield from ((i, v) for i, v in enumerate(value) if isinstance(v, str))


def _cross_checks(data: Any, found: _Located) -> list[tuple[int, str]]:
    """The directory-wide rules, checked here too so each problem names its own line."""
    problems: list[tuple[int, str]] = []
    area_lines: dict[str, int] = {}
    district_owner: dict[str, tuple[str, int]] = {}
    for i, area in _items(data, "areas"):
        code = area.get("code")
        if isinstance(code, str):
            line = found.line_of(("areas", i, "code"))
            if code in area_lines:
                first = area_lines[code]
                problems.append((line, f"duplicate area code '{code}' (first at {first})"))
            else:
                area_lines[code] = line
        for j, district in _texts(area, "postcode_districts"):
            line = found.line_of(("areas", i, "postcode_districts", j))
            owner = district_owner.setdefault(district.upper(), (str(code), line))
            if owner[0] != str(code):
                reason = f"postcode district '{district}' is already in area '{owner[0]}'"
                problems.append((line, f"{reason} (line {owner[1]})"))
    agency_lines: dict[str, int] = {}
    for i, agency in _items(data, "agencies"):
        code = agency.get("code")
        if isinstance(code, str):
            line = found.line_of(("agencies", i, "code"))
            if code in agency_lines:
                first = agency_lines[code]
                problems.append((line, f"duplicate agency code '{code}' (first at {first})"))
            else:
                agency_lines[code] = line
        for j, area_code in _texts(agency, "areas"):
            if area_code not in area_lines:
                line = found.line_of(("agencies", i, "areas", j))
                problems.append((line, f"agency '{code}' names unknown area '{area_code}'"))
    return problems


def _duration_checks(data: Any, found: _Located) -> list[tuple[int, str]]:
    """YAML numbers would pass as seconds; the file must spell a duration (``PT48H``)."""
    problems = []
    for i, agency in _items(data, "agencies"):
        value = agency.get("acceptance_deadline")
        if value is not None and not isinstance(value, str):
            line = found.line_of(("agencies", i, "acceptance_deadline"))
            problems.append(
                (line, "acceptance_deadline should be an ISO 8601 duration such as PT48H")
            )
    return problems


def parse_directory(
    text: str, *, filename: str, version: int, published_at: datetime, published_by: str
) -> DirectoryPublished:
    """The directory the file describes; raises DirectoryFileError listing every problem."""
    found = _Located()
    data = _compose(text, found)
    problems = list(found.problems)
    if data is not None and not isinstance(data, dict):
        problems.append((1, "the file should be a mapping with 'areas' and 'agencies'"))
    elif isinstance(data, dict):
        for key in RESERVED:
            if key in data:
                line = found.line_of((key,), key=True)
                problems.append((line, f"'{key}' is set by `hub directory load`, not the file"))
        problems += _duration_checks(data, found)
        cross = _cross_checks(data, found)
        payload = {k: v for k, v in data.items() if k not in RESERVED}
        payload.update(version=version, published_at=published_at, published_by=published_by)
        try:
            directory = DirectoryPublished.model_validate(payload)
        except ValidationError as exc:
            model = _validation_problems(exc, found)
            # Directory-wide refusals carry no location: ours above say the same, with lines.
            problems += cross + [p for p in model if not (cross and p[0] == 1)]
        else:
            problems += cross
            if not problems:
                return directory
    ordered = sorted(dict.fromkeys(problems), key=lambda p: p[0])
    raise DirectoryFileError([f"{filename}:{line}: {reason}" for line, reason in ordered])


def show(value: Any) -> str:
    """One value as the directory file would spell it."""
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(show(v) for v in value)
    return str(value)


def _field_changes(old: BaseModel, new: BaseModel) -> list[str]:
    changes = []
    for name in type(new).model_fields:
        before, after = getattr(old, name), getattr(new, name)
        if isinstance(before, list) and isinstance(after, list):
            added = sorted(show(v) for v in after if v not in before)
            removed = sorted(show(v) for v in before if v not in after)
            if added or removed:
                signed = [f"+{v}" for v in added] + [f"-{v}" for v in removed]
                changes.append(f"{name} " + " ".join(signed))
        elif before != after:
            changes.append(f"{name} {show(before)} -> {show(after)}")
    return changes


@dataclass(frozen=True)
class Change:
    kind: str
    """"area" or "agency"."""
    code: str
    what: str
    """"added", "removed" or "changed"."""
    details: tuple[str, ...] = ()


def _compare(kind: str, old: Mapping[str, BaseModel], new: Mapping[str, BaseModel]) -> list[Change]:
    changes = [Change(kind, code, "added") for code in new if code not in old]
    changes += [Change(kind, code, "removed") for code in old if code not in new]
    for code in new.keys() & old.keys():
        details = _field_changes(old[code], new[code])
        if details:
            changes.append(Change(kind, code, "changed", tuple(details)))
    return sorted(changes, key=lambda c: (c.what, c.code))


def compare(old: DirectoryPublished | None, new: DirectoryPublished) -> list[Change]:
    """What ``new`` changes compared with ``old``; empty when they mean the same (order of
    lists does not matter: a directory is sets of areas, agencies, districts and services)."""
    old_areas = {a.code: a for a in old.areas} if old else {}
    old_agencies = {a.code: a for a in old.agencies} if old else {}
    areas = _compare("area", old_areas, {a.code: a for a in new.areas})
    return areas + _compare("agency", old_agencies, {a.code: a for a in new.agencies})
