"""The base of every table model: SQLModel, with a constructor that costs a fifth as much.

SQLModel builds a table row by setting each field through two layers of attribute machinery
(SQLAlchemy's instrumentation, then Pydantic's), about 4 µs a field: a new case (54 fields) took
0.2 ms before it was saved, in a parent's final "Send" (docs/performance.md, "The rush a sixth
time"). A new row has nothing to track yet, so `Row` puts the values straight into the instance's
dictionary, which is where both keep them, and leaves the same state as SQLModel's constructor:
the same values and defaults, the same fields marked as set, SQLAlchemy's state made first (its
instrumented `__init__` calls this one). A relationship given by name is still set the slow way,
so that SQLAlchemy hears of it. Validation is SQLModel's for table models: none.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
from typing import Any

from sqlmodel import SQLModel
from sqlmodel._compat import finish_init

# Defaults of these types are shared between rows as they are (Pydantic copies the others).
_IMMUTABLE = (type(None), str, int, float, bool, bytes, enum.Enum, datetime.date, datetime.time)
_IMMUTABLE += (datetime.timedelta, decimal.Decimal, tuple, frozenset)

_REQUIRED = object()


@functools.cache
def _fields_of(model: type[SQLModel]) -> tuple[tuple[str, Any, Any], ...]:
    """(name, default, how to make a default) for each field; `_REQUIRED` when there is none."""
    fields = []
    for name, field in model.model_fields.items():
        if field.alias and field.alias != name:
            raise TypeError(f"{model.__name__}.{name} has an alias: Row does not read aliases")
        if field.is_required():  # no default and no default factory
            fields.append((name, _REQUIRED, None))
        elif field.default_factory is None and isinstance(field.default, _IMMUTABLE):
            fields.append((name, field.default, None))
        else:
            fields.append(
                (name, None, functools.partial(field.get_default, call_default_factory=True))
            )
    return tuple(fields)


class Row(SQLModel):
    """Inherit from this, not SQLModel, for a table model (`class Complaint(Row, table=True)`)."""

    def __init__(__pydantic_self__, **data: Any) -> None:
        self = __pydantic_self__
        model = type(self)
        if (
            not finish_init.get()
            or not model.model_config.get("table", False)
            or model.__pydantic_post_init__
            or model.model_config.get("extra") == "allow"
        ):
            super().__init__(**data)
            return
        values = self.__dict__
        given = set()
        for name, default, make_default in _fields_of(model):
            if name in data:
                values[name] = data.pop(name)
                given.add(name)
            elif make_default is not None:
                values[name] = make_default()
            elif default is not _REQUIRED:
                values[name] = default
        object.__setattr__(self, "__pydantic_fields_set__", given)
        object.__setattr__(self, "__pydantic_extra__", None)
        object.__setattr__(self, "__pydantic_private__", None)
        for name in self.__sqlmodel_relationships__:
            if name in data:
                setattr(self, name, data.pop(name))
