"""measure(): the design facts a question states or asks about, computed exactly before the model answers."""

from __future__ import annotations

from functools import lru_cache

from ..poster.schema import CheckOptions
from .colours import contrast_facts
from .conversion import conversion_facts
from .lengths import covered, quantities, sizes
from .model import Fact, Found
from .paper import named_papers, paper_facts
from .resolution import resolution_facts
from .typesize import assumed_distance_fact, distance_facts

MAX_FACTS = 6


def _found(question: str, viewing_distance_m: float) -> list[Found]:
    """Every fact found, in no particular order; each quantity feeds one kind of fact at most."""
    found = contrast_facts(question, MAX_FACTS)
    size_list = sizes(question)
    papers = named_papers(question)
    taken = covered([(s.start, s.end) for s in size_list] + [(s, e) for s, e, _ in papers])
    singles = [q for q in quantities(question) if taken.isdisjoint(range(q.start, q.end))]
    distances, used = distance_facts(question, singles, MAX_FACTS)
    singles = [q for q in singles if q.start not in used]
    resolutions, used = resolution_facts(question, papers, size_list, singles, MAX_FACTS)
    # A written size that a resolution fact states needs no fact of its own; a named paper's fact gives its name.
    found += paper_facts(papers, [s for s in size_list if s.start not in used], MAX_FACTS)
    singles = [q for q in singles if q.start not in used]
    found += distances + resolutions + conversion_facts(question, singles)
    if not distances:
        found += assumed_distance_fact(question, viewing_distance_m)
    return found


@lru_cache(maxsize=16)  # a server measures every question at the one distance it is configured with
def _check_distance(viewing_distance_m: float) -> None:
    """The poster checks' bounds for the distance; their ValidationError says why it is out of them."""
    CheckOptions(viewing_distance_m=viewing_distance_m)


def measure(question: str, *, viewing_distance_m: float = 3.0) -> list[Fact]:
    """The question's facts in order, without repeats, at most MAX_FACTS; never raises for any string."""
    # viewing_distance_m is the distance assumed when the question asks how big text should be without giving one.
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, not {type(question).__name__}")
    _check_distance(viewing_distance_m)
    facts: dict[str, Fact] = {}
    for item in sorted(_found(question, viewing_distance_m), key=lambda f: (f.start, f.end)):
        facts.setdefault(item.fact.statement, item.fact)
    return list(facts.values())[:MAX_FACTS]
