#!/bin/sh
# One database per service, created on the server's first start.
set -e
for db in identity fleet driver billing kyc marketing; do
  psql -v ON_ERROR_STOP=1 -U secto -d postgres -c "CREATE DATABASE $db OWNER secto"
done
