"""Scalar types shared by fact models."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, StrictStr

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The values durable_rules (the engine of record) compares correctly, measured (docs/reliability.md)
# and enforced here, in the fact models, so that a value beyond them is invalid facts on both
# evaluators alike (the compiled path would otherwise answer where durable_rules cannot):
#: the dates facts may hold: with policies' day offsets of at most a century, date arithmetic
#: never leaves year 1..9999
MIN_FACT_DATE = dt.date(1800, 1, 1)
MAX_FACT_DATE = dt.date(2399, 12, 31)
#: durable_rules compares text by its first 65,535 bytes: longer text that shares them compares equal
MAX_TEXT_BYTES = 65535
#: durable_rules holds whole numbers in 64 bits
MAX_WHOLE_NUMBER = 2**63 - 1


def _in_date_range(value: dt.date) -> dt.date:
    if not MIN_FACT_DATE <= value <= MAX_FACT_DATE:
        raise ValueError(f"the date {value.isoformat()} is out of range; dates run from "
                         f"{MIN_FACT_DATE.isoformat()} to {MAX_FACT_DATE.isoformat()}")
    return value


def _within_text_limit(value: str) -> str:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode (it holds a lone surrogate)") from None
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"the text is {size:,} bytes long; text may be at most {MAX_TEXT_BYTES:,} "
                         "bytes in UTF-8 (durable_rules compares no more)")
    return value


def _iso_date(value: Any) -> Any:
    """Dates as YYYY-MM-DD or date objects only: pydantic would read 0 or "1714521600" as a
    Unix timestamp, silently turning a wrong field into a real date."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise ValueError("write a date as YYYY-MM-DD")


Age = Annotated[StrictInt, Field(ge=0, le=25, description="Age in whole years")]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_WHOLE_NUMBER)]
#: any text a caseworker writes, blank allowed (rules may ask whether it is blank)
FreeText = Annotated[StrictStr, AfterValidator(_within_text_limit)]
Text = Annotated[StrictStr, Field(min_length=1), AfterValidator(_within_text_limit)]
Flag = StrictBool
Date = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_in_date_range)]

__all__ = ["MAX_FACT_DATE", "MAX_TEXT_BYTES", "MAX_WHOLE_NUMBER", "MIN_FACT_DATE", "Age", "Count", "Date",
           "Flag", "FreeText", "Text"]
