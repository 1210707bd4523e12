"""Dependencies between object states: depend on one, on all, or on any of several.

Layer: core. Thread: any (immutable values). A `DependOn` is satisfied when its object is in one
of the acceptable states; `preferred` is where the planner moves the object when it is not;
`fix_state` is where the *depending* object must go first when its dependency is about to leave
the acceptable states (stopping LNet first stops the targets running on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property

from core.scheduler.world import Ref

StateOf = Callable[[Ref], str]


@dataclass(frozen=True)
class DependOn:
    ref: Ref
    preferred: str
    acceptable: frozenset[str]
    fix_state: str | None = None

    def satisfied(self, state_of: StateOf) -> bool:
        return state_of(self.ref) in self.acceptable


@dataclass(frozen=True)
class DependAll:
    parts: tuple[Dependency, ...]

    @cached_property
    def refs(self) -> frozenset[Ref]:
        """Every object named anywhere inside (computed once: dependencies are shared)."""
        return frozenset(leaf.ref for leaf in leaves(self))

    def satisfied(self, state_of: StateOf) -> bool:
        return all(part.satisfied(state_of) for part in self.parts)


@dataclass(frozen=True)
class DependAny:
    parts: tuple[Dependency, ...]
    """In order of preference: the planner satisfies the first when none holds."""

    @cached_property
    def refs(self) -> frozenset[Ref]:
        return frozenset(leaf.ref for leaf in leaves(self))

    def satisfied(self, state_of: StateOf) -> bool:
        return not self.parts or any(part.satisfied(state_of) for part in self.parts)


Dependency = DependOn | DependAll | DependAny
NOTHING = DependAll(())


def depend_on(
    ref: Ref, preferred: str, acceptable: Iterable[str] = (), fix_state: str | None = None
) -> DependOn:
    return DependOn(ref, preferred, _acceptable(preferred, frozenset(acceptable)), fix_state)


@cache
def _acceptable(preferred: str, others: frozenset[str]) -> frozenset[str]:
    return others | {preferred}


def all_of(parts: Iterable[Dependency]) -> DependAll:
    return DependAll(tuple(parts))


def any_of(parts: Iterable[Dependency]) -> DependAny:
    return DependAny(tuple(parts))


def unsatisfied(dependency: Dependency, state_of: StateOf) -> list[DependOn]:
    """The single dependencies the planner must bring about for `dependency` to hold."""
    if isinstance(dependency, DependOn):
        return [] if dependency.satisfied(state_of) else [dependency]
    if isinstance(dependency, DependAll):
        return [leaf for part in dependency.parts for leaf in unsatisfied(part, state_of)]
    if dependency.satisfied(state_of):
        return []
    return unsatisfied(dependency.parts[0], state_of)


def leaves(dependency: Dependency) -> Iterator[DependOn]:
    if isinstance(dependency, DependOn):
        yield dependency
    else:
        for part in dependency.parts:
            yield from leaves(part)


def collect(
    dependency: Dependency, state_of: StateOf, missing: list[DependOn], refs: set[Ref]
) -> None:
    """One pass over `dependency`: add what must be brought about to `missing` (as
    `unsatisfied` would) and every object it names to `refs`."""
    if isinstance(dependency, DependOn):
        refs.add(dependency.ref)
        if state_of(dependency.ref) not in dependency.acceptable:
            missing.append(dependency)
        return
    if isinstance(dependency, DependAll):
        for part in dependency.parts:
            collect(part, state_of, missing, refs)
        return
    refs.update(dependency.refs)
    held = False
    for part in dependency.parts:
        held = held or part.satisfied(state_of)
    if not held and dependency.parts:
        missing.extend(unsatisfied(dependency.parts[0], state_of))
