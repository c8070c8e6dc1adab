"""Full-text retrieval over the entries with SQLite FTS5 and its bm25() ranking."""

import functools
import operator
import re
import sqlite3
import threading
from collections.abc import Sequence

from .model import Entry

# Column weights for bm25(), chosen by measurement on 185 questions (the tests' table and 50 more, see below):
# the keywords, written as the ways people ask for an entry, say most; a word in the text is often incidental
# (the PDF/X entry mentions bleed and form fields), so it counts under a third of a keyword. The ratio matters
# little (from 1:1:1 to 8:6:1, top-1 stayed between 158 and 167 of 185) and the scale more: larger weights
# raise every score, so more wrong and off-topic entries pass the bar at which /chat quotes one (9.0).
WEIGHTS = (1.5, 2.0, 0.6)  # title, keywords, text

# bm25() in FTS5 returns negative numbers, lower is better; relevance here is -bm25, higher is better.
# Measured with WEIGHTS and STOP_WORDS above, 239 entries, as the relevance of the entry a question should find:
#   - the 135 questions in tests/test_knowledge.py: all in the top 3, weakest 6.1, median 14.8;
#   - 50 longer, chattier questions used while choosing WEIGHTS and STOP_WORDS (not in the tests):
#     47 in the top 3, weakest 7.5, median 12.7;
#   - 64 questions written before any ranking change and never tuned for (not in the tests): 61 in the top 3,
#     52 first, weakest 6.5, median 14.4;
#   - greetings and thanks ("hello", "thanks!") have no words left after STOP_WORDS, so nothing is searched;
#   - of 70 off-topic questions (small talk, unrelated facts), 30 share a word with some entry at 6.2 to 8.7,
#     median 7.1 ("who is the president of the United States?" -> focus and selected states): bm25 alone
#     cannot tell them apart from real questions, so the cut-off does not try to; none reaches 9.
# 6.0 drops weak tail matches and the weakest incidental ones. Callers wanting only strong matches (e.g. to
# quote one) use a higher bar: /chat quotes at 9.0, which 40 held-out off-topic questions never reached (one
# did with the old weights (4, 3, 1), two once the new entries were added).
MIN_RELEVANCE = 6.0

# At most this many distinct words go into a query; the rest of a very long input is ignored.
MAX_TERMS = 32
# Only the start of a very long input is read.
MAX_CHARS = 2000
# Words whose scores are kept (each a few rows; a word that matches no entry is remembered as matching none).
CACHED_TERMS = 4096

# Words that carry no meaning for retrieval: function words, question words, chat filler, and verbs and nouns
# that fit any design question ("before sending it to the printer", "my design") but, being rare in the
# entries, outweighed the subject ("bleed") and ranked whichever entry happened to use them.
# "much" is kept: "how much bleed" asks for an amount, and the entries on amounts say "how much".
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any anyone anything are aren as at be because been before
    being below between both but by can cannot could couldn did didn do does doesn doing don down during each
    either else ever every few for from further get gets getting give go going got had has have having he her
    here hers herself him himself his how however i if in into is isn it its itself just let like ll m me might
    mine more most must my myself need needs no nor not now of off on once only or other our ours
    ourselves out over own please re really s same shall she should so some something such t than that the
    their theirs them themselves then there these they this those through thing things to too under until up
    use used using ve very via was wasn way we were weren what whats when where whether which while who
    whom whose why will with within without won would wouldn yes yet you your yours yourself yourselves
    hello hi hey hiya howdy greetings thanks thank thx ty cheers bye goodbye ok okay sure yeah yep nope
    good great nice cool awesome fine morning afternoon evening night today day help helping tell know
    want wanted wants wondering wonder question questions ask asking anybody somebody someone maybe also
    best right correct proper usually typically generally actually kind sort lot lots bit pls plz hmm
    people well bad last tomorrow yesterday
    send sending sent add adding added make makes making made look looks looking mean means said say says
    leave feel feels try tried put puts see seem seems happen happens work works done come comes take takes
    design designs designing designed designer
    """.split()
)

# UK and US spellings of the same word must meet; applied to indexed text and to queries alike.
_SPELLINGS = (("colour", "color"), ("grey", "gray"), ("centred", "centered"), ("centre", "center"), ("metre", "meter"))
_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Lower-case the text and map UK spellings to US ones."""
    text = text.casefold()
    for uk, us in _SPELLINGS:
        text = text.replace(uk, us)
    return text


def query_terms(question: str) -> list[str]:
    """The distinct meaningful words of a question, in order, at most MAX_TERMS."""
    terms: list[str] = []
    for word in _WORD.findall(normalise(question[:MAX_CHARS])):
        if len(word) > 1 and word not in STOP_WORDS and word not in terms:  # a lone digit matches every number
            terms.append(word)
            if len(terms) == MAX_TERMS:
                break
    return terms


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of the terms, each quoted so it is read as a plain string."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


class Index:
    """An in-memory FTS5 table over the entries, safe to query from several threads."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE kb USING fts5(title, keywords, text, tokenize='porter unicode61 remove_diacritics 2')"
        )
        self._db.executemany(
            "INSERT INTO kb (rowid, title, keywords, text) VALUES (?, ?, ?, ?)",
            (
                (row, normalise(e.title), normalise(" ; ".join(e.keywords)), normalise(e.text))
                for row, e in enumerate(entries)
            ),
        )
        self._db.commit()
        self._term_scores = functools.lru_cache(maxsize=CACHED_TERMS)(self._scores)

    def ranked(self, question: str, limit: int) -> list[tuple[int, float]]:
        """Row numbers and relevance (higher is better) of the best matches at or above MIN_RELEVANCE."""
        # bm25() of an OR query is the sum of each term's own bm25() (FTS5 scores every phrase on its own: its IDF,
        # its weighted count, the row's length), so each word is scored by FTS5 once and remembered, and the sums
        # equal the OR query's scores exactly, at a tenth of its cost (bench/notes.md).
        terms = query_terms(question)
        totals = dict(self._term_scores(terms[0])) if terms else {}  # each row's sum starts with its first term
        for term in terms[1:]:
            for row, relevance in self._term_scores(term):
                totals[row] = totals.get(row, 0.0) + relevance
        best = sorted(sorted(totals.items()), key=operator.itemgetter(1), reverse=True)[:limit]  # ties: lower row
        return [(row, relevance) for row, relevance in best if relevance >= MIN_RELEVANCE]

    def _scores(self, term: str) -> tuple[tuple[int, float], ...]:
        """Every row matching one term, with the term's relevance there."""
        with self._lock:
            return tuple(self._db.execute("SELECT rowid, -bm25(kb, ?, ?, ?) FROM kb WHERE kb MATCH ?",
                                          (*WEIGHTS, match_expression([term]))))
