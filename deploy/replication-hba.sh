#!/bin/bash
# Lets the replica container stream from the primary (compose.yaml; trust for a local trial only).
echo "host replication all all trust" >> "$PGDATA/pg_hba.conf"
