"""The CDC/ATSDR SVI 2022 layout: the 158 column names in file order, and their types.

The names and their order are facts of the published files (county and tract files share
them); ``FIPS`` is 5 digits in a county file and 11 in a tract file.
"""

SVI_2022_COLUMNS: tuple[str, ...] = (
    "ST", "STATE", "ST_ABBR", "STCNTY", "COUNTY", "FIPS", "LOCATION", "AREA_SQMI",
    "E_TOTPOP", "M_TOTPOP", "E_HU", "M_HU", "E_HH", "M_HH", "E_POV150", "M_POV150",
    "E_UNEMP", "M_UNEMP", "E_HBURD", "M_HBURD", "E_NOHSDP", "M_NOHSDP", "E_UNINSUR",
    "M_UNINSUR", "E_AGE65", "M_AGE65", "E_AGE17", "M_AGE17", "E_DISABL", "M_DISABL",
    "E_SNGPNT", "M_SNGPNT", "E_LIMENG", "M_LIMENG", "E_MINRTY", "M_MINRTY", "E_MUNIT",
    "M_MUNIT", "E_MOBILE", "M_MOBILE", "E_CROWD", "M_CROWD", "E_NOVEH", "M_NOVEH",
    "E_GROUPQ", "M_GROUPQ", "EP_POV150", "MP_POV150", "EP_UNEMP", "MP_UNEMP", "EP_HBURD",
    "MP_HBURD", "EP_NOHSDP", "MP_NOHSDP", "EP_UNINSUR", "MP_UNINSUR", "EP_AGE65",
    "MP_AGE65", "EP_AGE17", "MP_AGE17", "EP_DISABL", "MP_DISABL", "EP_SNGPNT", "MP_SNGPNT",
    "EP_LIMENG", "MP_LIMENG", "EP_MINRTY", "MP_MINRTY", "EP_MUNIT", "MP_MUNIT", "EP_MOBILE",
    "MP_MOBILE", "EP_CROWD", "MP_CROWD", "EP_NOVEH", "MP_NOVEH", "EP_GROUPQ", "MP_GROUPQ",
    "EPL_POV150", "EPL_UNEMP", "EPL_HBURD", "EPL_NOHSDP", "EPL_UNINSUR", "SPL_THEME1",
    "RPL_THEME1", "EPL_AGE65", "EPL_AGE17", "EPL_DISABL", "EPL_SNGPNT", "EPL_LIMENG",
    "SPL_THEME2", "RPL_THEME2", "EPL_MINRTY", "SPL_THEME3", "RPL_THEME3", "EPL_MUNIT",
    "EPL_MOBILE", "EPL_CROWD", "EPL_NOVEH", "EPL_GROUPQ", "SPL_THEME4", "RPL_THEME4",
    "SPL_THEMES", "RPL_THEMES", "F_POV150", "F_UNEMP", "F_HBURD", "F_NOHSDP", "F_UNINSUR",
    "F_THEME1", "F_AGE65", "F_AGE17", "F_DISABL", "F_SNGPNT", "F_LIMENG", "F_THEME2",
    "F_MINRTY", "F_THEME3", "F_MUNIT", "F_MOBILE", "F_CROWD", "F_NOVEH", "F_GROUPQ",
    "F_THEME4", "F_TOTAL", "E_DAYPOP", "E_NOINT", "M_NOINT", "E_AFAM", "M_AFAM", "E_HISP",
    "M_HISP", "E_ASIAN", "M_ASIAN", "E_AIAN", "M_AIAN", "E_NHPI", "M_NHPI", "E_TWOMORE",
    "M_TWOMORE", "E_OTHERRACE", "M_OTHERRACE", "EP_NOINT", "MP_NOINT", "EP_AFAM", "MP_AFAM",
    "EP_HISP", "MP_HISP", "EP_ASIAN", "MP_ASIAN", "EP_AIAN", "MP_AIAN", "EP_NHPI",
    "MP_NHPI", "EP_TWOMORE", "MP_TWOMORE", "EP_OTHERRACE", "MP_OTHERRACE",
)  # fmt: skip

#: Text columns: identifiers and names. Every FIPS code stays a string.
SVI_TEXT_COLUMNS = frozenset({"ST", "STATE", "ST_ABBR", "STCNTY", "COUNTY", "FIPS", "LOCATION"})

#: Integer columns: estimates (E_), their margins (M_) and the 0/1 flags (F_).
SVI_INTEGER_PREFIXES = ("E_", "M_", "F_")


def svi_column_type(name: str) -> str:
    """The engine type of an SVI column: VARCHAR, BIGINT or DOUBLE."""
    if name in SVI_TEXT_COLUMNS:
        return "VARCHAR"
    if name.startswith(SVI_INTEGER_PREFIXES):
        return "BIGINT"
    return "DOUBLE"


#: name -> type, in file order (the explicit schema of the CSV reader).
SVI_2022_SCHEMA: dict[str, str] = {name: svi_column_type(name) for name in SVI_2022_COLUMNS}

#: Percentile ranks, each within [0, 1] (or NULL when the file says -999).
SVI_RANK_COLUMNS: tuple[str, ...] = tuple(
    name for name in SVI_2022_COLUMNS if name.startswith(("EPL_", "RPL_"))
)
