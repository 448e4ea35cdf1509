"""Fleet use cases: plain functions over a Session."""
