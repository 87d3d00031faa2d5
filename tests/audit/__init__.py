"""Tests of the audit trail: chain, store, triggers, verification, concurrency, CLI."""
