"""The directory's sample sources: real counts at the default scale, deterministic, dirty."""

import collections
import hashlib
import json

import pytest

from directory_assets import sample


def _load(path):
    return json.loads(path.read_text())


@pytest.mark.slow  # generates the full default-scale directory
def test_default_scale_reproduces_the_real_directory(landing_dir, sample_sources):
    written = sample_sources("directory")["directory"]
    names = sorted(p.name for p in written)
    assert names == [
        "master_directory.json",
        "recovery_community_centers_master.json",
        "recovery_community_organizations_master.json",
        "treatment_centers_master.json",
    ]
    folder = landing_dir / "directory"
    facilities = _load(folder / "treatment_centers_master.json")["all_facilities"]
    narr = _load(folder / "master_directory.json")["all_organizations"]
    rcc = _load(folder / "recovery_community_centers_master.json")["all_centers"]
    rco = _load(folder / "recovery_community_organizations_master.json")["all_organizations"]
    assert (len(facilities), len(narr), len(rcc), len(rco)) == (40_296, 404, 207, 184)
    assert len(facilities) + len(narr) + len(rcc) + len(rco) == 41_091
    levels = collections.Counter(f.get("level_of_care") for f in facilities if isinstance(f, dict))
    malformed_levels = 40_296 - sum(levels.values())
    assert abs(levels["outpatient"] - 33_505) <= malformed_levels + 5
    assert (
        levels["outpatient"] + levels["residential"] + levels["inpatient"] + malformed_levels
        == 40_296
    )

    # The real top states lead, in the real order, close to the real counts.
    states = collections.Counter(
        str(f.get("state", "")).strip().upper()
        for f in [*facilities, *narr, *rcc, *rco]
        if isinstance(f, dict) and len(str(f.get("state", "")).strip()) == 2
    )
    top = [s for s, _ in states.most_common(5)]
    assert top == ["CA", "NY", "FL", "TX", "IL"]
    assert 4_967 * 0.9 < states["CA"] < 4_967 * 1.02  # some CA rows carry the full name

    # The dirt is there on purpose.
    raw_states = [f.get("state") for f in facilities if isinstance(f, dict)]
    assert "California" in raw_states and "ca" in raw_states
    zips = [str(f.get("zip_code")) for f in facilities if isinstance(f, dict)]
    assert any("-" in z for z in zips) and any(len(z) == 4 for z in zips)
    assert any(f.get("latitude") is None for f in facilities if isinstance(f, dict))
    assert any(not isinstance(f, dict) for f in facilities)
    assert any(
        isinstance(f, dict) and not (f.get("facility_name") or "").strip() for f in facilities
    )
    assert any(n["capacity"].endswith("beds") for n in narr if isinstance(n, dict))
    assert any(isinstance(n, dict) and n["address"].count(",") < 2 for n in narr)
    # Duplicates across sources: NARR records that repeat a treatment center's name.
    facility_names = {
        f["facility_name"].strip()
        for f in facilities
        if isinstance(f, dict) and f.get("facility_name")
    }
    assert sum(1 for n in narr if isinstance(n, dict) and n["name"].strip() in facility_names) >= 20


def test_deterministic_for_a_seed_and_scaled(tmp_path):
    from narr_platform.sample_data import SampleDataRequest

    def digest(out, seed):
        files = sample.write_directory(SampleDataRequest(out=out, seed=seed, scale=0.01))
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    first = digest(tmp_path / "a", 7)
    assert first == digest(tmp_path / "b", 7)
    assert first != digest(tmp_path / "c", 8)
    facilities = _load(tmp_path / "a" / "directory" / "treatment_centers_master.json")
    assert len(facilities["all_facilities"]) == round(33_505 * 0.01) + round(4_946 * 0.01) + round(
        1_845 * 0.01
    )


def test_large_sources_split_into_part_files(tmp_path, monkeypatch):
    from narr_platform.sample_data import SampleDataRequest

    monkeypatch.setattr(sample, "PART_SIZE", 100)
    files = sample.write_directory(SampleDataRequest(out=tmp_path, scale=0.01))
    parts = sorted(p.name for p in files if p.name.startswith("treatment_centers_master.part-"))
    assert parts == [f"treatment_centers_master.part-{i:04d}.json" for i in range(1, 6)]
    total = sum(len(_load(tmp_path / "directory" / p)["all_facilities"]) for p in parts)
    assert total == 335 + 49 + 18
    # Regenerating at a scale that fits one file removes the stale parts.
    monkeypatch.setattr(sample, "PART_SIZE", 50_000)
    sample.write_directory(SampleDataRequest(out=tmp_path, scale=0.01))
    assert not list((tmp_path / "directory").glob("*.part-*.json"))
