"""Kyc use cases: plain functions over a Session."""
