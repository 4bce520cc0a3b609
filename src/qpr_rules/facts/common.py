"""Scalar types shared by fact models."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr

Age = Annotated[StrictInt, Field(ge=0, le=25, description="Age in whole years")]
Count = Annotated[StrictInt, Field(ge=0)]
Text = Annotated[StrictStr, Field(min_length=1)]
Flag = StrictBool

__all__ = ["Age", "Count", "Flag", "Text"]
