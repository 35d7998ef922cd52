"""Relevance search over the directory with tantivy (a Rust full-text engine, Lucene-like).

Why tantivy rather than SQL: it gives BM25 ranking with per-field boosts, prefix and
Levenshtein (one typo) matching from its term dictionary's automata, filter terms and a
geographic box in one query, in well under a millisecond, from an index folder that any
number of processes open read-only (the API, the CLI) while the pipeline writes the
warehouse. DuckDB's ``fts`` extension cannot be installed offline and has no fuzzy or
prefix matching; SQLite FTS5 has prefixes but no typo tolerance without a hand-written
spellfix table.

How a query is built (never parsed from the user's text, so no query syntax injection):
the text is split into words the way the index tokenizes (lowercase letters and digits);
every word must match (in any order) one of name, DBA names, city or address. A word
matches a field exactly (BM25, boosted name 4 > DBA 3 > city 2 > address 1), or as a
prefix, or (words of 4+ characters) with one typo, both constant-score at a fraction of the
field's boost: exact hits rank above fuzzy ones, name hits above address hits.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: loading the code location needs no tantivy
    import tantivy

#: field -> boost. Name hits rank above DBA names, city, then address.
TEXT_FIELDS: dict[str, float] = {"name": 4.0, "dba_names": 3.0, "city": 2.0, "address": 1.0}
#: A prefix or one-typo hit weighs this share of the field's boost (exact BM25 hits win).
FUZZY_WEIGHT = 0.35
#: Words at least this long may carry one typo; shorter words match exactly or as a prefix.
TYPO_MIN_LENGTH = 4
MAX_WORDS = 8
MAX_WORD_LENGTH = 40

#: Service and payment names (as in directory_assets.queries) -> the organizations column.
SERVICE_FLAGS = {
    "mat": "medication_assisted_treatment",
    "otp": "opioid_treatment_program",
}
LEVELS = ("outpatient", "residential", "inpatient")
PAYMENT_FLAGS = {
    "medicaid": "accepts_medicaid",
    "medicare": "accepts_medicare",
    "private": "accepts_private_insurance",
    "self_pay": "accepts_cash_self_payment",
    "sliding_fee": "sliding_fee_scale",
}
#: The SELECT the index is built from (DuckDB; run on the snapshot database).
SOURCE_SQL = f"""
SELECT org_id, org_type, name, dba_names,
       street, city, state, zip_code, phone, website, latitude, longitude, level_of_care,
       {", ".join(sorted({*SERVICE_FLAGS.values(), *PAYMENT_FLAGS.values()}))}
FROM directory.organizations
ORDER BY org_id
"""
STORED_TEXT = ("org_id", "org_type", "name", "street", "city", "state", "zip_code", "phone",
               "website")  # fmt: skip

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The query's words as the index's default tokenizer makes them (lowercase)."""
    return [w for w in _WORD.findall(text.lower()) if len(w) <= MAX_WORD_LENGTH][:MAX_WORDS]


def schema() -> tantivy.Schema:
    import tantivy

    builder = tantivy.SchemaBuilder()
    for field in ("org_id", "org_type", "state"):
        builder.add_text_field(field, stored=True, tokenizer_name="raw")
    for field in TEXT_FIELDS:
        builder.add_text_field(field, stored=True, tokenizer_name="default")
    for field in ("street", "zip_code", "phone", "website"):
        builder.add_text_field(field, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("services", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("payments", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_float_field("latitude", stored=True, indexed=True, fast=True)
    builder.add_float_field("longitude", stored=True, indexed=True, fast=True)
    return builder.build()


def services_of(row: Mapping[str, Any]) -> list[str]:
    found = [name for name, column in SERVICE_FLAGS.items() if row.get(column)]
    if row.get("level_of_care") in LEVELS:
        found.append(row["level_of_care"])
    return found


def payments_of(row: Mapping[str, Any]) -> list[str]:
    return [name for name, column in PAYMENT_FLAGS.items() if row.get(column)]


def build(rows: Iterable[Mapping[str, Any]], folder: Path, heap_bytes: int = 200_000_000) -> int:
    """Write a fresh index of ``rows`` (dicts with the SOURCE_SQL columns) into ``folder``."""
    import tantivy

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    index = tantivy.Index(schema(), path=str(folder))
    writer = index.writer(heap_size=heap_bytes, num_threads=1)
    count = 0
    for row in rows:
        doc = tantivy.Document()
        for field in STORED_TEXT:
            if row.get(field):
                doc.add_text(field, str(row[field]))
        for dba_name in row.get("dba_names") or ():
            doc.add_text("dba_names", str(dba_name))
        address = " ".join(str(row[c]) for c in ("street", "zip_code") if row.get(c))
        if address:
            doc.add_text("address", address)
        for service in services_of(row):
            doc.add_text("services", service)
        for payment in payments_of(row):
            doc.add_text("payments", payment)
        if row.get("latitude") is not None and row.get("longitude") is not None:
            doc.add_float("latitude", float(row["latitude"]))
            doc.add_float("longitude", float(row["longitude"]))
        writer.add_document(doc)
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


class SearchIndex:
    """An opened index folder; ``search`` is thread-safe (one reloaded searcher)."""

    def __init__(self, folder: Path) -> None:
        import tantivy

        self.folder = folder
        self.index = tantivy.Index.open(str(folder))
        self.schema = self.index.schema
        self.searcher = self.index.searcher()

    @property
    def documents(self) -> int:
        return self.searcher.num_docs

    def _word_query(self, word: str) -> tantivy.Query:
        import tantivy

        clauses = []
        distance = 1 if len(word) >= TYPO_MIN_LENGTH else 0
        for field, boost in TEXT_FIELDS.items():
            exact = tantivy.Query.term_query(self.schema, field, word)
            loose = tantivy.Query.fuzzy_term_query(
                self.schema, field, word, distance=distance, prefix=True
            )
            clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(exact, boost)))
            clauses.append(
                (tantivy.Occur.Should, tantivy.Query.boost_query(loose, boost * FUZZY_WEIGHT))
            )
        return tantivy.Query.boolean_query(clauses)

    def query(
        self,
        text: str,
        state: str | None = None,
        org_type: str | None = None,
        service: str | None = None,
        payment: str | None = None,
        box: tuple[float, float, float, float] | None = None,
    ) -> tantivy.Query | None:
        import tantivy

        terms = words(text)
        if not terms:
            return None
        must = [(tantivy.Occur.Must, self._word_query(w)) for w in terms]
        for field, value in (
            ("state", state),
            ("org_type", org_type),
            ("services", service),
            ("payments", payment),
        ):
            if value is not None:
                must.append(
                    (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, field, value))
                )
        if box is not None:
            lat_min, lat_max, lon_min, lon_max = box
            for field, low, high in (
                ("latitude", lat_min, lat_max),
                ("longitude", lon_min, lon_max),
            ):
                must.append(
                    (
                        tantivy.Occur.Must,
                        tantivy.Query.range_query(
                            self.schema, field, tantivy.FieldType.Float, low, high
                        ),
                    )
                )
        return tantivy.Query.boolean_query(must)

    def search(
        self,
        text: str,
        state: str | None = None,
        org_type: str | None = None,
        service: str | None = None,
        payment: str | None = None,
        limit: int = 25,
        box: tuple[float, float, float, float] | None = None,
        count: bool = False,
    ) -> tuple[int | None, list[dict[str, Any]]]:
        """(matching organizations when ``count``, the best ``limit`` as dicts with a ``score``).

        Counting scores every match; without it tantivy can skip blocks that cannot reach
        the top ``limit``.
        """
        query = self.query(text, state, org_type, service, payment, box)
        if query is None:
            return 0, []
        result = self.searcher.search(query, limit=limit, count=count)
        rows = []
        for score, address in result.hits:
            doc = self.searcher.doc(address).to_dict()
            row: dict[str, Any] = {f: (doc.get(f) or [None])[0] for f in STORED_TEXT}
            row["latitude"] = (doc.get("latitude") or [None])[0]
            row["longitude"] = (doc.get("longitude") or [None])[0]
            row["dba_names"] = doc.get("dba_names", [])
            row["services"] = doc.get("services", [])
            row["payments"] = doc.get("payments", [])
            row["score"] = round(float(score), 4)
            rows.append(row)
        return (int(result.count) if count else None), rows
