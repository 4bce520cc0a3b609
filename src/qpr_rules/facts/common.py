"""Scalar types shared by fact models."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, StrictStr

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """Dates as YYYY-MM-DD or date objects only: pydantic would read 0 or "1714521600" as a
    Unix timestamp, silently turning a wrong field into a real date."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise ValueError("write a date as YYYY-MM-DD")


Age = Annotated[StrictInt, Field(ge=0, le=25, description="Age in whole years")]
Count = Annotated[StrictInt, Field(ge=0)]
Text = Annotated[StrictStr, Field(min_length=1)]
Flag = StrictBool
Date = Annotated[dt.date, BeforeValidator(_iso_date)]

__all__ = ["Age", "Count", "Date", "Flag", "Text"]
