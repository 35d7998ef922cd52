"""Sample sources for the recovery-services directory: the four JSON extraction outputs.

The default scale reproduces the real directory's counts exactly (40,296 treatment
centers = 33,505 outpatient + 4,946 residential + 1,845 inpatient; 404 NARR residences;
207 recovery community centers; 184 recovery community organizations = 41,091 records),
placed at real ZIP places (``zipcodes``, MIT) and spread over the states like the real
directory (its top ten states exactly, the rest in proportion to their ZIP places).

Realistic dirt, on purpose (rates per record, deterministic for a seed):

- state as a full name (3%) or lowercase (3%); a junk state value (0.1%, quarantined);
- ZIP+4 (10%); 4-digit ZIPs where a leading zero was lost (30% of ZIPs starting with 0);
- missing coordinates (2% of treatment centers; the other sources have none);
- NARR addresses with missing parts (no street 15%, no ZIP 10%, no city 5%);
- duplicates across sources: 20 NARR records repeat a residential treatment center,
  12 RCO records repeat a recovery community center (same name and address);
- NARR capacity as "12 beds", "12", "about 8" or empty;
- stray whitespace around names and cities (5%);
- malformed records (quarantined): a missing or empty name (0.1%), wrong types (0.1%:
  latitude as text, a list field as a string, a flag as "yes", a record that is not an
  object).

A source with more than ``PART_SIZE`` records is split into numbered part files
``<name>.part-0001.json``, ``<name>.part-0002.json``, ... each holding the same top-level
object with a slice of the array; the reader accepts a single file or parts. Records are
written one at a time (streamed), never held in memory all at once.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resources.geography import ZipPlace, state_by_usps, zip_places
from resources.sample_files import SampleDataRequest, atomic_output

SOURCE_DIR = "directory"
PART_SIZE = 50_000

REAL_COUNTS = {
    "outpatient": 33_505,
    "residential": 4_946,
    "inpatient": 1_845,
    "narr": 404,
    "rcc": 207,
    "rco": 184,
}
TOP_STATES = {
    "CA": 4_967,
    "NY": 2_554,
    "FL": 2_014,
    "TX": 1_916,
    "IL": 1_581,
    "OH": 1_472,
    "PA": 1_376,
    "NC": 1_355,
    "KY": 1_195,
    "AZ": 1_167,
}
REAL_TOTAL = sum(REAL_COUNTS.values())  # 41,091
NARR_DUPLICATES = 20
RCO_DUPLICATES = 12


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """One of the four JSON sources: its file stem and the top-level array key."""

    stem: str
    array_key: str


TREATMENT = SourceFile("treatment_centers_master", "all_facilities")
NARR = SourceFile("master_directory", "all_organizations")
RCC = SourceFile("recovery_community_centers_master", "all_centers")
RCO = SourceFile("recovery_community_organizations_master", "all_organizations")
SOURCES = (TREATMENT, NARR, RCC, RCO)

_STREETS = (
    "Main",
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Washington",
    "Lincoln",
    "Park",
    "Lake",
    "Hill",
    "Church",
    "Market",
    "Broad",
    "Center",
    "Union",
    "River",
    "Spring",
    "Highland",
    "Jefferson",
    "Franklin",
    "Madison",
    "Walnut",
    "Chestnut",
    "Sunset",
    "Valley",
    "Ridge",
)
_STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Way", "Pkwy")
_NAME_CORES = (
    "New Hope",
    "Serenity",
    "Pathways",
    "Bridges",
    "New Beginnings",
    "Harbor",
    "Cornerstone",
    "Horizon",
    "Lighthouse",
    "Turning Point",
    "Phoenix",
    "Renewal",
    "Gateway",
    "Compass",
    "Crossroads",
    "Summit",
    "Clear Path",
    "First Step",
    "Hope House",
    "Recovery Works",
    "Steps",
    "Oasis",
    "Evergreen",
    "Anchor",
    "Beacon",
    "Journey",
    "Haven",
    "Unity",
)
_TREATMENT_KINDS = (
    "Behavioral Health",
    "Counseling Services",
    "Treatment Center",
    "Recovery Center",
    "Addiction Services",
    "Wellness Clinic",
    "Substance Use Services",
    "Health Services",
)
_ACCREDITATIONS = ("CARF", "Joint Commission", "COA", "NCQA")
_SPECIALIZATIONS = ("women", "men", "veterans", "LGBTQ+", "reentry", "MAT-friendly", "young adults")
_RCC_SERVICES = (
    "peer recovery coaching",
    "all-recovery meetings",
    "employment support",
    "housing navigation",
    "naloxone distribution",
    "family support",
    "recovery education",
    "telephone recovery support",
)
_FUNDING = ("SAMHSA grant", "state block grant", "private donations", "Medicaid billing", "county")
_POPULATIONS = ("adults", "youth", "families", "veterans", "justice-involved", "LGBTQ+")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def scaled_counts(scale: float) -> dict[str, int]:
    """Records per kind at ``scale`` (exactly the real counts at 1.0)."""
    return {kind: max(1, round(n * scale)) for kind, n in REAL_COUNTS.items()}


def state_quotas(total: int) -> dict[str, int]:
    """Organizations per state for ``total`` records (largest-remainder rounding).

    The real top ten states keep their share; the rest share the remainder in proportion
    to their ZIP places (a population proxy shipped with ``zipcodes``).
    """
    places_per_state = collections.Counter(p.state for p in zip_places())
    rest = {s: n for s, n in places_per_state.items() if s not in TOP_STATES}
    rest_total = REAL_TOTAL - sum(TOP_STATES.values())
    weights = {s: n * total / REAL_TOTAL for s, n in TOP_STATES.items()}
    rest_places = sum(rest.values())
    weights.update({s: n * rest_total / rest_places * total / REAL_TOTAL for s, n in rest.items()})
    quotas = {s: int(w) for s, w in weights.items()}
    shortfall = total - sum(quotas.values())
    for state in sorted(weights, key=lambda s: (-(weights[s] - quotas[s]), s))[:shortfall]:
        quotas[state] += 1
    return quotas


def _json_files(folder: Path, stem: str) -> list[Path]:
    return sorted([*folder.glob(f"{stem}.json"), *folder.glob(f"{stem}.part-*.json")])


def write_source(
    folder: Path, source: SourceFile, records: Iterator[Any], count: int
) -> list[Path]:
    """Stream ``count`` records into one file, or numbered parts beyond ``PART_SIZE``."""
    for stale in _json_files(folder, source.stem):
        stale.unlink()
    parts = max(1, -(-count // PART_SIZE))
    written = []
    for part in range(parts):
        name = f"{source.stem}.json" if parts == 1 else f"{source.stem}.part-{part + 1:04d}.json"
        path = folder / name
        size = min(PART_SIZE, count - part * PART_SIZE)
        with atomic_output(path, encoding="utf-8") as handle:
            handle.write(f'{{"{source.array_key}": [\n')
            for i in range(size):
                if i:
                    handle.write(",\n")
                handle.write(json.dumps(next(records), separators=(",", ":")))
            handle.write("\n]}\n")
        written.append(path)
    return written


class DirectoryGenerator:
    """Deterministic records for one seed and scale."""

    def __init__(self, request: SampleDataRequest) -> None:
        self.rng = random.Random(request.seed)
        self.counts = scaled_counts(request.scale)
        places: dict[str, list[ZipPlace]] = collections.defaultdict(list)
        for place in zip_places():
            places[place.state].append(place)
        self.places = places
        self.state_names = {s.usps: s.name for s in state_by_usps().values()}
        slots = [
            state
            for state, n in sorted(state_quotas(sum(self.counts.values())).items())
            for _ in range(n)
        ]
        self.rng.shuffle(slots)
        self.slots = iter(slots)
        self.residential_sample: list[dict[str, Any]] = []
        self.rcc_sample: list[dict[str, Any]] = []

    # -- dirt helpers -------------------------------------------------------------------
    def place(self) -> ZipPlace:
        return self.rng.choice(self.places[next(self.slots)])

    def dirty_state(self, usps: str) -> str:
        roll = self.rng.random()
        if roll < 0.03:
            return self.state_names[usps]
        if roll < 0.06:
            return usps.lower()
        if roll < 0.061:
            return self.rng.choice(("N/A", "Unknown", "XX", "--"))
        return usps

    def dirty_zip(self, zip_code: str) -> str:
        if zip_code.startswith("0") and self.rng.random() < 0.3:
            return zip_code[1:]
        if self.rng.random() < 0.10:
            return f"{zip_code}-{self.rng.randint(1, 9999):04d}"
        return zip_code

    def spaced(self, text: str) -> str:
        return f"  {text} " if self.rng.random() < 0.05 else text

    def street(self) -> str:
        r = self.rng
        return f"{r.randint(1, 9999)} {r.choice(_STREETS)} {r.choice(_STREET_KINDS)}"

    def phone(self) -> str:
        r = self.rng
        return f"({r.randint(201, 989)}) {r.randint(200, 999)}-{r.randint(0, 9999):04d}"

    def contact(self, name: str) -> dict[str, str | None]:
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        r = self.rng
        return {
            "phone": self.phone() if r.random() < 0.95 else None,
            "website": f"https://www.{slug}.org" if r.random() < 0.7 else None,
            "email": f"info@{slug}.org" if r.random() < 0.5 else None,
        }

    def malform(
        self, record: dict[str, Any], name_field: str, list_field: str, number_field: str
    ) -> Any:
        """Turn ~0.2% of records into malformed ones (missing name or a wrong type)."""
        roll = self.rng.random()
        if roll < 0.001:
            record[name_field] = self.rng.choice((None, "", "   "))
        elif roll < 0.0013:
            record[list_field] = "not, a, list"
        elif roll < 0.0016:
            record[number_field] = "not available"
        elif roll < 0.0019:
            flag = next((k for k, v in record.items() if isinstance(v, bool)), None)
            if flag:
                record[flag] = "yes"
        elif roll < 0.002:
            return [record.get(name_field)]
        return record

    # -- sources ------------------------------------------------------------------------
    def treatment_centers(self) -> Iterator[Any]:
        kinds = [
            (level, self.counts[level]) for level in ("outpatient", "residential", "inpatient")
        ]
        for level, count in kinds:
            for _ in range(count):
                yield self.treatment_center(level)

    def treatment_center(self, level: str) -> Any:
        r = self.rng
        p = self.place()
        name = f"{r.choice(_NAME_CORES)} {r.choice(_TREATMENT_KINDS)} of {p.city.title()}"
        outpatient = level == "outpatient"
        mat = r.random() < (0.35 if outpatient else 0.25)
        has_coords = r.random() >= 0.02
        record: dict[str, Any] = {
            "facility_name": self.spaced(name),
            "dba_names": [f"{name.split(' of ')[0]}"] if r.random() < 0.3 else [],
            "address_line1": self.street(),
            "address_line2": f"Suite {r.randint(100, 499)}" if r.random() < 0.2 else None,
            "city": self.spaced(p.city.title()),
            "state": self.dirty_state(p.state),
            "zip_code": self.dirty_zip(p.zip_code),
            "county": p.county_name or None,
            "latitude": round(p.latitude + r.uniform(-0.01, 0.01), 6) if has_coords else None,
            "longitude": round(p.longitude + r.uniform(-0.01, 0.01), 6) if has_coords else None,
            **self.contact(name),
            "fax": self.phone() if r.random() < 0.4 else None,
            "data_source": "SAMHSA FindTreatment",
            "extraction_date": "2025-06-01",
            "last_updated": f"2025-{r.randint(1, 5):02d}-{r.randint(1, 28):02d}",
            "license_numbers": [f"{p.state}-{r.randint(10000, 99999)}"],
            "state_license": r.random() < 0.92,
            "federal_certification": "SAMHSA OTP" if mat and r.random() < 0.3 else None,
            "accreditations": r.sample(_ACCREDITATIONS, k=r.choice((0, 0, 1, 1, 2))),
            "level_of_care": level,
            "standard_outpatient": outpatient or r.random() < 0.2,
            "intensive_outpatient": r.random() < (0.45 if outpatient else 0.15),
            "partial_hospitalization": r.random() < 0.12,
            "medication_assisted_treatment": mat,
            "opioid_treatment_program": mat and r.random() < 0.3,
            "individual_therapy": r.random() < 0.9,
            "group_therapy": r.random() < 0.85,
            "family_therapy": r.random() < 0.55,
            "cognitive_behavioral_therapy": r.random() < 0.8,
            "serves_adolescents": r.random() < 0.3,
            "serves_adults": r.random() < 0.97,
            "serves_seniors": r.random() < 0.6,
            "minimum_age": r.choice((12, 13, 18, 18, 18, 21)),
            "maximum_age": r.choice((None, None, 64, 99)),
            "accepts_medicaid": r.random() < (0.78 if outpatient else 0.55),
            "accepts_medicare": r.random() < 0.4,
            "accepts_private_insurance": r.random() < 0.75,
            "accepts_cash_self_payment": r.random() < 0.92,
            "sliding_fee_scale": r.random() < 0.45,
            "outpatient_capacity": r.randint(20, 400) if outpatient else None,
            "residential_capacity": r.randint(8, 120) if level == "residential" else None,
            "inpatient_capacity": r.randint(10, 80) if level == "inpatient" else None,
            "current_outpatient_census": r.randint(5, 300) if outpatient else None,
            "quality_score": round(r.uniform(2.0, 5.0), 1),
            "last_inspection_date": f"202{r.randint(2, 5)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            "accreditation_status": r.choice(("accredited", "accredited", "pending", "none")),
        }
        if r.random() < 0.02:
            record["id"] = f"TC{r.randint(1, 10**9):09d}"
        if level == "residential" and len(self.residential_sample) < NARR_DUPLICATES * 4:
            self.residential_sample.append(
                {"name": name, "street": record["address_line1"], "place": p}
            )
        return self.malform(record, "facility_name", "dba_names", "latitude")

    def narr_residences(self) -> Iterator[Any]:
        r = self.rng
        count = self.counts["narr"]
        duplicates = min(NARR_DUPLICATES, max(1, count // 10), len(self.residential_sample))
        for i in range(count):
            if i < duplicates:
                yield self.narr_duplicate(
                    self.residential_sample[i * 4 % len(self.residential_sample)]
                )
                continue
            p = self.place()
            name = f"{r.choice(_NAME_CORES)} Recovery Residence {r.randint(1, 99)}"
            yield self.malform(
                self.narr_record(name, p, self.street()), "name", "specializations", "capacity"
            )

    def narr_duplicate(self, facility: dict[str, Any]) -> dict[str, Any]:
        """A NARR record for a residence that is also listed as a treatment center."""
        p: ZipPlace = facility["place"]
        record = self.narr_record(facility["name"], None, None)
        record.update(
            address=f"{facility['street']}, {p.city.title()}, {p.state} {p.zip_code}", state=p.state
        )
        return record

    def narr_record(self, name: str, p: ZipPlace | None, street: str | None) -> dict[str, Any]:
        r = self.rng
        address = ""
        if p is not None:
            parts = []
            if r.random() >= 0.15:
                parts.append(street)
            if r.random() >= 0.05:
                parts.append(p.city.title())
            tail = p.state if r.random() < 0.10 else f"{p.state} {self.dirty_zip(p.zip_code)}"
            address = ", ".join([*parts, tail])
        capacity = r.randint(4, 40)
        return {
            "name": self.spaced(name),
            "address": address,
            "state": self.dirty_state(p.state) if p else "",
            **self.contact(name),
            "certification_level": r.choice(
                (
                    "Level I peer-run",
                    "Level II monitored",
                    "Level III supervised",
                    "Level IV service provider",
                )
            ),
            "capacity": r.choice((f"{capacity} beds", str(capacity), f"about {capacity}", "")),
            "affiliate_website": "https://narronline.org/affiliate-services/",
            "specializations": r.sample(_SPECIALIZATIONS, k=r.randint(0, 2)),
            "gender_specific": r.choice(("men", "women", None, None)),
            "data_source": "NARR affiliate directory",
            "last_update": f"2025-{r.randint(1, 5):02d}-{r.randint(1, 28):02d}",
        }

    def community(
        self, kind: str, count: int, duplicates_of: list[dict[str, Any]]
    ) -> Iterator[Any]:
        r = self.rng
        label = "Recovery Community Center" if kind == "rcc" else "Recovery Community Organization"
        for i in range(count):
            if i < len(duplicates_of):
                yield dict(duplicates_of[i])
                continue
            p = self.place()
            name = f"{r.choice(_NAME_CORES)} {label} of {p.city.title()}"
            full = r.random() < 0.3
            street = (
                self.street()
                if kind == "rcc" or r.random() < 0.5
                else f"PO Box {r.randint(1, 9999)}"
            )
            address = (
                f"{street}, {p.city.title()}, {p.state} {self.dirty_zip(p.zip_code)}"
                if full
                else street
            )
            hours: Any = {d: "9am-5pm" for d in _DAYS[:5]} if r.random() < 0.7 else "by appointment"
            record = {
                "organization_name": self.spaced(name),
                "trade_names": [name.split(" of ")[0]] if r.random() < 0.2 else [],
                "address": address,
                "city": self.spaced(p.city.title()),
                "state": self.dirty_state(p.state),
                **self.contact(name),
                "certification_status": r.choice(("certified", "pending", "not certified")),
                "services": r.sample(_RCC_SERVICES, k=r.randint(1, 5)),
                "funding_sources": r.sample(_FUNDING, k=r.randint(1, 3)),
                "annual_reach": r.choice(
                    (f"{r.randint(1, 40) * 100:,}+", str(r.randint(50, 5000)), "")
                ),
                "target_populations": r.sample(_POPULATIONS, k=r.randint(1, 3)),
                "operating_hours": hours,
                "leadership": f"Executive Director {r.choice(('A.', 'J.', 'M.', 'R.'))} {r.choice(_STREETS)}",
                "social_media": {
                    "facebook": f"https://facebook.com/{name.split()[0].lower()}",
                    "twitter": None,
                },
            }
            if kind == "rcc" and len(self.rcc_sample) < RCO_DUPLICATES:
                self.rcc_sample.append(json.loads(json.dumps(record)))
            yield self.malform(record, "organization_name", "services", "trade_names")


def write_directory(request: SampleDataRequest) -> list[Path]:
    """Write the four directory sources into ``<out>/directory/``."""
    folder = request.out / SOURCE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    gen = DirectoryGenerator(request)
    counts = gen.counts
    treatment_total = counts["outpatient"] + counts["residential"] + counts["inpatient"]
    written = write_source(folder, TREATMENT, gen.treatment_centers(), treatment_total)
    written += write_source(folder, NARR, gen.narr_residences(), counts["narr"])
    written += write_source(folder, RCC, gen.community("rcc", counts["rcc"], []), counts["rcc"])
    rco_dups = gen.rcc_sample[: min(RCO_DUPLICATES, max(1, counts["rco"] // 10))]
    written += write_source(
        folder, RCO, gen.community("rco", counts["rco"], rco_dups), counts["rco"]
    )
    return written
