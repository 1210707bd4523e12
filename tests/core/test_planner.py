"""Planning: what the rules share between plans never outlives the world it was true of, and the
planner's one-pass walk over dependencies agrees with their definition."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.database import Database
from core.scheduler.dependencies import (
    Dependency,
    DependOn,
    all_of,
    any_of,
    collect,
    depend_on,
    leaves,
    unsatisfied,
)
from tests.core.scheduler_harness import make_harness


def test_stopping_lnet_stops_a_failed_over_target_where_it_runs_now(database: Database) -> None:
    h = make_harness(database, running=True)
    before = h.scheduler.preview_state(h.lnet("oss1"), "down")
    assert [j.description for j in before.jobs] == ["Stop fs1-OST0000", "Stop LNet on oss1.lab"]

    h.scheduler.request_job(
        "FailoverTargetJob", h.target("fs1-OST0000"), actor="alice", confirmed=True
    )
    assert h.active_host("fs1-OST0000") == "oss2"

    on_primary = h.scheduler.preview_state(h.lnet("oss1"), "down")
    assert [j.description for j in on_primary.jobs] == ["Stop LNet on oss1.lab"]
    on_secondary = h.scheduler.preview_state(h.lnet("oss2"), "down")
    assert [j.description for j in on_secondary.jobs][-1] == "Stop LNet on oss2.lab"
    assert sorted(j.description for j in on_secondary.jobs[:-1]) == [
        "Stop fs1-OST0000",
        "Stop fs1-OST0001",
    ]


REFS = [("host", 1), ("host", 2), ("lnet", 1), ("target", 3)]
STATES = ["up", "down", "mounted"]

single = st.builds(
    depend_on,
    st.sampled_from(REFS),
    st.sampled_from(STATES),
    st.frozensets(st.sampled_from(STATES)),
)
dependencies = st.recursive(
    single,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(all_of), st.lists(inner, max_size=3).map(any_of)
    ),
    max_leaves=10,
)


@given(dependencies, st.dictionaries(st.sampled_from(REFS), st.sampled_from(STATES)))
def test_collect_finds_what_unsatisfied_does_and_names_every_object(
    dependency: Dependency, states: dict[tuple[str, int], str]
) -> None:
    def state_of(ref: tuple[str, int]) -> str:
        return states.get(ref, "down")

    missing: list[DependOn] = []
    named: set[tuple[str, int]] = set()
    collect(dependency, state_of, missing, named)
    assert missing == unsatisfied(dependency, state_of)
    assert named == {leaf.ref for leaf in leaves(dependency)}
    assert dependency.satisfied(state_of) == (not missing)
