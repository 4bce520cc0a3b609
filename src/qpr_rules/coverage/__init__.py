"""Coverage for auditors: of rules, atomic conditions, source clauses and source sentences.

Laid out as coverage.py is: one data model (`data.py`) fed by collectors (`collect.py`; the
pytest plugin), one core that computes what is covered (`report_core.py`), and one reporter per
output format (`textreport.py`, `jsonreport.py`, `lcovreport.py`, `xmlreport.py`,
`htmlreport.py`).
"""
