"""The operator tables: the tables of the Supabase project that operator-service serves and
the migration tool (`python -m migrate`) moves to RDS, unit by unit. Written once, here,
because both sides must agree on every name: operator-service routes each of these tables
to the database the migration state says (operator_service/datasource.py), and the tool's
units (migrate/units.py) must move exactly these, each once; either side refuses a table
the other does not know, instead of skipping it."""
from __future__ import annotations

USERS = "users"
PACKAGES = "multi_city_hotel_packages"
STOPS = "multi_city_hotel_package_cities"
ADDONS = "multi_city_hotel_package_addons"
EXCLUSIONS = "multi_city_hotel_package_exclusions"
CHANGES = "multi_city_hotel_package_changes"
# Rehearses the move to RDS (migrate/units.py); nothing in the product reads it.
REHEARSAL = "migration_rehearsal"

OPERATOR_TABLES = (USERS, PACKAGES, STOPS, ADDONS, EXCLUSIONS, CHANGES, REHEARSAL)
