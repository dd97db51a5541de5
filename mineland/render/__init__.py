"""Turning results into documents: HTML tables and pages, styled workbooks, charts
and the report.  Pure: everything here returns text, bytes or in-memory objects; the
:mod:`mineland.io` package writes them."""
