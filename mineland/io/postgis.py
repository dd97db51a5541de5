"""PostgreSQL/PostGIS as a source and a sink, through SQLAlchemy and psycopg.

An input or output is a URL: ``postgresql://user@host:5432/db?table=hazards``
(``schema=``, or ``query=SELECT ...`` for an input, and ``geometry=`` to name the
geometry column where a table has several).  What the URL leaves out comes from
the standard ``PG*`` environment variables (``PGHOST``, ``PGUSER``, ``PGPASSWORD``,
...), as libpq reads them.  The password is never shown: every message, source
column and log line names the database with the password masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import pandas as pd
import pyproj

from ..errors import InputFileError, MissingExtraError, OutputError, SchemaError
from ..tables import RawTable
from ._columns import table_from_frame
from ._parse import first_line

__all__ = ["is_database_url", "read_database", "safe_url", "write_database"]

_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")

#: query parameters mineland reads from the URL (the rest go to libpq)
_OPTIONS = ("table", "query", "schema", "geometry")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_database_url(value: object) -> bool:
    """True for a ``postgresql://`` URL (an input or an output that is a database)."""
    return isinstance(value, str) and value.lower().startswith(_SCHEMES)


def _split(url: str) -> tuple[str, dict[str, str]]:
    """The connection URL (for SQLAlchemy, psycopg driver) and mineland's options."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = {k: v for k, v in query if k in _OPTIONS}
    rest = urlencode([(k, v) for k, v in query if k not in _OPTIONS])
    connect = urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, rest, ""))
    return connect, options


def with_table(url: str, table: str) -> str:
    """The URL reading ``table`` (``layer=`` of a district layer in a database)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "table"]
    query.append(("table", table))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and the ``source_file`` column."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _engine(url: str):
    try:
        import sqlalchemy
    except ImportError:
        raise MissingExtraError(
            "reading or writing PostGIS needs SQLAlchemy and psycopg: "
            "pip install 'mineland[postgis]'"
        ) from None
    connect, options = _split(url)
    return sqlalchemy.create_engine(connect, pool_pre_ping=False), options


def _failure(url: str, exc: Exception, error=InputFileError):
    """A database error as one line without the password (psycopg never prints it;
    the mask is a second guard)."""
    message = first_line(getattr(exc, "orig", None) or exc)
    password = urlsplit(url).password
    if password:
        message = message.replace(password, "***")
    return error(f"{safe_url(url)}: {message}")


def _identifier(name: str, what: str, url: str) -> str:
    """A table, schema or column name, checked and quoted: names only, no SQL."""
    if not _NAME.match(name):
        raise SchemaError(f"{safe_url(url)}: {what} {name!r} is not a plain SQL name")
    return f'"{name}"'


def _source_sql(url: str, options: Mapping[str, str]) -> str | None:
    """The SELECT of the URL's query or table (``schema.table`` or ``&schema=``);
    None when it names neither."""
    if options.get("query"):
        return options["query"].strip().rstrip(";")
    if not options.get("table"):
        return None
    schema, _, name = options["table"].rpartition(".")
    schema = schema or options.get("schema")
    table = _identifier(name, "table", url)
    if schema:
        table = f"{_identifier(schema, 'schema', url)}.{table}"
    return f"SELECT * FROM {table}"


def _no_source(conn, url: str) -> SchemaError:
    """The error for a URL that names no table or query, listing the spatial tables."""
    tables = conn.execute(
        _text(
            "SELECT f_table_schema || '.' || f_table_name FROM geometry_columns "
            "UNION SELECT f_table_schema || '.' || f_table_name FROM geography_columns "
            "ORDER BY 1 LIMIT 30"
        )
    ).scalars()
    listed = ", ".join(tables) or "none"
    return SchemaError(
        f"{safe_url(url)}: name a table (?table=NAME) or a query (?query=SQL); "
        f"tables with geometry: {listed}"
    )


def _text(sql: str):
    import sqlalchemy

    return sqlalchemy.text(sql)


def _geometry_column(conn, sql: str, wanted: str | None, url: str) -> str | None:
    """The result's geometry (or geography) column: the one named, or the only one."""
    types = dict(
        conn.execute(
            _text("SELECT oid, typname FROM pg_type WHERE typname IN ('geometry', 'geography')")
        ).all()
    )
    result = conn.execute(_text(f"SELECT * FROM ({sql}) AS source LIMIT 0"))
    columns = result.cursor.description
    spatial = [c.name for c in columns if c.type_code in types]
    if wanted is not None:
        if wanted not in [c.name for c in columns]:
            raise SchemaError(f"{safe_url(url)}: no column {wanted!r} (geometry=)")
        return wanted
    if len(spatial) > 1:
        raise SchemaError(
            f"{safe_url(url)}: several geometry columns ({', '.join(spatial)}); "
            "choose one with geometry=NAME in the URL"
        )
    return spatial[0] if spatial else None


def read_database(
    url: str, crs: object | None = None, geometry_columns: Mapping[str, str] | None = None
) -> RawTable:
    """A table or query result as a raw table: its PostGIS geometry column (any
    SRID), or, without one, geometry from its columns as a CSV's (lon/lat, MGRS...)."""
    engine, options = _engine(url)
    sql = _source_sql(url, options)
    source = safe_url(url)
    try:
        with engine.connect() as conn:
            conn.execute(_text("SET TRANSACTION READ ONLY"))  # a query may only read
            if sql is None:
                raise _no_source(conn, url)
            geom = _geometry_column(conn, sql, options.get("geometry"), url)
            if geom is None:
                frame = pd.read_sql_query(f"SELECT * FROM ({sql}) AS source", conn)
                return table_from_frame(frame, source, None, crs, geometry_columns)
            frame = _read_geometries(conn, sql, geom)
    except (SchemaError, InputFileError):
        raise
    except Exception as exc:  # SQLAlchemy and psycopg raise many error types
        raise _failure(url, exc) from None
    finally:
        engine.dispose()
    attributes = pd.DataFrame(frame.drop(columns="geometry"))
    return RawTable(source, None, attributes, frame.geometry.to_numpy(), frame.crs)


def _read_geometries(conn, sql: str, geom: str) -> gpd.GeoDataFrame:
    """Rows with their geometry as WKB (geography cast to geometry) and its SRID."""
    quoted = f'"{geom}"'
    wrapped = (
        f"SELECT source.*, ST_AsBinary({quoted}::geometry) AS __wkb, "
        f"ST_SRID({quoted}::geometry) AS __srid FROM ({sql}) AS source"
    )
    frame = pd.read_sql_query(_text(wrapped), conn)
    srids = sorted({int(s) for s in frame["__srid"].dropna().unique()} - {0})
    if len(srids) > 1:
        raise SchemaError(f"rows of several SRIDs ({', '.join(map(str, srids))}); select one")
    crs = pyproj.CRS.from_epsg(srids[0]) if srids else None  # SRID 0: none declared
    geometry = gpd.GeoSeries.from_wkb(frame["__wkb"].map(lambda b: None if b is None else bytes(b)))
    frame = frame.drop(columns=["__wkb", "__srid", geom])
    return gpd.GeoDataFrame(frame, geometry=geometry.values, crs=crs)


def write_database(layers: Mapping[str, pd.DataFrame], url: str) -> str:
    """Write tables to PostGIS in one transaction: ``table`` (from the URL) for the
    first, ``table_<name>`` for the others; existing tables of those names are
    replaced.  A failed or killed run changes nothing.  Returns the URL, masked."""
    engine, options = _engine(url)
    if not options.get("table"):
        raise OutputError(f"{safe_url(url)}: name the output table (?table=NAME)")
    base = options["table"]
    schema = options.get("schema")
    _identifier(base, "table", url)
    if schema:
        _identifier(schema, "schema", url)
    try:
        with engine.begin() as conn:
            for k, (name, frame) in enumerate(layers.items()):
                table = base if k == 0 else f"{base}_{name}"
                _write_one(conn, frame, table, schema)
    except Exception as exc:
        raise _failure(url, exc, OutputError) from None
    finally:
        engine.dispose()
    return safe_url(url)


def _write_one(conn, frame: pd.DataFrame, table: str, schema: str | None) -> None:
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_postgis(table, conn, schema=schema, if_exists="replace", index=False)
    else:
        pd.DataFrame(frame).to_sql(table, conn, schema=schema, if_exists="replace", index=False)
