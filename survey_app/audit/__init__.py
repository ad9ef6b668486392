"""The record of who did what: changes to pupils, groups, rounds and accounts (changes.py),
and views, exports, sign-ins and administrators' actions (log.py). Every area writes
through it; pure SQLAlchemy, no Flask."""
