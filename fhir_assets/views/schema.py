"""FHIR R4 element cardinality, from the ``fhir.resources`` models (an existing dependency).

The compiler needs no schema to be correct: it treats every element as possibly repeating
and flattens at run time. When the element is known, :func:`element` says whether it is an
array and what type its items have, so paths over single-valued elements compile to one
JSON path (``$.code.coding``) instead of a list operation per step, which is what makes
compiled views run as fast as hand-written SQL.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache

_TYPE = re.compile(r"abc\.(\w+)Type\b")


@dataclasses.dataclass(frozen=True)
class Element:
    array: bool
    type: str | None  # complex type / backbone element name; None for a primitive


@cache
def _model(type_name: str) -> type | None:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(type_name)
    except (ValueError, KeyError, AttributeError, ImportError):
        return None


@cache
def element(type_name: str | None, name: str) -> Element | None:
    """The element ``name`` of ``type_name``, or None when either is unknown."""
    if not type_name:
        return None
    model = _model(type_name)
    fields = getattr(model, "model_fields", None)
    if not fields or name not in fields or name in ("fhir_comments", "resource_type"):
        return None
    annotation = str(fields[name].annotation)
    match = _TYPE.search(annotation)
    child = match.group(1) if match else None
    if child in ("Resource", "FHIRPrimitiveExtension"):
        return None  # contained resources: any type; primitive extensions: not in JSON as is
    return Element(array="List[" in annotation, type=child)
