"""The auditors' tooling around the audit service, used by ``hub audit`` (never by a
running service): an export file checked offline (file_check.py) and the HTML report of an
export (report.py). The replay is tooling too, in services/replay."""
