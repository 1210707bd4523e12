"""Dependencies between object states: depend on one, on all, or on any of several.

Layer: core. Thread: any (immutable values). A `DependOn` is satisfied when its object is in one
of the acceptable states; `preferred` is where the planner moves the object when it is not;
`fix_state` is where the *depending* object must go first when its dependency is about to leave
the acceptable states (stopping LNet first stops the targets running on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
class _Group:
    """Several dependencies; what they are worth together is the subclass's rule."""

    parts: tuple[Dependency, ...]

    @cached_property
    def leaves(self) -> tuple[DependOn, ...]:
        """Every single dependency inside, in order (computed once: dependencies are shared)."""
        found: list[DependOn] = []
        for part in self.parts:
            if isinstance(part, DependOn):
                found.append(part)
            else:
                found.extend(part.leaves)
        return tuple(found)

    @cached_property
    def refs(self) -> frozenset[Ref]:
        """Every object named anywhere inside."""
        return frozenset(leaf.ref for leaf in self.leaves)


@dataclass(frozen=True)
class DependAll(_Group):
    @cached_property
    def conditions(self) -> tuple[DependOn | DependAny, ...]:
        """Its parts, with those that are themselves DependAll replaced by their own conditions,
        in order: what `collect` checks, without walking the tree each time."""
        found: list[DependOn | DependAny] = []
        for part in self.parts:
            if isinstance(part, DependAll):
                found.extend(part.conditions)
            else:
                found.append(part)
        return tuple(found)

    def satisfied(self, state_of: StateOf) -> bool:
        return all(part.satisfied(state_of) for part in self.parts)


@dataclass(frozen=True)
class DependAny(_Group):
    """Its parts are in order of preference: the planner satisfies the first when none holds."""

    def satisfied(self, state_of: StateOf) -> bool:
        for part in self.parts:  # not any() over a generator: planning runs this per target
            if part.satisfied(state_of):
                return True
        return not self.parts


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


def leaves(dependency: Dependency) -> tuple[DependOn, ...]:
    """Every single dependency inside `dependency`, in order."""
    return (dependency,) if isinstance(dependency, DependOn) else dependency.leaves


def collect(
    dependency: Dependency, state_of: StateOf, missing: list[DependOn], refs: set[Ref]
) -> None:
    """One pass over `dependency`: add what must be brought about to `missing` (as
    `unsatisfied` would) and every object it names to `refs`."""
    conditions: tuple[DependOn | DependAny, ...]
    if isinstance(dependency, DependOn):
        refs.add(dependency.ref)
        conditions = (dependency,)
    else:
        refs.update(dependency.refs)
        conditions = dependency.conditions if isinstance(dependency, DependAll) else (dependency,)
    for condition in conditions:
        if isinstance(condition, DependOn):
            if state_of(condition.ref) not in condition.acceptable:
                missing.append(condition)
        elif not condition.satisfied(state_of):
            missing.extend(unsatisfied(condition.parts[0], state_of))
