"""The HealthSim batch generator: deterministic synthetic patients in the Synthea CSV layout.

Patients live at real ZIP places (``resources.geography``) of real counties, so they
join to ``reference.ref_geography``; the Synthea layout writes the county NAME and the full
state name, exactly like a Synthea export, so one reader and one county lookup serve both.
Encounters use Synthea's classes, diagnoses SNOMED CT codes, and every encounter is billed
by one claim whose amount is the encounter's ``TOTAL_CLAIM_COST``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

from fhir_assets.healthsim.layout import SYNTHEA_COLUMNS
from resources.geography import ZipPlace, state_by_usps, zip_places
from resources.sample_files import atomic_output

#: States the generated population lives in (PA first: the real SVI sample is Pennsylvania).
GENERATED_STATES = ("PA", "NY", "OH", "MA", "NJ", "MD", "VA", "NC", "KY", "CA", "TX", "FL")
#: The generated history ends here (fixed, so the output never depends on the clock).
AS_OF = dt.datetime(2025, 6, 30, 12, 0, 0)
HISTORY_YEARS = 8

ENCOUNTER_CLASSES = (  # class, weight, SNOMED code, description, base cost
    ("wellness", 40, "162673000", "General examination of patient (procedure)", 136.80),
    ("ambulatory", 28, "185345009", "Encounter for symptom", 85.55),
    ("outpatient", 12, "185349003", "Encounter for check up (procedure)", 125.10),
    ("emergency", 8, "50849002", "Emergency room admission (procedure)", 146.18),
    ("inpatient", 8, "32485007", "Hospital admission (procedure)", 106.40),
    ("urgentcare", 4, "702927004", "Urgent care clinic (environment)", 142.58),
)
DIAGNOSES = (  # SNOMED CT code, description, chronic
    ("195662009", "Acute viral pharyngitis (disorder)", False),
    ("444814009", "Viral sinusitis (disorder)", False),
    ("10509002", "Acute bronchitis (disorder)", False),
    ("233604007", "Pneumonia (disorder)", False),
    ("68496003", "Polyp of colon (disorder)", False),
    ("62106007", "Concussion with no loss of consciousness (disorder)", False),
    ("44054006", "Diabetes mellitus type 2 (disorder)", True),
    ("59621000", "Essential hypertension (disorder)", True),
    ("55822004", "Hyperlipidemia (disorder)", True),
    ("84114007", "Heart failure (disorder)", True),
    ("13645005", "Chronic obstructive bronchitis (disorder)", True),
    ("22298006", "Myocardial infarction (disorder)", False),
    ("230690007", "Cerebrovascular accident (disorder)", False),
    ("5602001", "Opioid abuse (disorder)", True),
    ("7200002", "Alcoholism (disorder)", True),
    ("35489007", "Depressive disorder (disorder)", True),
    ("197480006", "Anxiety disorder (disorder)", True),
    ("431855005", "Chronic kidney disease stage 1 (disorder)", True),
)
MEDICATIONS = (  # RxNorm code, description, unit cost
    ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", 7.42),
    ("314076", "lisinopril 10 MG Oral Tablet", 7.42),
    ("316672", "Simvastatin 10 MG Oral Tablet", 9.10),
    ("313782", "Acetaminophen 325 MG Oral Tablet", 4.26),
    ("1049221", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", 11.79),
    ("1659263", "buprenorphine 2 MG / naloxone 0.5 MG Sublingual Tablet", 21.40),
    ("308136", "amLODIPine 2.5 MG Oral Tablet", 7.42),
)
PROCEDURES = (  # SNOMED CT code, description, base cost
    ("430193006", "Medication Reconciliation (procedure)", 735.40),
    ("428211000124100", "Assessment of substance use (procedure)", 516.65),
    ("710824005", "Assessment of health and social care needs (procedure)", 431.40),
    ("76601001", "Intramuscular injection (procedure)", 516.65),
    ("268556000", "Urine screening test for diabetes (procedure)", 431.40),
)
PAYERS = (  # Synthea's standard payer ids are per export; HealthSim uses its own, stable
    ("Medicare", 0.80),
    ("Medicaid", 0.95),
    ("Blue Cross Blue Shield", 0.70),
    ("Aetna", 0.65),
    ("NO_INSURANCE", 0.0),
)
VITALS = (  # LOINC code, description, units (UCUM), low, high, decimals
    ("8302-2", "Body Height", "cm", 150.0, 195.0, 1),
    ("29463-7", "Body Weight", "kg", 50.0, 120.0, 1),
    ("8867-4", "Heart rate", "/min", 55.0, 100.0, 0),
    ("8480-6", "Systolic Blood Pressure", "mm[Hg]", 100.0, 160.0, 0),
    ("8462-4", "Diastolic Blood Pressure", "mm[Hg]", 60.0, 100.0, 0),
)
LABS = (  # LOINC code, description, units (UCUM), low, high, decimals
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.8, 9.5, 1),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 150.0, 280.0, 1),
)
SMOKING = ("72166-2", "Tobacco smoking status", ("Never smoked tobacco (finding)",
           "Former smoker (finding)", "Current every day smoker (finding)"))  # fmt: skip
VACCINES = (  # CVX code, description, base cost
    ("140", "Influenza  seasonal  injectable  preservative free", 140.52),
    ("113", "Td (adult) preservative free", 140.52),
    ("121", "zoster", 140.52),
)
ALLERGENS = (  # SNOMED CT code, description, type, category, reaction code, reaction, severity
    ("111088007", "Latex (substance)", "allergy", "environment", "247472004", "Wheal (finding)", "MILD"),
    ("84489001", "Mold (organism)", "allergy", "environment", "76067001", "Sneezing", "MILD"),
    ("7980", "Penicillin V", "allergy", "medication", "271807003", "Eruption of skin (disorder)", "MODERATE"),
    ("91935009", "Allergy to peanut", "allergy", "food", "39579001", "Anaphylaxis (disorder)", "SEVERE"),
)  # fmt: skip
SPECIALITIES = ("GENERAL PRACTICE", "INTERNAL MEDICINE", "FAMILY MEDICINE", "EMERGENCY MEDICINE")
FIRST_NAMES = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
               "David", "Maria", "Jose", "Aisha", "Wei", "Fatima", "Kevin", "Ana", "Luis",
               "Emily", "Daniel", "Grace")  # fmt: skip
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
              "Rodriguez", "Martinez", "Nguyen", "Kim", "Patel", "Okafor", "Schmidt",
              "Kowalski", "Murphy", "Rossi", "Cohen", "Lee")  # fmt: skip


@dataclasses.dataclass
class _Tables:
    """Rows of each Synthea file, as dicts keyed by the Synthea header."""

    rows: dict[str, list[dict[str, object]]] = dataclasses.field(
        default_factory=lambda: {name: [] for name in SYNTHEA_COLUMNS}
    )

    def add(self, entity: str, **values: object) -> None:
        self.rows[entity].append(values)


class StableIds:
    """Deterministic UUIDs: uuid5 of the seed-specific namespace and a readable name."""

    def __init__(self, seed: int) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"healthsim://generator/{seed}")

    def __call__(self, *parts: object) -> str:
        return str(uuid.uuid5(self.namespace, "/".join(str(p) for p in parts)))


def _timestamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _places(rng: random.Random) -> list[ZipPlace]:
    wanted = set(GENERATED_STATES)
    return [p for p in zip_places() if p.state in wanted and p.county_fips and p.county_name]


def generate_tables(patients: int, seed: int) -> dict[str, list[dict[str, object]]]:
    """All HealthSim tables for ``patients`` patients; same arguments, same rows."""
    rng = random.Random(seed)
    ids = StableIds(seed)
    tables = _Tables()
    places = _places(rng)
    states = state_by_usps()
    payer_ids = {name: ids("payer", name) for name, _ in PAYERS}

    # Facilities: about one per 25 patients, at real ZIP places of the same states.
    org_places = [rng.choice(places) for _ in range(max(3, patients // 25))]
    orgs_by_state: dict[str, list[tuple[str, ZipPlace]]] = {}
    for index, place in enumerate(org_places):
        org_id = ids("organization", index)
        kind = rng.choice(("GENERAL HOSPITAL", "MEDICAL CENTER", "COMMUNITY HEALTH CENTER"))
        tables.add(
            "organizations", Id=org_id, NAME=f"{place.city.upper()} {kind}",
            ADDRESS=f"{rng.randint(10, 999)} MAIN STREET", CITY=place.city.upper(),
            STATE=place.state, ZIP=place.zip_code, LAT=f"{place.latitude:.6f}",
            LON=f"{place.longitude:.6f}", PHONE=f"555{rng.randint(1000000, 9999999)}",
            REVENUE="0.0", UTILIZATION=str(rng.randint(1, 500)),
        )  # fmt: skip
        orgs_by_state.setdefault(place.state, []).append((org_id, place))

    class_weights = [c[1] for c in ENCOUNTER_CLASSES]
    for p in range(patients):
        place = rng.choice(places)
        if place.state not in orgs_by_state:
            place = org_places[p % len(org_places)]
        patient_id = ids("patient", p)
        birth = AS_OF - dt.timedelta(days=rng.randint(0, 92 * 365))
        gender = rng.choice("MF")
        payer_name, coverage = rng.choice(PAYERS)
        home_orgs = orgs_by_state[place.state]
        chronic = [d for d in DIAGNOSES if d[2] and rng.random() < 0.12]
        start = max(birth, AS_OF - dt.timedelta(days=365 * HISTORY_YEARS))
        moments = sorted(
            start + dt.timedelta(seconds=rng.randint(0, int((AS_OF - start).total_seconds())))
            for _ in range(rng.randint(2, 18))
        )
        death: dt.datetime | None = None
        expenses = 0.0
        e = 0
        queue = list(moments)
        while queue:
            begin = queue.pop(0)
            if begin >= AS_OF or (death and begin >= death):
                continue
            cls, _, code, description, base = rng.choices(ENCOUNTER_CLASSES, class_weights)[0]
            if cls == "inpatient":
                stop = begin + dt.timedelta(days=rng.randint(1, 9), hours=rng.randint(0, 20))
                if rng.random() < 0.18:  # a readmission within 30 days of discharge
                    queue.insert(0, stop + dt.timedelta(days=rng.randint(2, 28)))
                    queue.sort()
                if death is None and rng.random() < 0.06:
                    death = stop + dt.timedelta(days=rng.randint(0, 25))
            elif cls == "emergency":
                stop = begin + dt.timedelta(hours=rng.randint(2, 12))
            else:
                stop = begin + dt.timedelta(minutes=rng.choice((15, 30, 45)))
            encounter_id = ids("encounter", p, e)
            org_id, _ = rng.choice(home_orgs)
            diagnoses = [] if cls == "wellness" else [rng.choice(DIAGNOSES)]
            if chronic and cls != "wellness":
                diagnoses.append(rng.choice(chronic))
            total = round(base * rng.uniform(3, 40) * (6 if cls == "inpatient" else 1), 2)
            paid_by_payer = round(total * coverage, 2)
            reason = diagnoses[0] if diagnoses else None
            tables.add(
                "encounters", Id=encounter_id, START=_timestamp(begin), STOP=_timestamp(stop),
                PATIENT=patient_id, ORGANIZATION=org_id, PROVIDER=ids("provider", org_id),
                PAYER=payer_ids[payer_name], ENCOUNTERCLASS=cls, CODE=code,
                DESCRIPTION=description, BASE_ENCOUNTER_COST=f"{base:.2f}",
                TOTAL_CLAIM_COST=f"{total:.2f}", PAYER_COVERAGE=f"{paid_by_payer:.2f}",
                REASONCODE=reason[0] if reason else "",
                REASONDESCRIPTION=reason[1] if reason else "",
            )  # fmt: skip
            for code_, desc_, is_chronic in dict.fromkeys(diagnoses):
                resolved = (
                    ""
                    if is_chronic
                    else (begin + dt.timedelta(days=rng.randint(5, 30))).date().isoformat()
                )
                tables.add(
                    "conditions", START=begin.date().isoformat(), STOP=resolved,
                    PATIENT=patient_id, ENCOUNTER=encounter_id, CODE=code_, DESCRIPTION=desc_,
                )  # fmt: skip
            outstanding = round(total - paid_by_payer, 2) if rng.random() < 0.1 else 0.0
            status = "BILLED" if outstanding else "CLOSED"
            codes = [d[0] for d in dict.fromkeys(diagnoses)] or [code]
            tables.add(
                "claims", Id=ids("claim", p, e), PATIENTID=patient_id,
                PROVIDERID=ids("provider", org_id), PRIMARYPATIENTINSURANCEID=payer_ids[payer_name],
                SECONDARYPATIENTINSURANCEID="0", DEPARTMENTID="1", PATIENTDEPARTMENTID="1",
                **{f"DIAGNOSIS{i + 1}": (codes[i] if i < len(codes) else "") for i in range(8)},
                REFERRINGPROVIDERID="", APPOINTMENTID=encounter_id,
                CURRENTILLNESSDATE=_timestamp(begin), SERVICEDATE=_timestamp(begin),
                SUPERVISINGPROVIDERID=ids("provider", org_id), STATUS1=status, STATUS2="",
                STATUSP=status, OUTSTANDING1="0", OUTSTANDING2="",
                OUTSTANDINGP=f"{outstanding:.2f}", LASTBILLEDDATE1=_timestamp(stop),
                LASTBILLEDDATE2="", LASTBILLEDDATEP=_timestamp(stop),
                HEALTHCARECLAIMTYPEID1="2" if cls == "inpatient" else "1", HEALTHCARECLAIMTYPEID2="0",
            )  # fmt: skip
            if diagnoses and rng.random() < 0.35:
                med_code, med_desc, unit = rng.choice(MEDICATIONS)
                dispenses = rng.randint(1, 12)
                tables.add(
                    "medications", START=_timestamp(begin), STOP="", PATIENT=patient_id,
                    PAYER=payer_ids[payer_name], ENCOUNTER=encounter_id, CODE=med_code,
                    DESCRIPTION=med_desc, BASE_COST=f"{unit:.2f}",
                    PAYER_COVERAGE=f"{unit * dispenses * coverage:.2f}", DISPENSES=str(dispenses),
                    TOTALCOST=f"{unit * dispenses:.2f}", REASONCODE=diagnoses[0][0],
                    REASONDESCRIPTION=diagnoses[0][1],
                )  # fmt: skip
            if cls in ("inpatient", "outpatient", "emergency") and rng.random() < 0.5:
                proc_code, proc_desc, proc_cost = rng.choice(PROCEDURES)
                tables.add(
                    "procedures", START=_timestamp(begin), STOP=_timestamp(stop),
                    PATIENT=patient_id, ENCOUNTER=encounter_id, CODE=proc_code,
                    DESCRIPTION=proc_desc, BASE_COST=f"{proc_cost:.2f}",
                    REASONCODE="", REASONDESCRIPTION="",
                )  # fmt: skip
            expenses += total
            e += 1
        tables.add(
            "patients", Id=patient_id, BIRTHDATE=birth.date().isoformat(),
            DEATHDATE=death.date().isoformat() if death else "", SSN=f"999-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
            DRIVERS="", PASSPORT="", PREFIX="", FIRST=f"{rng.choice(FIRST_NAMES)}{rng.randint(1, 999)}",
            LAST=f"{rng.choice(LAST_NAMES)}{rng.randint(1, 999)}", SUFFIX="", MAIDEN="", MARITAL=rng.choice("MS"),
            RACE=rng.choice(("white", "black", "asian", "native", "other")),
            ETHNICITY=rng.choice(("nonhispanic", "hispanic")), GENDER=gender,
            BIRTHPLACE=f"{place.city}  {states[place.state].name}  US",
            ADDRESS=f"{rng.randint(1, 9999)} {rng.choice(LAST_NAMES)} Street",
            CITY=place.city, STATE=states[place.state].name, COUNTY=place.county_name,
            ZIP=place.zip_code if rng.random() < 0.8 else "",  # Synthea leaves some ZIPs empty
            LAT=f"{place.latitude + rng.uniform(-0.02, 0.02):.6f}",
            LON=f"{place.longitude + rng.uniform(-0.02, 0.02):.6f}",
            HEALTHCARE_EXPENSES=f"{expenses:.2f}", HEALTHCARE_COVERAGE="0.00",
        )  # fmt: skip
    _add_care_records(tables, ids, seed)
    return tables.rows


def _add_care_records(tables: _Tables, ids: StableIds, seed: int) -> None:
    """Providers, payers, observations, immunizations and allergies of the generated history.

    A random stream of their own, so adding them leaves every other table as it was.
    """
    rng = random.Random(f"healthsim-care-records/{seed}")
    for org in tables.rows["organizations"]:
        tables.add(
            "providers", Id=ids("provider", org["Id"]), ORGANIZATION=org["Id"],
            NAME=f"{rng.choice(FIRST_NAMES)}{rng.randint(1, 999)} {rng.choice(LAST_NAMES)}{rng.randint(1, 999)}",
            GENDER=rng.choice("MF"), SPECIALITY=rng.choice(SPECIALITIES), ADDRESS=org["ADDRESS"],
            CITY=org["CITY"], STATE=org["STATE"], ZIP=org["ZIP"], LAT=org["LAT"], LON=org["LON"],
            UTILIZATION=org["UTILIZATION"],
        )  # fmt: skip
    for name, coverage in PAYERS:
        tables.add(
            "payers", Id=ids("payer", name), NAME=name, ADDRESS="7500 Security Blvd",
            CITY="Baltimore", STATE_HEADQUARTERED="MD", ZIP="21244", PHONE="1-800-633-4227",
            AMOUNT_COVERED="0.00", AMOUNT_UNCOVERED="0.00", REVENUE="0.00",
            COVERED_ENCOUNTERS="0", UNCOVERED_ENCOUNTERS="0", COVERED_MEDICATIONS="0",
            UNCOVERED_MEDICATIONS="0", COVERED_PROCEDURES="0", UNCOVERED_PROCEDURES="0",
            COVERED_IMMUNIZATIONS="0", UNCOVERED_IMMUNIZATIONS="0", UNIQUE_CUSTOMERS="0",
            QOLS_AVG=f"{coverage:.2f}", MEMBER_MONTHS="0",
        )  # fmt: skip
    allergic = set()
    for encounter in tables.rows["encounters"]:
        patient, encounter_id, date = encounter["PATIENT"], encounter["Id"], encounter["START"]
        if encounter["ENCOUNTERCLASS"] in ("wellness", "outpatient", "inpatient"):
            for code, description, units, low, high, decimals in VITALS:
                value = round(rng.uniform(low, high), int(decimals))
                tables.add(
                    "observations", DATE=date, PATIENT=patient, ENCOUNTER=encounter_id,
                    CATEGORY="vital-signs", CODE=code, DESCRIPTION=description,
                    VALUE=f"{value:.{int(decimals)}f}", UNITS=units, TYPE="numeric",
                )  # fmt: skip
        if encounter["ENCOUNTERCLASS"] == "wellness":
            code, description, answers = SMOKING
            tables.add(
                "observations", DATE=date, PATIENT=patient, ENCOUNTER=encounter_id,
                CATEGORY="survey", CODE=code, DESCRIPTION=description,
                VALUE=rng.choice(answers), UNITS="", TYPE="text",
            )  # fmt: skip
            if rng.random() < 0.6:
                vaccine, vaccine_name, cost = rng.choice(VACCINES)
                tables.add(
                    "immunizations", DATE=date, PATIENT=patient, ENCOUNTER=encounter_id,
                    CODE=vaccine, DESCRIPTION=vaccine_name, BASE_COST=f"{cost:.2f}",
                )  # fmt: skip
            if patient not in allergic and rng.random() < 0.15:
                allergic.add(patient)
                code, description, kind, category, reaction, reaction_name, severity = rng.choice(
                    ALLERGENS
                )
                tables.add(
                    "allergies", START=date[:10], STOP="", PATIENT=patient, ENCOUNTER=encounter_id,
                    CODE=code, SYSTEM="RxNorm" if category == "medication" else "SNOMED-CT",
                    DESCRIPTION=description, TYPE=kind, CATEGORY=category, REACTION1=reaction,
                    DESCRIPTION1=reaction_name, SEVERITY1=severity, REACTION2="",
                    DESCRIPTION2="", SEVERITY2="",
                )  # fmt: skip
        if encounter["ENCOUNTERCLASS"] == "outpatient" and rng.random() < 0.5:
            code, description, units, low, high, decimals = rng.choice(LABS)
            value = round(rng.uniform(low, high), int(decimals))
            tables.add(
                "observations", DATE=date, PATIENT=patient, ENCOUNTER=encounter_id,
                CATEGORY="laboratory", CODE=code, DESCRIPTION=description,
                VALUE=f"{value:.{int(decimals)}f}", UNITS=units, TYPE="numeric",
            )  # fmt: skip


def _rows_as_text(entity: str, rows: list[dict[str, object]]) -> Iterator[list[str]]:
    columns = SYNTHEA_COLUMNS[entity]
    for row in rows:
        yield ["" if row.get(c) is None else str(row.get(c)) for c in columns]


def write_tables(folder: Path, tables: dict[str, list[dict[str, object]]]) -> list[Path]:
    """Write each table as ``<folder>/<entity>.csv`` in the Synthea layout, atomically."""
    written = []
    for entity, rows in tables.items():
        path = folder / f"{entity}.csv"
        with atomic_output(path, newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(SYNTHEA_COLUMNS[entity])
            writer.writerows(_rows_as_text(entity, rows))
        written.append(path)
    return written
