"""``newsmon export --format parquet``: a view written as Parquet in row
batches (``pyarrow.parquet.ParquetWriter``, one row group per batch), so an
archive of any size exports in constant memory.

The schema is fixed before the first batch: each column's type from the
view's declared type (``inspect(engine).get_columns``), or, where the
database declares none (an aggregate on SQLite), from the first batch's
values; a column with no value there is text. Values are converted the way
the JSON Lines export shows them (times as timestamps, JSON as its text,
binary as ``<N bytes>``). pyarrow is an optional extra: ``pip install
'newsmon[parquet]'``.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from itertools import islice

from newsmon.cli_support import UsageError

MISSING = ("--format parquet needs pyarrow, an optional extra: pip install 'newsmon[parquet]' "
           "(or pip install pyarrow)")


def require_pyarrow():
    """The ``pyarrow`` module, or a one-line usage error (exit 2) when it is not installed."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UsageError(MISSING) from None
    return pyarrow


def _declared(sa_type):
    """The Arrow type name for a SQLAlchemy column type, or None when the database declared none."""
    from sqlalchemy import types

    if isinstance(sa_type, types.Boolean):
        return "bool"
    if isinstance(sa_type, types.Integer):
        return "int"
    if isinstance(sa_type, (types.Float, types.Numeric)):
        return "float"
    if isinstance(sa_type, types.DateTime):
        return "timestamp"
    if isinstance(sa_type, types.Date):
        return "date"
    if isinstance(sa_type, (types.String, types.JSON, types.LargeBinary)):
        return "string"
    if isinstance(sa_type, types.NullType):
        return None
    return "string"


def _inferred(values) -> str:
    """A type name for a column the database left untyped, from its values in the first batch."""
    present = [v for v in values if v is not None]
    if not present:
        return "string"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in present):
        return "float"
    if all(isinstance(v, datetime) for v in present):
        return "timestamp"
    if all(isinstance(v, date) and not isinstance(v, datetime) for v in present):
        return "date"
    return "string"


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _timestamp(value):
    if isinstance(value, str):  # SQLite keeps times as text
        value = datetime.fromisoformat(value)
    elif not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    return _naive_utc(value)


def _date(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.date() if isinstance(value, datetime) else value


CONVERT = {"string": _text, "int": int, "float": float, "bool": bool, "timestamp": _timestamp, "date": _date}


def _arrow_type(pa, name: str):
    return {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
            "timestamp": pa.timestamp("us"), "date": pa.date32()}[name]


def declared_types(url: str, view: str) -> dict[str, str | None]:
    """Each column of ``view`` → its type name, None where the database declares none."""
    from sqlalchemy import inspect

    from storage.readonly import readonly_engine

    engine = readonly_engine(url)
    try:
        return {c["name"]: _declared(c["type"]) for c in inspect(engine).get_columns(view)}
    finally:
        engine.dispose()


def write_parquet(path: str, declared: dict, view: str, columns: list[str], rows, batch_rows: int) -> int:
    """Write ``rows`` (tuples in ``columns`` order) to ``path`` in batches of
    ``batch_rows`` (``declared``: :func:`declared_types`); returns how many
    rows were written. The file appears when complete (written beside it, then renamed)."""
    pa = require_pyarrow()
    import os

    import pyarrow.parquet as pq

    partial = f"{path}.partial"
    try:
        count = _write(pa, pq, partial, declared, view, columns, rows, batch_rows)
        os.replace(partial, path)
    except BaseException:
        try:
            os.unlink(partial)
        except OSError:
            pass
        raise
    return count


def _write(pa, pq, path, declared, view, columns, rows, batch_rows) -> int:
    batch = list(islice(rows, batch_rows))
    kinds = [declared.get(name) or _inferred([row[i] for row in batch]) for i, name in enumerate(columns)]
    schema = pa.schema([pa.field(name, _arrow_type(pa, kind)) for name, kind in zip(columns, kinds)])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        while batch:
            arrays = []
            for i, (name, kind) in enumerate(zip(columns, kinds)):
                convert = CONVERT[kind]
                try:
                    values = [None if row[i] is None else convert(row[i]) for row in batch]
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"column {name} of {view}: a value is not {kind}: {exc}") from None
                arrays.append(pa.array(values, type=schema.field(i).type))
            writer.write_batch(pa.record_batch(arrays, schema=schema))
            count += len(batch)
            batch = list(islice(rows, batch_rows))
    return count
