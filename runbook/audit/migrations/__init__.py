"""Alembic migrations for every table of the product (run by `runbook.db.init_db`).

A package so that installs ship env.py; the revision files are package data.
"""
