#!/usr/bin/env python
"""Disclosure benchmark: a partnership lead attacks the protected cohort figures over HTTP.

Run from the project root (inside the venv):

    .venv/bin/python benchmarks/disclosure.py                        # SQLite, 24 targets
    .venv/bin/python benchmarks/disclosure.py --backend postgresql --targets 24 --seed 1

What it attacks. A partnership lead's cohort figures count pupils whose school does not
share them with the partnership (Pupil.shared_with_partnership = False). The lead may not
see those pupils one by one, so their figures are *protected* (survey_app/privacy):

- each such pupil's score enters every aggregate (means, SDs, paired changes, bands, the
  distribution of change) with a fixed secret offset, continuous and normal:
  LEVEL_SD x z_level(pupil, factor) + ROUND_SD x z_round(pupil, round, factor), each z
  standard normal and drawn from SHA-256 of the pupil's record key; the level part is the
  same at every round, the round part new at each (survey_app/privacy/keys.py; the
  benchmark imports LEVEL_SD and ROUND_SD from there and prints them). So a pupil's
  offsets on a factor at two rounds are jointly normal with variances LEVEL_SD^2 +
  ROUND_SD^2 and covariance LEVEL_SD^2. Adjusted scores are not clipped to 0-100;
- protected pupils' changes are grouped to the nearest half point in the database's
  histogram of changes (ties for Wilcoxon, bins, reliable change); the sums behind means,
  SDs and intervals stay exact (sums of adjusted scores);
- Cronbach's alpha of a protected cohort is worked out over the pupils the lead may see
  one by one only (protected pupils' answers are left out), and is an exact figure;
- counts of protected sets get cell-key noise (-2..+2), and protected figures are rounded
  to what the page shows.

The product rule (docs PRODUCT.md, "Privacy across the boundary") is that no combination of
selections, exports or charts may let anyone work such a pupil out.

Set-up (the database is used ONLY here and to score the attacks):

1. a fresh database (a temporary SQLite file, or a throwaway PostgreSQL schema), migrated
   with `flask --app survey_app db upgrade`, then `flask --app survey_app demo-data` (the
   demo partnership: 300 pupils, 15 of them at the school for deaf children, URN 990104,
   not shared; its staff sign-ins go to a temporary file, never to instance/);
2. generated pupils added through the app's own models and services (Pupil rows get their
   record keys from the model default; every response is scored by
   services.responses.store_scores, which writes the offsets), in the two finished demo
   rounds ("Before" and "During"). ceil(N/3) "Generated Academy" schools (years 7-13): in
   three year groups of each the only pupil is an unshared *target*; the other four year
   groups have 7 shared pupils each. Every third target took only the later round. Each
   target t also gets a partnership group G_t (t + 12 shared pupils of other schools, all
   with scores in both rounds) and a partnership flag F_t (t + 13 shared pupils in other
   year groups), both in the rounds' groups;
3. gunicorn (SURVEY_ENV=production, 2 gthread workers, started as benchmarks/autosave.py
   starts it) on 127.0.0.1; the demo partnership lead
   signs in through the real sign-in form (CSRF token and all). Every figure an attack
   uses comes from the server over HTTP: the CSV download, the XLSX download, the cohort
   page (its tables and the chart JSON embedded in <script type="application/json">), the
   interactive HTML download (the Plotly JSON inside it) and the group heatmap.

What the attacker is assumed to know (the strongest honest attacker): every shared pupil's
exact scores (the lead may open their profiles; read here from the database), and which
unshared pupils fall in a selection (their school, year group, gender, SEN, FSM, EAL,
groups and flags, and which rounds they answered and whether they answered every statement
of a factor: census-type facts a local attacker may know), but not their scores, answers or
record keys. It also knows how the protection works (the code is the documentation): the
Bayes attacks below use the offsets' true normal model, jointly over both rounds.
"Counts known" means the attacker uses the true number of pupils in a selection (shared
ones it can count, plus the unshared ones it knows fall in it) instead of the noisy count
shown; "counts shown" uses the count as the server shows it.

Attacks, each giving estimates of one target's score on one factor in one round:

1.  Differencing two selections that differ by one pupil: n(A) x mean(A) - n(B) x mean(B),
    by a flag (A = flag F_t, B = F_t and every year group but t's), by a group (A = G_t,
    B = G_t and every school but t's) and by a year filter (A = t's school, t's year and
    the school's shared years; B = the same without t's year). B holds shared pupils only,
    so its figures are exact; A's are protected.
2.  Inside one report: (pupils in the later round) x (their mean) - (pupils in both
    rounds) x (their mean after) for G_t, whose one pupil without a baseline is t.
3.  The same differencing with the numbers read from the page's embedded chart JSON (the
    means chart's bars and hover text, "Pupils: n"), and from the interactive HTML
    download's Plotly JSON. Every number in the charts of protected reports is also
    checked for more precision than the page shows (printed as a finding, not an estimate).
4.  (a) a split (FSM) of A_year: whole minus the side without t minus the shared pupils of
    t's side; (b) band movement of A_year against B_year: the band whose row (column) total
    moved gives t's band in the first (later) round, estimated as the band's middle score,
    and (Bayes) as the best window (see 6c) of the posterior given that t's adjusted score
    lies in that band (adjusted scores are not clipped, so the end bands are open): normal
    offsets, jointly over both rounds when both bands show, the prior as in 6c;
    (c) the heatmap of G_t: is t listed, and does the group median count t? (estimates
    only if the heatmap shows t; the check is printed).
5.  Least squares: every protected selection fetched (about 8 random overlapping
    selections built around each unshared pupil - schools x years x gender x FSM x EAL x
    SEN - plus those of the other attacks) is one equation n x mean - (sum of the shared
    pupils' known scores) = (sum of the unshared pupils' scores), per round and factor,
    solved by numpy.linalg.lstsq (weighted by 1/n) for every unshared pupil it identifies,
    the demo's 15 included.
6.  Further attacks: (a) the same selection by another route or again (CSV twice, XLSX,
    page table): every value compared, and the differencing redone on their average;
    (b) averaging a pupil's two rounds (least-squares estimates); (c) Bayes on the least-
    squares adjusted score y (with its error sd s): the posterior of the score on the
    factor's score grid (a factor score is a mean of answers: multiples of 100/18, 100/15
    or 100/12) given y, y - score being normal with variance LEVEL_SD^2 + ROUND_SD^2 + s^2;
    where both rounds are solved, given both, the two offsets jointly normal (covariance
    LEVEL_SD^2) and the prior a joint one over the two scores. The prior is the shared
    pupils' scores: per round, their counts on the grid plus one of every grid point; over
    both rounds, their pairs smoothed by a Gaussian kernel, its margins fitted to those
    counts. Estimate = the score with the most posterior probability within 5 points (the
    Bayes choice for "within 5 points"); (d) the score grid, the best grid-based
    posterior: up to 16 selections per target whose only unshared pupil is t (and every
    other fetched selection of that kind, attack 1's A among them) pin t's adjusted score
    by interval constraints from the rounded mean and SD of each round and the rounded
    paired means before and after, mean change and its SD; the likelihood of each grid
    score (of each pair of scores where both rounds are pinned, the change figures
    constraining the pair) is the offsets' normal (joint normal) density integrated over
    the adjusted scores those constraints leave; prior and estimate as in (c). With
    continuous offsets an adjusted score no longer keeps the fraction of the true score,
    so the grid enters through the prior only; (e) Cronbach's alpha, a check: alpha over
    the shared pupils only cannot tell anything about t. For every selection whose one
    unshared complete-case pupil is t, the shown alpha (3 decimals) is compared with the
    alpha of its shared complete-case pupils (the app's formula, with their answers, which
    their profiles show), and the attack counts which of the 4^k answer patterns t could
    have given would fit were t counted. Where the shown alpha is the shared pupils' one
    (the model), every pattern is equally likely and the posterior is the prior (the shared
    pupils' complete-case scores, spread over the patterns); where it is not, the attack
    takes alpha to count t and keeps only the patterns that fit. Estimate as in (c).

Scoring. An estimate *recovers* the score when it is within 5 points of the true score
(read from the database). For the same estimates, the guessing baseline G is the share
whose true score is within 5 points of the cohort mean (the shown mean of the attack's
selection; for 5 and 6 the shown partnership-wide mean). Each line prints: estimates, P
(recovered, %), G (%), and the mean absolute error, and marks an attack that beats
guessing: P > G and a one-sided exact sign test (of the estimates where exactly one of
attack and guess is within 5 points, how many are the attack's) below p = 0.01, so a
small excess by chance does not count. N in the last line is the number of
estimates over attacks 1-6 as the lead (not the number of attack kinds); P and G are over
all of them. Lines marked "(not in N)" are context: the same attacks signed in as the demo
admin, who may see every pupil (so figures are exact and the attacks should recover
everything); the change between a pupil's two rounds (not a score), from the joint
posteriors of 6c and 6d (the change with the most posterior probability within 5 points);
and the prior alone (its best window, no figure) for the scores 6c estimates. A further
line compares each Bayes attack (4b Bayes, 6c, 6d, 6e) with the prior's own best guess for
the same scores, by the same sign test: what the figures add to the prior. (The cohort mean
is not the best guess an attacker without any protected figure can make: the densest
10-point window of the shared pupils' scores on the grid can beat it, so a Bayes attack's
excess over G is to be read against the prior's.)

Checks: "unprotected figures exact" compares every mean, SD and n per factor and round and
every paired n, mean before/after and mean change of the lead's reports over selections
holding only shared pupils (every B above, a whole shared school, a generated school's
shared years) with the exact statistics computed from the database, rounded as the CSV
rounds them (survey_app/exports/tables.py DECIMALS: 2 decimals); `yes` only if all agree.

Output: set-up notes, one line per attack, the checks, then a PASS/FAIL line for "P no
better than G" (PASS only when the pooled P <= G and no attack, nor all pooled, beats
guessing as above: pooling alone would let one strong attack hide among many weak ones;
a Bayes attack counts as beating guessing only when it also beats the prior alone, by the
same sign test, since the prior alone can beat the cohort mean without any figure)
and one for "unprotected figures exact", and last:

    disclosure: N attacks, recovered within 5 points P%, guessing the cohort mean G%, unprotected figures exact: yes|no

An attack that beats guessing makes the first PASS/FAIL line FAIL; the attacks are not
tuned either way. The exit code is 0 when it ran (whatever the result) and 2 when the
benchmark itself could not run.

Record keys are random (as in production), so the offsets, and with them the figures, P
and G, differ from run to run even with the same --seed (which fixes the pupils, their
answers and the attacker's choice of selections).
"""

from __future__ import annotations

import argparse
import csv
import html
import http.cookiejar
import io
import json
import math
import random
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import sqlalchemy as sa
from autosave import BenchError, Database, Server, clear_sessions, run_flask, server_env  # benchmarks/autosave.py
from scipy.special import ndtr

# The offsets' standard deviations, from the code (autosave put the project root on sys.path).
from survey_app.privacy.keys import LEVEL_SD, ROUND_SD

LEAD = "lead@demo.example.org"
ADMIN = "admin@demo.example.org"
WITHIN = 5.0  # points: an estimate within this of the truth recovers the score
YEARS = tuple(range(7, 14))
SHARED_PER_YEAR = 7  # shared pupils in each non-target year group of a generated school
TARGET_YEARS_PER_SCHOOL = 3
GROUP_VISIBLE = 12
FLAG_VISIBLE = 13
FAMILY = 16  # single-target selections per target (attack 6d)
LS_PER_PUPIL = 8  # overlapping selections built around each unshared pupil (attack 5)
HTML_TARGETS = 6  # targets whose A/B selections are also downloaded as interactive HTML
WORKERS, THREADS, CLIENTS = 2, 4, 3
MAIN = "Selected pupils"
ANY_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')
FIRST_NAMES = ["Asha", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kit", "Lena"]


# ----- the selection (the cohort page's query) --------------------------------------------


@dataclass(frozen=True)
class Sel:
    schools: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()
    years: tuple[int, ...] = ()
    genders: tuple[str, ...] = ()
    sen: tuple[str, ...] = ()
    fsm: bool | None = None
    eal: bool | None = None
    flags: tuple[int, ...] = ()
    split: str | None = None

    def query(self, round_ids: list[int]) -> str:
        items = [("round", str(r)) for r in round_ids]
        items += [("school", str(s)) for s in self.schools] + [("group", str(g)) for g in self.groups]
        items += [("year", str(y)) for y in self.years] + [("gender", g) for g in self.genders]
        items += [("sen", s) for s in self.sen]
        if self.fsm is not None:
            items.append(("fsm", "yes" if self.fsm else "no"))
        if self.eal is not None:
            items.append(("eal", "yes" if self.eal else "no"))
        items += [("flag", str(f)) for f in self.flags]
        if self.split:
            items.append(("split", self.split))
        return urlencode(items)

    def plain(self) -> Sel:
        return Sel(self.schools, self.groups, self.years, self.genders, self.sen, self.fsm, self.eal, self.flags)


@dataclass
class PupilInfo:
    id: int
    name: str
    school: int
    year: int
    gender: str | None
    sen: str
    fsm: bool
    eal: bool
    shared: bool
    groups: set[int] = field(default_factory=set)
    flags: set[int] = field(default_factory=set)


@dataclass
class Target:
    pid: int
    school: int
    year: int
    late: bool  # took only the later round
    group: int = 0
    flag: int = 0
    shared_years: tuple[int, ...] = ()


@dataclass
class FactorInfo:
    key: str
    name: str
    statements: int
    cutoffs: tuple[float, ...]


@dataclass
class World:
    rounds: list[tuple[int, str]]  # (id, name): baseline, later
    factors: list[FactorInfo]
    band_labels: list[str]
    schools: dict[int, str]
    pupils: dict[int, PupilInfo]
    scores: dict[tuple[int, int, str], float]
    targets: list[Target]
    passwords: dict[str, str]
    # (pupil, round, factor) -> answers to every statement of the factor, reverse-scored
    items: dict[tuple[int, int, str], tuple[int, ...]] = field(default_factory=dict)
    scale: tuple[int, int] = (1, 4)
    _members: dict = field(default_factory=dict, repr=False)

    @property
    def round_ids(self) -> list[int]:
        return [r for r, _ in self.rounds]

    def members(self, s: Sel) -> list[int]:
        """The pupils a selection counts (the app's pupil_filter, as the attacker works it out)."""
        s = s.plain()
        if s in self._members:
            return self._members[s]
        out = []
        for p in self.pupils.values():
            if s.schools and p.school not in s.schools:
                continue
            if s.groups and not p.groups & set(s.groups):
                continue
            if s.years and p.year not in s.years:
                continue
            if s.genders and p.gender not in s.genders:
                continue
            if s.sen and p.sen not in s.sen:
                continue
            if s.fsm is not None and p.fsm != s.fsm:
                continue
            if s.eal is not None and p.eal != s.eal:
                continue
            if s.flags and not p.flags & set(s.flags):
                continue
            out.append(p.id)
        self._members[s] = out
        return out

    def scored(self, pids, rid: int, fkey: str) -> list[int]:
        return [p for p in pids if (p, rid, fkey) in self.scores]

    def visible_sums(self, pids, rid: int, fkey: str) -> tuple[int, float, float]:
        vals = [self.scores[(p, rid, fkey)] for p in pids if self.pupils[p].shared and (p, rid, fkey) in self.scores]
        return len(vals), float(sum(vals)), float(sum(v * v for v in vals))

    def hidden(self, pids, rid: int, fkey: str) -> list[int]:
        return [p for p in pids if not self.pupils[p].shared and (p, rid, fkey) in self.scores]


# ----- set-up: the demo partnership and the generated pupils -------------------------------


def _answer_value(rng: random.Random, level: float, reversed_: bool, values: list[int]) -> int:
    # The demo's ordered-logistic draw (services/demo.py), so generated answers look alike.
    latent = level + rng.gauss(0, 1.0)
    if reversed_:
        latent = -latent
    ordered = sorted(values)
    thresholds = [-1.3, 0.0, 1.3] if len(ordered) == 4 else [-2 + 4 * (i + 1) / len(ordered)
                                                                for i in range(len(ordered) - 1)]
    return ordered[min(sum(1 for t in thresholds if latent > t), len(ordered) - 1)]


def _answer(session, rng, q, survey_round, pupil, levels) -> None:
    """A finished response with answers, scored by the app's own store_scores."""
    from survey_app.models import Answer, Response
    from survey_app.pupil.answers import sequence_now, store_scores

    start = survey_round.opens_at + timedelta(days=rng.randint(0, 9), hours=rng.randint(1, 6))
    response = Response(round_id=survey_round.id, pupil_id=pupil.id,
                        questionnaire_version_id=survey_round.questionnaire_version_id,
                        started_at=start, last_activity_at=start, mode=survey_round.mode)
    session.add(response)
    session.flush()
    values = [o.value for o in q.scale]
    straight = rng.random() < 0.02
    rows, seconds = [], 0
    for statement in q.statements:
        if rng.random() < 0.02:
            continue  # the odd skipped statement, as in the demo
        seconds += rng.randint(4, 14)
        value = values[0] if straight else _answer_value(rng, levels[statement.factor], statement.reversed, values)
        at = start + timedelta(seconds=seconds)
        rows.append({"response_id": response.id, "item": statement.id, "value": value, "seq": sequence_now(at),
                     "answered_at": at})
    session.execute(sa.insert(Answer), rows)
    response.seconds_spent = seconds
    response.last_activity_at = response.finished_at = start + timedelta(seconds=seconds)
    store_scores(session, response, response.finished_at)


def build_world(url: str, tmpdir: Path, n_targets: int, seed: int) -> World:
    env = server_env(url)
    run_flask(["db", "upgrade"], env, timeout=300)
    logins = tmpdir / "demo-logins.txt"
    run_flask(["demo-data", "--logins-file", str(logins)], env, timeout=600)
    passwords = {}
    for line in logins.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3:
            passwords[parts[1]] = parts[2]
    if LEAD not in passwords or ADMIN not in passwords:
        raise BenchError(f"demo-data did not print the lead's and the admin's sign-ins into {logins}")

    from survey_app import create_app
    from survey_app.db import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16)})
    with app.app_context():
        try:
            targets = _generate(db.session, n_targets, seed)
            db.session.commit()
            world = _read_world(db.session, targets, passwords)
        finally:
            db.session.remove()
            db.engine.dispose()
    return world


def _generate(session, n_targets: int, seed: int) -> list[Target]:
    from survey_app.demo.operations import PARTNERSHIP
    from survey_app.models import (
        FactorScore,
        Group,
        Partnership,
        Pupil,
        PupilFlag,
        Response,
        School,
        SurveyRound,
        pupil_flag_members,
    )
    from survey_app.models.upn import make_upn
    from survey_app.questionnaires.store import definition_of

    rng = random.Random(seed)
    partnership = session.scalar(sa.select(Partnership).where(Partnership.name == PARTNERSHIP))
    rounds = session.scalars(sa.select(SurveyRound).where(SurveyRound.partnership_id == partnership.id)
                             .order_by(SurveyRound.opens_at)).all()
    before, during = rounds[0], rounds[1]
    q = definition_of(before.questionnaire)
    targets: list[tuple[Pupil, Target]] = []
    generated: list[Pupil] = []
    n_schools = math.ceil(n_targets / TARGET_YEARS_PER_SCHOOL)
    for k in range(n_schools):
        school = School(urn=f"9902{k + 1:02d}", name=f"Generated Academy {k + 1}", partnership=partnership)
        session.add(school)
        target_years = [YEARS[(TARGET_YEARS_PER_SCHOOL * k + j) % len(YEARS)] for j in range(TARGET_YEARS_PER_SCHOOL)]
        shared_years = tuple(y for y in YEARS if y not in target_years)
        serial = [0]

        def pupil(year: int, shared: bool, first: str, surname: str, school=school, k=k, serial=serial) -> Pupil:
            serial[0] += 1
            p = Pupil(school=school, upn=make_upn(990, 5000 + k, (2026 - year - 4) % 100, serial[0]),
                      first_name=first, surname=surname, year_group=year, reg_group=f"{year}G",
                      gender=rng.choice(["Female", "Male"]), sen=rng.choices(["N", "K", "E"], [70, 22, 8])[0],
                      fsm=rng.random() < 0.3, eal=rng.random() < 0.2, shared_with_partnership=shared)
            session.add(p)
            return p

        for y in shared_years:
            for _ in range(SHARED_PER_YEAR):
                generated.append(pupil(y, True, rng.choice(FIRST_NAMES), "Generated"))
        for y in target_years:
            index = len(targets)
            if index >= n_targets:
                break
            p = pupil(y, False, f"Target{index + 1:02d}", "Unshared")
            targets.append((p, Target(0, 0, y, late=index % 3 == 2, shared_years=shared_years)))
    session.flush()
    # Answers: the demo's model (a trait per factor, rising a little by the later round).
    for p in generated + [p for p, _ in targets]:
        trait = {f.key: rng.gauss(0.4, 0.9) for f in q.factors}
        gain = {f.key: rng.gauss(0.0, 0.35) for f in q.factors}
        late = next((t.late for tp, t in targets if tp is p), False)
        for survey_round, shift in ((before, 0.0), (during, 0.35)):
            if survey_round is before and late:
                continue
            if p.shared_with_partnership and rng.random() < 0.05:
                continue  # absent that week
            _answer(session, rng, q, survey_round, p, {k: trait[k] + shift * (1 + gain[k]) for k in trait})
    session.flush()

    # Pupils with every factor scored in both rounds: the shared members of groups and flags.
    complete = defaultdict(int)
    for pid, rid in session.execute(
        sa.select(Response.pupil_id, Response.round_id).join(FactorScore, FactorScore.response_id == Response.id)
        .where(Response.round_id.in_([before.id, during.id]), Response.finished_at.is_not(None),
               FactorScore.score.is_not(None))
    ):
        complete[(pid, rid)] += 1
    n_factors = len(q.factors)
    all_pupils = session.scalars(sa.select(Pupil).join(School).where(School.partnership_id == partnership.id)
                                 .order_by(Pupil.id)).all()
    full = [p for p in all_pupils if p.shared_with_partnership
            and complete[(p.id, before.id)] == n_factors and complete[(p.id, during.id)] == n_factors]
    out = []
    for index, (p, t) in enumerate(targets):
        group = Group(name=f"Generated club {index + 1:02d}", kind="programme", partnership_id=partnership.id)
        group.pupils = [p, *rng.sample([v for v in full if v.school_id != p.school_id], GROUP_VISIBLE)]
        session.add(group)
        flag = PupilFlag(name=f"Generated flag {index + 1:02d}", partnership_id=partnership.id,
                         description="Benchmark flag: one unshared pupil and shared pupils of other year groups.")
        session.add(flag)
        session.flush()
        members = [p, *rng.sample([v for v in full if v.year_group != p.year_group], FLAG_VISIBLE)]
        session.execute(sa.insert(pupil_flag_members), [{"flag_id": flag.id, "pupil_id": m.id} for m in members])
        for survey_round in (before, during):
            survey_round.groups.append(group)
        t.pid, t.school, t.group, t.flag = p.id, p.school_id, group.id, flag.id
        out.append(t)
    session.flush()
    return out


def _read_world(session, targets: list[Target], passwords: dict[str, str]) -> World:
    from survey_app.demo.operations import PARTNERSHIP
    from survey_app.models import (
        Answer,
        FactorScore,
        Partnership,
        Pupil,
        Response,
        School,
        SurveyRound,
        group_members,
        pupil_flag_members,
    )
    from survey_app.questionnaires.store import definition_of

    partnership = session.scalar(sa.select(Partnership).where(Partnership.name == PARTNERSHIP))
    rounds = session.scalars(sa.select(SurveyRound).where(SurveyRound.partnership_id == partnership.id)
                             .order_by(SurveyRound.opens_at)).all()[:2]
    q = definition_of(rounds[0].questionnaire)
    schools = {s.id: s.name for s in session.scalars(sa.select(School).where(School.partnership_id == partnership.id))}
    pupils = {}
    for p in session.scalars(sa.select(Pupil).where(Pupil.school_id.in_(list(schools)))):
        pupils[p.id] = PupilInfo(p.id, f"{p.first_name} {p.surname}", p.school_id, p.year_group, p.gender, p.sen,
                                 p.fsm, p.eal, p.shared_with_partnership)
    for gid, pid in session.execute(sa.select(group_members.c.group_id, group_members.c.pupil_id)):
        if pid in pupils:
            pupils[pid].groups.add(gid)
    for fid, pid in session.execute(sa.select(pupil_flag_members.c.flag_id, pupil_flag_members.c.pupil_id)):
        if pid in pupils:
            pupils[pid].flags.add(fid)
    scores = {}
    for pid, rid, factor, score in session.execute(
        sa.select(Response.pupil_id, Response.round_id, FactorScore.factor, FactorScore.score)
        .join(FactorScore, FactorScore.response_id == Response.id)
        .where(Response.round_id.in_([r.id for r in rounds]), Response.finished_at.is_not(None),
               FactorScore.score.is_not(None))
    ):
        if pid in pupils:
            scores[(pid, rid, factor)] = float(score)
    factors = [FactorInfo(f.key, f.name, len(q.statements_of(f.key)), tuple(f.cutoffs)) for f in q.factors]
    answers: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for pid, rid, item, value in session.execute(
        sa.select(Response.pupil_id, Response.round_id, Answer.item, Answer.value)
        .join(Answer, Answer.response_id == Response.id)
        .where(Response.round_id.in_([r.id for r in rounds]), Response.finished_at.is_not(None))
    ):
        answers[(pid, rid)][item] = value
    lo, hi = q.scale_min, q.scale_max
    items = {}
    for (pid, rid), given in answers.items():
        for f in q.factors:
            statements = q.statements_of(f.key)
            if pid in pupils and all(st.id in given for st in statements):
                items[(pid, rid, f.key)] = tuple(lo + hi - given[st.id] if st.reversed else given[st.id]
                                                 for st in statements)
    return World([(r.id, r.name) for r in rounds], factors, [b.label for b in q.bands], schools, pupils, scores,
                 targets, passwords, items, (lo, hi))


# ----- HTTP: a signed-in member of staff -------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Staff:
    """One member of staff's browser: a cookie jar, the real sign-in form, GETs in parallel."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect(),
                                                  urllib.request.HTTPCookieProcessor(self.jar))
        self.statuses: Counter = Counter()
        self.failures: list[tuple[int, str, str]] = []
        self.seconds = 0.0

    def request(self, path: str, data: dict | None = None) -> tuple[int, bytes]:
        body = urlencode(data).encode() if data is not None else None
        t0 = time.monotonic()
        try:
            request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - http://127.0.0.1 only
            with self.opener.open(request, timeout=60) as r:
                status, content = r.status, r.read()
        except urllib.error.HTTPError as exc:
            status, content = exc.code, exc.read()
        except OSError as exc:
            status, content = 0, str(exc).encode()
        self.seconds += time.monotonic() - t0
        self.statuses[status] += 1
        if status not in (200, 302):
            self.failures.append((status, path, content[:300].decode("utf-8", "replace")))
        return status, content

    def sign_in(self, email: str, password: str) -> None:
        status, page = self.request("/staff/sign-in")
        match = ANY_CSRF.search(page.decode("utf-8", "replace"))
        if status != 200 or not match:
            raise BenchError(f"GET /staff/sign-in answered {status} without a CSRF token")
        status, _ = self.request("/staff/sign-in", {"email": email, "password": password, "next": "",
                                                    "csrf_token": match.group(1) or match.group(2)})
        if status != 302:
            raise BenchError(f"signing in as {email} answered {status}, not a redirect")
        status, _ = self.request("/staff/cohort/")
        if status != 200:
            raise BenchError(f"the cohort page answered {status} after signing in as {email}")

    def many(self, paths: list[str]) -> dict[str, tuple[int, bytes]]:
        unique = list(dict.fromkeys(paths))
        with ThreadPoolExecutor(CLIENTS) as pool:
            return dict(zip(unique, pool.map(self.request, unique), strict=True))


def csv_path(world: World, s: Sel) -> str:
    return "/staff/cohort/download/csv?" + s.query(world.round_ids)


# ----- reading the server's answers ----------------------------------------------------------------


@dataclass
class Mean:
    n: int | None
    mean: float | None
    sd: float | None


@dataclass
class Parsed:
    protected: bool
    means: dict[tuple[str, int, str], Mean]
    change: dict[tuple[str, str], dict[str, float | None]]
    bands: dict[tuple[str, str], dict]
    alpha: dict[tuple[str, int, str], float | None] = field(default_factory=dict)


def _num(cell: str):
    cell = cell.strip()
    if cell == "":
        return None
    value = float(cell)
    return int(value) if value.is_integer() and "." not in cell else value


def parse_csv(world: World, text: str) -> Parsed:
    from survey_app.privacy.disclosure import PRIVACY_NOTE

    rows = list(csv.reader(io.StringIO(text)))
    round_ids = {name: rid for rid, name in world.rounds}
    factor_keys = {f.name: f.key for f in world.factors}
    band_index = {label: i for i, label in enumerate(world.band_labels)}
    sections: dict[str, tuple[bool, list[str], list[list[str]]]] = {}
    i = 0
    while i < len(rows) and rows[i]:
        i += 1
    while i < len(rows):
        if not rows[i]:
            i += 1
            continue
        title = rows[i][0]
        i += 1
        note = i < len(rows) and len(rows[i]) == 1 and rows[i][0] == PRIVACY_NOTE
        i += int(note)
        header = rows[i]
        i += 1
        body = []
        while i < len(rows) and rows[i]:
            body.append(rows[i])
            i += 1
        sections[title] = (note, header, body)
    protected = PRIVACY_NOTE in text
    means = {}
    for row in sections.get("Mean score in each round", (False, [], []))[2]:
        means[(row[0], round_ids[row[1]], factor_keys[row[2]])] = Mean(_num(row[3]), _num(row[4]), _num(row[5]))
    change = {}
    _, header, body = sections.get("Change on each factor", (False, [], []))
    for row in body:
        values = dict(zip(header, row, strict=True))
        change[(row[0], factor_keys[row[2]])] = {
            "n_base": _num(values["Pupils in first round"]), "n": _num(values["Pupils in both rounds"]),
            "before": _num(values["Mean before"]), "after": _num(values["Mean after"]),
            "change": _num(values["Mean change"]), "sd": _num(values["SD of changes"]),
        }
    bands: dict[tuple[str, str], dict] = {}
    for title, (_, _, body) in sections.items():
        if not title.startswith("Movement between bands"):
            continue
        for row in body:
            entry = bands.setdefault((row[0], factor_keys[row[1]]), {"rows": {}, "columns": None, "total": None})
            counts = [_num(c) for c in row[3:]]
            if row[2] == "All bands":
                entry["columns"], entry["total"] = counts[:-1], counts[-1]
            else:
                entry["rows"][band_index[row[2]]] = counts[-1]
    alpha = {}
    for row in sections.get("Reliability (Cronbach's alpha)", (False, [], []))[2]:
        alpha[(row[0], round_ids[row[1]], factor_keys[row[2]])] = _num(row[5])
    return Parsed(protected, means, change, bands, alpha)


def chart_json(page: str, name: str) -> dict | None:
    match = re.search(r'<script type="application/json" id="chart-' + name + r'">(.*?)</script>', page, re.S)
    return json.loads(match.group(1)) if match else None


def html_figure(page: str) -> dict | None:
    match = re.search(r"var figure = (\{.*?\});\nPlotly\.newPlot", page, re.S)
    return json.loads(match.group(1)) if match else None


HOVER_MEAN = re.compile(r"mean (-?\d+(?:\.\d+)?)(?: \(SD (-?\d+(?:\.\d+)?)\))?<br>Pupils: (\d+)")


def means_from_chart(world: World, figure: dict) -> dict[tuple[int, str], Mean]:
    """(round, factor) -> n and mean as the means chart carries them (bar x, hover text)."""
    out = {}
    for trace, (rid, _) in zip(figure.get("data", []), world.rounds, strict=False):
        for f, x, hover in zip(world.factors, trace.get("x") or [], trace.get("hovertext") or [], strict=False):
            m = HOVER_MEAN.search(hover)
            if m:
                out[(rid, f.key)] = Mean(int(m.group(3)), float(x), float(m.group(2)) if m.group(2) else None)
    return out


def page_means(world: World, page: str) -> dict[tuple[int, str], Mean]:
    """(round, factor) -> n and mean from the page's table of means (what a reader sees)."""
    start = page.find('id="means-heading"')
    section = page[start:page.find("</table>", start)]
    by_name = {f.name: f.key for f in world.factors}
    out = {}
    for name, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', section, re.S):
        values = re.findall(r'<td class="num">(.*?)</td>', cells, re.S)
        key = by_name.get(html.unescape(name).strip())
        for i, (rid, _) in enumerate(world.rounds):
            if key is None or 2 * i + 1 >= len(values):
                continue
            mean, n = (re.sub(r"<[^>]+>", "", v).strip() for v in values[2 * i:2 * i + 2])
            number = re.fullmatch(r"-?\d+(?:\.\d+)?", mean)
            out[(rid, key)] = Mean(int(n) if n.isdigit() else None, float(mean) if number else None, None)
    return out


def xlsx_means(world: World, data: bytes) -> dict[tuple[int, str], Mean]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    round_ids = {name: rid for rid, name in world.rounds}
    keys = {f.name: f.key for f in world.factors}
    out = {}
    for row in book["Means"].iter_rows(min_row=2, values_only=True):
        if row and row[0] == MAIN:
            out[(round_ids[row[1]], keys[row[2]])] = Mean(row[3], row[4], row[5])
    return out


# ----- precision of the charts of protected reports -------------------------------------------------


def _decimals_ok(value, digits: int) -> bool:
    return not isinstance(value, float) or abs(value - round(value, digits)) < 1e-6


def chart_precision(name: str, figure: dict, protected) -> tuple[int, list[str]]:
    """Return (numbers checked, findings) for one chart: no number of a protected figure may
    carry more precision than the page shows (scores 1 decimal, d_z 2, p 3, counts whole).

    `protected(trace, point, trace_dict)` says whether a point's figure counts an unshared
    pupil (figures of shared pupils only are exact, with all their digits, by design)."""
    checked, found = 0, []

    def check(value, digits, where):
        nonlocal checked
        if value is None or isinstance(value, str):
            return
        checked += 1
        if not _decimals_ok(value, digits):
            found.append(f"{name}: {where} = {value!r}")

    def hover(text, where, digits):
        for number in re.findall(r"(?<![\w#&])-?\d+\.(\d+)", re.sub(r"<[^>]+>", " ", str(text))):
            if len(number) > digits:
                found.append(f"{name}: {where} text has {len(number)} decimals: {str(text)[:80]!r}")

    for t, trace in enumerate(figure.get("data", [])):
        xs, texts = trace.get("x") or [], trace.get("hovertext") or []
        if name == "means":
            for i, x in enumerate(xs):
                if protected(t, i, trace):
                    check(x, 1, f"trace {t} x[{i}]")
                    if i < len(texts):
                        hover(texts[i], f"trace {t} hover[{i}]", 1)
        elif name in ("change", "subgroups"):
            err = trace.get("error_x") or {}
            for i, x in enumerate(xs):
                if not protected(t, i, trace):
                    continue
                check(x, 1, f"trace {t} x[{i}]")
                for key in ("array", "arrayminus"):
                    values = err.get(key) or []
                    if i < len(values):
                        check(values[i], 1, f"trace {t} error {key}[{i}]")
                if i < len(texts):
                    hover(texts[i], f"trace {t} hover[{i}]", 3)
        elif name == "distribution":
            for y in trace.get("y") or []:
                check(y, 0, f"trace {t} y")
            for text in texts:
                hover(text, f"trace {t} hover", 0)
    if name == "bands":
        # Shares are count/total of shown counts: each x * total / 100 must be a whole number.
        totals = {}
        for a in figure.get("layout", {}).get("annotations", []):
            m = re.search(r"of (\d+)$", str(a.get("text", "")))
            if m and isinstance(a.get("y"), int):
                totals[a["y"]] = int(m.group(1))
        for t, trace in enumerate(figure.get("data", [])):
            for i, x in enumerate(trace.get("x") or []):
                if x is None or i not in totals:
                    continue
                checked += 1
                if abs(x * totals[i] / 100 - round(x * totals[i] / 100)) > 1e-6:
                    found.append(f"bands: trace {t} row {i} share {x!r} of {totals[i]} is no whole count")
    return checked, found


def protected_points(world: World, sel: Sel, name: str):
    """The `protected` predicate of chart_precision for a chart of selection `sel`."""
    members = world.members(sel)
    before, later = world.round_ids

    def paired_hidden(pids, fkey) -> bool:
        return any(not world.pupils[p].shared and (p, before, fkey) in world.scores
                   and (p, later, fkey) in world.scores for p in pids)

    def predicate(t: int, i: int, trace: dict) -> bool:
        if name == "means":
            return t < len(world.rounds) and i < len(world.factors) and bool(
                world.hidden(members, world.rounds[t][0], world.factors[i].key))
        ys = trace.get("y") or []
        if i >= len(ys):
            return True
        factor = world.factors[min(len(world.factors) - 1, max(0, round(ys[i])))].key
        if name == "subgroups" and sel.split == "fsm":
            side = [p for p in members if world.pupils[p].fsm == (t == 0)]
            return paired_hidden(side, factor)
        return paired_hidden(members, factor)

    return predicate


# ----- scoring ---------------------------------------------------------------------------------


class Tally:
    """Estimates of one attack: (estimate, truth, cohort mean)."""

    def __init__(self, label: str, counted: bool = True):
        self.label, self.counted = label, counted
        self.rows: list[tuple[float, float, float]] = []

    def add(self, estimate, truth, mean) -> None:
        if estimate is None or truth is None or mean is None or not math.isfinite(estimate):
            return
        self.rows.append((float(estimate), float(truth), float(mean)))

    @property
    def n(self) -> int:
        return len(self.rows)

    def p(self) -> float:
        return 100 * sum(abs(e - t) <= WITHIN for e, t, _ in self.rows) / self.n if self.rows else 0.0

    def g(self) -> float:
        return 100 * sum(abs(t - m) <= WITHIN for _, t, m in self.rows) / self.n if self.rows else 0.0

    def mae(self) -> float:
        return sum(abs(e - t) for e, t, _ in self.rows) / self.n if self.rows else float("nan")

    def sign_p(self) -> float:
        """One-sided exact sign test that the attack recovers more often than guessing: of the
        estimates where exactly one of the two is within 5 points, how likely that many (or
        more) are the attack's by chance."""
        return sign_test(self.rows)

    def beats(self) -> bool:
        return bool(self.rows) and self.p() > self.g() and self.sign_p() < SIGNIFICANCE

    def line(self) -> str:
        flag = ""
        if self.rows and self.p() > self.g():
            flag = (f"  <- beats guessing (sign test p={self.sign_p():.1g})" if self.beats()
                    else f"  (P > G by chance? p={self.sign_p():.2f})")
        return f"  {self.label:<58} {self.n:6d} {self.p():7.1f} {self.g():7.1f} {self.mae():7.1f}{flag}"


SIGNIFICANCE = 0.01


def sign_test(rows: list[tuple[float, float, float]]) -> float:
    wins = sum(1 for e, t, m in rows if abs(e - t) <= WITHIN < abs(t - m))
    losses = sum(1 for e, t, m in rows if abs(t - m) <= WITHIN < abs(e - t))
    return binomial_tail(wins, wins + losses)


def binomial_tail(wins: int, n: int) -> float:
    """P(at least `wins` of n fair coin tosses): the one-sided exact sign test."""
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2 ** n


def band_middle(f: FactorInfo, band: int) -> float:
    edges = [0.0, *f.cutoffs, 100.0]
    return (edges[band] + edges[band + 1]) / 2


# ----- the attacks -----------------------------------------------------------------------------


def differencing(world: World, t: Target, a: Parsed, b: Parsed, sel_a: Sel, sel_b: Sel,
                 shown: Tally | None, known: Tally, means_a=None, means_b=None) -> None:
    """n(A) mean(A) - n(B) mean(B) for every round and factor t has a score in."""
    ma = means_a if means_a is not None else {(r, f): m for (c, r, f), m in a.means.items() if c == MAIN}
    mb = means_b if means_b is not None else {(r, f): m for (c, r, f), m in b.means.items() if c == MAIN}
    members_a, members_b = world.members(sel_a), world.members(sel_b)
    for rid in world.round_ids:
        for f in world.factors:
            truth = world.scores.get((t.pid, rid, f.key))
            x, y = ma.get((rid, f.key)), mb.get((rid, f.key))
            if truth is None or x is None or y is None or None in (x.n, x.mean, y.n, y.mean):
                continue
            if shown is not None:
                shown.add(x.n * x.mean - y.n * y.mean, truth, x.mean)
            n_a, n_b = len(world.scored(members_a, rid, f.key)), len(world.scored(members_b, rid, f.key))
            known.add(n_a * x.mean - n_b * y.mean, truth, x.mean)


def later_only(world: World, t: Target, a: Parsed, sel: Sel, shown: Tally, known: Tally) -> None:
    later = world.round_ids[1]
    members = world.members(sel)
    for f in world.factors:
        truth = world.scores.get((t.pid, later, f.key))
        m, c = a.means.get((MAIN, later, f.key)), a.change.get((MAIN, f.key))
        if truth is None or m is None or c is None or None in (m.n, m.mean, c["n"], c["after"]):
            continue
        shown.add(m.n * m.mean - c["n"] * c["after"], truth, m.mean)
        n_later = len(world.scored(members, later, f.key))
        n_paired = len([p for p in world.scored(members, later, f.key)
                        if (p, world.round_ids[0], f.key) in world.scores])
        known.add(n_later * m.mean - n_paired * c["after"], truth, m.mean)


def split_attack(world: World, t: Target, s: Parsed, sel: Sel, shown: Tally, known: Tally) -> None:
    p = world.pupils[t.pid]
    other = "FSM" if not p.fsm else "Not FSM"
    members = world.members(sel)
    mine_members = [m for m in members if world.pupils[m].fsm == p.fsm]
    other_members = [m for m in members if world.pupils[m].fsm != p.fsm]
    for rid in world.round_ids:
        for f in world.factors:
            truth = world.scores.get((t.pid, rid, f.key))
            w, o = s.means.get((MAIN, rid, f.key)), s.means.get((other, rid, f.key))
            if truth is None or w is None or o is None or None in (w.n, w.mean, o.n, o.mean):
                continue
            _, v_mine, _ = world.visible_sums(mine_members, rid, f.key)
            shown.add(w.n * w.mean - o.n * o.mean - v_mine, truth, w.mean)
            n_w = len(world.scored(members, rid, f.key))
            n_o = len(world.scored(other_members, rid, f.key))
            known.add(n_w * w.mean - n_o * o.mean - v_mine, truth, w.mean)


def band_attack(world: World, t: Target, a: Parsed, b: Parsed, attacker: Attacker, tally: Tally, bayes: Tally,
                prior_only: Tally) -> None:
    """t's band in each round from band movement of A against B (the one band whose row, or
    column, total moved), estimated (tally) as the band's middle score and (bayes) as the best
    window of the posterior given that t's adjusted score lies in that band: normal offsets,
    jointly over both rounds when both bands show, the shared pupils' prior."""
    before, later = world.round_ids
    for f in world.factors:
        ba, bb = a.bands.get((MAIN, f.key)), b.bands.get((MAIN, f.key))
        truths = (world.scores.get((t.pid, before, f.key)), world.scores.get((t.pid, later, f.key)))
        if ba is None or bb is None or None in truths:
            continue
        mean_a = {rid: a.means.get((MAIN, rid, f.key)) for rid in (before, later)}
        found: dict[int, int] = {}
        for which, (rid, truth) in enumerate(zip((before, later), truths, strict=True)):
            if which == 0:
                diffs = {i: ba["rows"].get(i) - bb["rows"].get(i) for i in range(len(world.band_labels))
                         if ba["rows"].get(i) is not None and bb["rows"].get(i) is not None}
            else:
                diffs = {i: ba["columns"][i] - bb["columns"][i] for i in range(len(world.band_labels))
                         if ba["columns"] and bb["columns"] and ba["columns"][i] is not None
                         and bb["columns"][i] is not None}
            if not diffs:
                continue
            top = max(abs(d) for d in diffs.values())
            best = [i for i, d in diffs.items() if abs(d) == top]
            m = mean_a[rid]
            if top == 0 or len(best) != 1 or m is None or m.mean is None:
                continue  # no band moved: the attack learns nothing here
            tally.add(band_middle(f, best[0]), truth, m.mean)
            found[rid] = best[0]
        grid = attacker.grids[f.key]
        means = {(rid, f.key): mean_a[rid].mean for rid in found}
        if len(found) == 2:
            joint = attacker.joints[f.key] * band_pair_likelihood(f, found[before], found[later], grid)
            attacker.score(t.pid, f.key, {}, joint, bayes, prior_only, None, means, {})
        else:
            posts = {rid: attacker.priors[(rid, f.key)] * band_likelihood(f, band, grid) for rid, band in found.items()}
            attacker.score(t.pid, f.key, posts, None, bayes, prior_only, None, means, {})


def heatmap_check(world: World, t: Target, page: str, tally: Tally) -> tuple[bool, bool]:
    """Return (target listed, medians equal those of the shared members)."""
    later = world.round_ids[1]
    listed = world.pupils[t.pid].name in page
    foot = re.search(r'<th scope="row">Group median</th>(.*?)</tr>', page, re.S)
    shown = re.findall(r'<td class="num">(.*?)</td>', foot.group(1), re.S) if foot else []
    members = [p for p in world.pupils.values() if t.group in p.groups and p.shared]
    same = len(shown) == len(world.factors)
    for f, text in zip(world.factors, shown, strict=False):
        values = sorted(world.scores[(p.id, later, f.key)] for p in members if (p.id, later, f.key) in world.scores)
        if not values:
            continue
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        same = same and text.strip() == f"{median:.0f}"
    if listed:  # would be a leak: read the target's row as the estimate
        row = page[page.find(world.pupils[t.pid].name):]
        row = row[:row.find("</tr>")]
        for f, text in zip(world.factors, re.findall(r'<td class="num[^"]*">\s*(\d+)', row), strict=False):
            tally.add(float(text), world.scores.get((t.pid, later, f.key)), float(text))
    return listed, same


# ----- the attacker's model of the protection, least squares and the Bayes/grid/alpha attacks ----------

# Offsets (survey_app.privacy.keys): LEVEL_SD x z_level(pupil, factor) + ROUND_SD x z_round(pupil, round,
# factor), each z standard normal. So one round's offset is normal with variance OFFSET_VAR, and one pupil's
# offsets on a factor at two rounds are jointly normal with covariance OFFSET_COV (the level part they share).
OFFSET_VAR = LEVEL_SD ** 2 + ROUND_SD ** 2
OFFSET_COV = LEVEL_SD ** 2
TOL = 0.05 + 1e-6  # a protected score figure is rounded to 1 decimal: within this of the exact one
ALPHA_TOL = 0.0005 + 1e-9  # an exact alpha in the CSV has 3 decimals


def normal_density(d, var: float) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    return np.exp(-0.5 * d * d / var) / math.sqrt(2 * math.pi * var)


def pair_density(d1, d2, var1: float, var2: float, cov: float) -> np.ndarray:
    """The density of a bivariate normal with mean 0 at (d1, d2), broadcast."""
    d1, d2 = np.asarray(d1, dtype=float), np.asarray(d2, dtype=float)
    det = var1 * var2 - cov * cov
    q = (var2 * d1 * d1 - 2 * cov * d1 * d2 + var1 * d2 * d2) / det
    return np.exp(-0.5 * q) / (2 * math.pi * math.sqrt(det))


def band_edges(f: FactorInfo, band: int) -> tuple[float, float]:
    """The adjusted scores a band holds (an adjusted score may lie outside 0-100; a cut-off
    belongs to the band above)."""
    edges = [-math.inf, *f.cutoffs, math.inf]
    return edges[band], edges[band + 1]


def band_likelihood(f: FactorInfo, band: int, grid: np.ndarray) -> np.ndarray:
    """P(adjusted score in the band | score) on the grid, for one round's normal offset."""
    lo, hi = band_edges(f, band)
    sd = math.sqrt(OFFSET_VAR)
    return ndtr((hi - grid) / sd) - ndtr((lo - grid) / sd)


def band_pair_likelihood(f: FactorInfo, band1: int, band2: int, grid: np.ndarray) -> np.ndarray:
    """P(adjusted scores in band1 at the first round and band2 at the later | both scores), on
    grid x grid: the first round's adjusted score integrated over its band, the later one's
    normal given it (the offsets' joint normal model)."""
    lo1, hi1 = band_edges(f, band1)
    lo2, hi2 = band_edges(f, band2)
    edges = np.linspace(max(lo1, grid[0] - 8 * math.sqrt(OFFSET_VAR)), min(hi1, grid[-1] + 8 * math.sqrt(OFFSET_VAR)),
                        401)
    y1 = (edges[:-1] + edges[1:]) / 2  # the midpoint rule
    beta, sd = OFFSET_COV / OFFSET_VAR, math.sqrt(OFFSET_VAR - OFFSET_COV ** 2 / OFFSET_VAR)
    density = normal_density(y1[None, :] - grid[:, None], OFFSET_VAR)  # (x1, y1)
    mu = grid[None, :, None] + beta * (y1[None, None, :] - grid[:, None, None])  # (x1, x2, y1)
    later = ndtr((hi2 - mu) / sd) - ndtr((lo2 - mu) / sd)
    return (density[:, None, :] * later).sum(axis=2) * (edges[1] - edges[0])


def least_squares(world: World, fetched: list[tuple[Sel, Parsed]], counts: str):
    """Solve every (round, factor) for the unshared pupils' adjusted scores.

    Returns {(pupil, round, factor): (estimate, sd)} for identifiable pupils."""
    out = {}
    for rid in world.round_ids:
        for f in world.factors:
            unknown: dict[int, int] = {}
            rows, rhs, weights = [], [], []
            for sel, parsed in fetched:
                m = parsed.means.get((MAIN, rid, f.key))
                if m is None or m.mean is None or m.n is None:
                    continue
                members = world.members(sel)
                hidden = world.hidden(members, rid, f.key)
                if not hidden:
                    continue
                n_true = len(world.scored(members, rid, f.key))
                n = n_true if counts == "known" else m.n
                _, v, _ = world.visible_sums(members, rid, f.key)
                for p in hidden:
                    unknown.setdefault(p, len(unknown))
                rows.append([unknown[p] for p in hidden])
                rhs.append(n * m.mean - v)
                weights.append(1.0 / n_true)
            if not rows:
                continue
            a = np.zeros((len(rows), len(unknown)))
            for i, cols in enumerate(rows):
                a[i, cols] = 1.0
            w = np.array(weights)
            aw, bw = a * w[:, None], np.array(rhs) * w
            solution, _, rank, sv = np.linalg.lstsq(aw, bw, rcond=None)
            _, s, vt = np.linalg.svd(aw, full_matrices=False)
            vr = vt[: int((s > s[0] * 1e-10).sum())] if s.size else vt[:0]
            resid = bw - aw @ solution
            # Weighted rows are means: their error is the rounding, sd about 0.029 when nothing else.
            s2 = float(resid @ resid) / (len(rows) - rank) if len(rows) > rank else 0.029 ** 2
            cov = np.linalg.pinv(aw.T @ aw) * s2
            for p, j in unknown.items():
                if vr.size and (vr[:, j] ** 2).sum() > 1 - 1e-8:
                    out[(p, rid, f.key)] = (float(solution[j]), math.sqrt(max(cov[j, j], 0.0)))
    return out



def score_grid(statements: int, steps: int = 3) -> np.ndarray:
    """Every score a factor can take: the mean of 2/3 or more of its statements on 0-100
    (`steps`: the answer scale's steps, 3 for 1-4)."""
    values = set()
    for answered in range(math.ceil(2 * statements / 3), statements + 1):
        for total in range(steps * answered + 1):
            values.add(round(100 * total / (steps * answered), 9))
    return np.array(sorted(values))


def prior_on(grid: np.ndarray, values: list[float]) -> np.ndarray:
    """The attacker's prior on a grid: the shared pupils' scores, plus one of every grid point."""
    prior = np.ones(len(grid))
    for v in values:
        prior[int(np.argmin(np.abs(grid - v)))] += 1
    return prior / prior.sum()


def joint_prior(grid: np.ndarray, pairs: list[tuple[float, float]]) -> np.ndarray:
    """The attacker's prior on (first-round score, later-round score) on grid x grid: the
    shared pupils' pairs smoothed by a Gaussian kernel (Scott's bandwidth in two dimensions,
    sd x n^(-1/6)), with 1% of a product of the margins so that no pair is impossible, its
    margins then fitted to prior_on of each round (iterative proportional fitting), so the
    grid's uneven frequencies stay as the shared pupils show them."""
    a, b = np.array([p[0] for p in pairs], dtype=float), np.array([p[1] for p in pairs], dtype=float)
    m1, m2 = prior_on(grid, a.tolist()), prior_on(grid, b.tolist())
    if len(pairs) < 3:
        return np.outer(m1, m2)
    h1 = max(1.0, float(a.std(ddof=1)) * len(a) ** (-1 / 6))
    h2 = max(1.0, float(b.std(ddof=1)) * len(b) ** (-1 / 6))
    k1 = np.exp(-0.5 * ((grid[:, None] - a[None, :]) / h1) ** 2)
    k2 = np.exp(-0.5 * ((grid[:, None] - b[None, :]) / h2) ** 2)
    joint = k1 @ k2.T
    joint = 0.99 * joint / joint.sum() + 0.01 * np.outer(m1, m2)
    for _ in range(200):
        joint *= (m1 / joint.sum(axis=1))[:, None]
        joint *= (m2 / joint.sum(axis=0))[None, :]
    return joint / joint.sum()


def best_window(points: np.ndarray, mass: np.ndarray, low: float = 0.0, high: float = 100.0) -> float | None:
    """The estimate with the most posterior mass within WITHIN points (of several, the one
    nearest the posterior mean)."""
    total = mass.sum()
    if total <= 0 or not math.isfinite(total):
        return None
    support = points[mass > 0]
    candidates = np.unique(np.concatenate([np.arange(low, high + 0.01, 0.5), support]))
    inside = np.abs(points[None, :] - candidates[:, None]) <= WITHIN
    held = inside @ mass
    best = candidates[held >= held.max() * (1 - 1e-9)]
    mean = float((points * mass).sum() / total)
    return float(best[int(np.argmin(np.abs(best - mean)))])


def change_distribution(grid: np.ndarray, joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distribution of (later score - first score) under a posterior on grid x grid."""
    diffs = np.round((grid[None, :] - grid[:, None]).ravel(), 9)
    values, where = np.unique(diffs, return_inverse=True)
    return values, np.bincount(where.ravel(), weights=joint.ravel(), minlength=len(values))


class Attacker:
    """The attacker's model: each factor's score grid, the prior from the shared pupils' scores
    (per round, prior_on; over both rounds, joint_prior of their pairs) and the offsets' normal
    model (OFFSET_VAR, OFFSET_COV). Turns posteriors into estimates and scores them."""

    def __init__(self, world: World):
        self.world = world
        self.before, self.later = world.round_ids
        steps = world.scale[1] - world.scale[0]
        self.grids = {f.key: score_grid(f.statements, steps) for f in world.factors}
        values = defaultdict(list)
        for (pid, rid, fkey), v in world.scores.items():
            if world.pupils[pid].shared:
                values[(rid, fkey)].append(v)
        self.priors = {(rid, f.key): prior_on(self.grids[f.key], values[(rid, f.key)])
                       for rid in world.round_ids for f in world.factors}
        self.guesses = {key: best_window(self.grids[key[1]], prior) for key, prior in self.priors.items()}
        shared = [p for p in world.pupils.values() if p.shared]
        self.joints = {}
        for f in world.factors:
            pairs = [(world.scores[(p.id, self.before, f.key)], world.scores[(p.id, self.later, f.key)])
                     for p in shared if (p.id, self.before, f.key) in world.scores
                     and (p.id, self.later, f.key) in world.scores]
            self.joints[f.key] = joint_prior(self.grids[f.key], pairs)

    def score(self, pid: int, fkey: str, posts: dict[int, np.ndarray], joint: np.ndarray | None, tally: Tally,
              prior_only: Tally | None, change_tally: Tally | None, cohort_means: dict, cohort_change: dict) -> None:
        """Score the estimates of one pupil and factor: from `joint` (a posterior on grid x grid)
        for both rounds and the change, else from each round's posterior in `posts`. The prior's
        own best guess for the same score goes to `prior_only` (what the figures add)."""
        grid = self.grids[fkey]
        if joint is not None:
            posts = {self.before: joint.sum(axis=1), self.later: joint.sum(axis=0)}
        for rid, post in posts.items():
            estimate = best_window(grid, post)
            if estimate is None:
                continue
            truth, mean = self.world.scores.get((pid, rid, fkey)), cohort_means.get((rid, fkey))
            tally.add(estimate, truth, mean)
            if prior_only is not None:
                prior_only.add(self.guesses[(rid, fkey)], truth, mean)
        if joint is not None and change_tally is not None:
            values, mass = change_distribution(grid, joint)
            first, second = (self.world.scores.get((pid, r, fkey)) for r in (self.before, self.later))
            if first is not None and second is not None:
                change_tally.add(best_window(values, mass, -100.0, 100.0), second - first, cohort_change.get(fkey))


def bayes_attack(world: World, attacker: Attacker, ls: dict, tally: Tally, prior_only: Tally, change_tally: Tally,
                 cohort_means: dict, cohort_change: dict, stats: Counter) -> None:
    """6c: the posterior of each unshared pupil's score given its least-squares adjusted
    score(s) y (error sd s): y - score is normal with variance OFFSET_VAR + s^2; where both
    rounds are solved, the two are jointly normal (covariance OFFSET_COV) and the prior is the
    joint one; the posterior lies on the score grid."""
    before, later = world.round_ids
    for pid in sorted({pid for pid, _, _ in ls}):
        for f in world.factors:
            grid = attacker.grids[f.key]
            have = {rid: ls[(pid, rid, f.key)] for rid in (before, later) if (pid, rid, f.key) in ls}
            if len(have) == 2:
                (y1, s1), (y2, s2) = have[before], have[later]
                like = pair_density(y1 - grid[:, None], y2 - grid[None, :], OFFSET_VAR + s1 * s1,
                                    OFFSET_VAR + s2 * s2, OFFSET_COV)
                attacker.score(pid, f.key, {}, attacker.joints[f.key] * like, tally, prior_only, change_tally,
                               cohort_means, cohort_change)
                stats["joint"] += 1
            elif have:
                rid, (y, s) = next(iter(have.items()))
                post = attacker.priors[(rid, f.key)] * normal_density(y - grid, OFFSET_VAR + s * s)
                attacker.score(pid, f.key, {rid: post}, None, tally, prior_only, None, cohort_means, cohort_change)
                stats["single round"] += 1


@dataclass
class Constraint:
    """What one single-target selection says about the target's adjusted score(s)."""

    kind: str  # "round" (a round's mean and SD, or a paired mean) or "change"
    rid: int
    n: int
    v: float  # shared pupils' sum (of scores, or of changes)
    q: float  # shared pupils' sum of squares
    mean: float | None
    sd: float | None


def _feasible(y: np.ndarray, cs: list[Constraint]) -> np.ndarray:
    ok = np.ones(len(y), dtype=bool)
    for c in cs:
        if c.mean is not None:
            ok &= np.abs((c.v + y) / c.n - c.mean) <= TOL
        if c.sd is not None and c.n >= 2:
            var = np.maximum(0.0, (c.q + y * y - (c.v + y) ** 2 / c.n) / (c.n - 1))
            ok &= np.abs(np.sqrt(var) - c.sd) <= TOL
    return ok


def feasible_set(cs: list[Constraint], samples: int = 400) -> np.ndarray:
    """The adjusted scores of one round consistent with every constraint, as evenly spaced
    points: the interval the rounded means allow (any adjusted score if none), sampled finely,
    cut by the SDs, then sampled again over what is left."""
    spread = 12 * math.sqrt(OFFSET_VAR)  # offsets are normal: an adjusted score may lie anywhere
    lo, hi = -spread, 100.0 + spread
    for c in cs:
        if c.mean is not None:
            lo, hi = max(lo, c.n * (c.mean - TOL) - c.v), min(hi, c.n * (c.mean + TOL) - c.v)
    if lo > hi:
        return np.zeros(0)
    y = np.linspace(lo, hi, max(samples, min(100001, int((hi - lo) / 0.005) + 1)))
    ok = _feasible(y, cs)
    if not ok.any():
        return np.zeros(0)
    step = float(y[1] - y[0]) if len(y) > 1 else 0.0
    first = y[ok]
    lo, hi = max(lo, float(first.min()) - step), min(hi, float(first.max()) + step)
    y = np.linspace(lo, hi, samples)
    ok = _feasible(y, cs)
    return y[ok] if ok.any() else first


def _representatives(y1: np.ndarray, y2: np.ndarray, bins: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feasible (y1, y2) pairs (evenly spaced, so equally weighted) gathered into at most
    bins x bins cells: each cell's mean point and its number of pairs (the offsets' density
    hardly changes across a cell of a region a few points wide)."""
    def index(y):
        lo, hi = float(y.min()), float(y.max())
        if hi <= lo:
            return np.zeros(len(y), dtype=int)
        return np.minimum(bins - 1, ((y - lo) / (hi - lo) * bins).astype(int))

    cell = index(y1) * bins + index(y2)
    count = np.bincount(cell, minlength=bins * bins).astype(float)
    s1 = np.bincount(cell, weights=y1, minlength=bins * bins)
    s2 = np.bincount(cell, weights=y2, minlength=bins * bins)
    keep = count > 0
    return s1[keep] / count[keep], s2[keep] / count[keep], count[keep]


def grid_attack(world: World, attacker: Attacker, t: Target, constraints: dict[str, list[Constraint]],
                tally: Tally, prior_only: Tally, change_tally: Tally, cohort_means: dict, cohort_change: dict,
                stats: Counter) -> None:
    """6d: the constraints of every single-target selection pin t's adjusted score(s) to a
    small set (feasible_set); the likelihood of each grid score (pair) is the offsets' normal
    density integrated over that set, jointly over both rounds (with the paired mean change and
    its SD constraining the pair) where both rounds are pinned; times the prior, on the grid."""
    before, later = world.round_ids
    for f in world.factors:
        grid = attacker.grids[f.key]
        cs = constraints.get(f.key, [])
        points: dict[int, np.ndarray] = {}
        for rid in (before, later):
            mine = [c for c in cs if c.kind == "round" and c.rid == rid]
            if (t.pid, rid, f.key) not in world.scores or not mine:
                continue
            y = feasible_set(mine)
            if not y.size:
                stats["infeasible"] += 1
                continue
            points[rid] = y
            stats["pinned rounds"] += 1
            stats["pinned width"] += float(y.max() - y.min())
        if len(points) == 2:
            y1, y2 = points[before], points[later]
            ok = np.ones((len(y1), len(y2)), dtype=bool)
            changes = [c for c in cs if c.kind == "change"]
            if changes:
                ok = _feasible((y2[None, :] - y1[:, None]).ravel(), changes).reshape(ok.shape)
            if ok.any():
                i1, i2 = np.nonzero(ok)
                r1, r2, w = _representatives(y1[i1], y2[i2])
                like = np.einsum("k,kij->ij", w, pair_density(r1[:, None, None] - grid[None, :, None],
                                                              r2[:, None, None] - grid[None, None, :],
                                                              OFFSET_VAR, OFFSET_VAR, OFFSET_COV))
                attacker.score(t.pid, f.key, {}, attacker.joints[f.key] * like, tally, prior_only, change_tally,
                               cohort_means, cohort_change)
                stats["joint"] += 1
                stats["posteriors"] += 2
                continue
            stats["infeasible"] += 1  # the change figures rule out every pair: each round on its own
        posts = {rid: attacker.priors[(rid, f.key)] * normal_density(y[:, None] - grid[None, :], OFFSET_VAR).sum(axis=0)
                 for rid, y in points.items()}
        attacker.score(t.pid, f.key, posts, None, tally, prior_only, None, cohort_means, cohort_change)
        stats["single round"] += len(posts)
        stats["posteriors"] += len(posts)


def single_target_constraints(world: World, t: Target, fetched: list[tuple[Sel, Parsed]]) -> dict[str, list]:
    """Constraints on t's adjusted scores from every fetched selection whose only unshared
    pupil (with a score on the factor) is t."""
    before, later = world.round_ids
    out: dict[str, list[Constraint]] = defaultdict(list)
    for sel, parsed in fetched:
        members = world.members(sel)
        if t.pid not in members:
            continue
        for f in world.factors:
            for rid in (before, later):
                m = parsed.means.get((MAIN, rid, f.key))
                if m is None or m.mean is None or world.hidden(members, rid, f.key) != [t.pid]:
                    continue
                k, v, q = world.visible_sums(members, rid, f.key)
                out[f.key].append(Constraint("round", rid, k + 1, v, q, m.mean, m.sd))
            c = parsed.change.get((MAIN, f.key))
            if c is None or c["n"] is None:
                continue
            paired = [p for p in members if (p, before, f.key) in world.scores and (p, later, f.key) in world.scores]
            if [p for p in paired if not world.pupils[p].shared] != [t.pid]:
                continue
            shared = [p for p in paired if world.pupils[p].shared]
            b = [world.scores[(p, before, f.key)] for p in shared]
            a = [world.scores[(p, later, f.key)] for p in shared]
            d = [y - x for x, y in zip(b, a, strict=True)]
            n = len(shared) + 1
            out[f.key].append(Constraint("round", before, n, sum(b), sum(x * x for x in b), c["before"], None))
            out[f.key].append(Constraint("round", later, n, sum(a), sum(x * x for x in a), c["after"], None))
            out[f.key].append(Constraint("change", later, n, sum(d), sum(x * x for x in d), c["change"], c["sd"]))
    return out


def _alpha(n, s, sq, t, tq, k: int) -> np.ndarray:
    """Cronbach's alpha from moments (scoring.reliability.alpha_from_moments), vectorised; nan
    where the app gives None."""
    item_var = ((sq - s * s / n) / (n - 1)).sum(axis=-1)
    total_var = (tq - t * t / n) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = k / (k - 1) * (1 - item_var / total_var)
    return np.where(total_var > 0, out, np.nan)




def alpha_attack(world: World, attacker: Attacker, t: Target, fetched: list[tuple[Sel, Parsed]], tally: Tally,
                 prior_only: Tally, cohort_means: dict, stats: Counter) -> None:
    """6e, a check: the app works Cronbach's alpha out over the pupils the viewer may see one
    by one only, so by its model a shown alpha is the alpha of the selection's shared
    complete-case pupils (whose answers their profiles show) whatever t answered: every answer
    pattern t could have given is equally likely, and the posterior is the prior. For every
    selection whose one unshared complete-case pupil is t, the attack checks the model (shown
    alpha = the shared pupils' alpha, to the 3 decimals shown) and counts the patterns that
    would fit if alpha did count t (exactly); where the model fails, it takes alpha to count t
    and keeps only the patterns that fit. Estimate: the best window of the posterior."""
    lo, hi = world.scale
    for f in world.factors:
        k = f.statements
        patterns = np.array(np.meshgrid(*[np.arange(lo, hi + 1)] * k, indexing="ij")).reshape(k, -1).T.astype(float)
        scores = np.round(((patterns - lo) / (hi - lo) * 100).mean(axis=1), 9)
        values, which = np.unique(scores, return_inverse=True)
        for rid in world.round_ids:
            if (t.pid, rid, f.key) not in world.items or (t.pid, rid, f.key) not in world.scores:
                continue
            # The prior on t's pattern: the shared complete-case pupils' scores (prior_on the grid of
            # complete-case scores), spread evenly over the patterns with each score.
            shared = [world.scores[(p, rid, f.key)] for p in world.pupils
                      if world.pupils[p].shared and (p, rid, f.key) in world.items]
            score_prior = prior_on(values, shared)
            prior = score_prior[which] / np.bincount(which)[which]
            truth_pattern = np.array(world.items[(t.pid, rid, f.key)], dtype=float)
            true_index = int(np.argmin(np.abs(patterns - truth_pattern).sum(axis=1)))
            like = np.ones(len(patterns))
            used = 0
            for sel, parsed in fetched:
                shown_alpha = parsed.alpha.get((MAIN, rid, f.key))
                if shown_alpha is None:
                    continue
                members = world.members(sel)
                complete = [p for p in members if (p, rid, f.key) in world.items]
                if t.pid not in complete or [p for p in complete if not world.pupils[p].shared] != [t.pid]:
                    continue
                rows = np.array([world.items[(p, rid, f.key)] for p in complete if p != t.pid], dtype=float)
                if len(rows) < 2:
                    continue
                tot = rows.sum(axis=1)
                shared_alpha = float(_alpha(len(rows), rows.sum(axis=0), (rows ** 2).sum(axis=0), tot.sum(),
                                            (tot ** 2).sum(), k))
                s, sq = rows.sum(axis=0) + patterns, (rows ** 2).sum(axis=0) + patterns ** 2
                ts, tq = tot.sum() + patterns.sum(axis=1), (tot ** 2).sum() + patterns.sum(axis=1) ** 2
                with np.errstate(invalid="ignore"):
                    fits = np.abs(_alpha(len(rows) + 1, s, sq, ts, tq, k) - shown_alpha) <= ALPHA_TOL
                stats["alphas"] += 1
                stats["fit if t counted"] += int(fits.sum())
                stats["true fits if t counted"] += int(fits[true_index])
                if math.isfinite(shared_alpha) and abs(shared_alpha - shown_alpha) <= ALPHA_TOL:
                    stats["model holds"] += 1  # the shown alpha does not depend on t: no pattern is ruled out
                else:
                    stats["model fails"] += 1
                    like = like * fits
                used += 1
                if used >= 40:
                    break
            if not used:
                continue
            stats["posteriors"] += 1
            post = prior * like
            if post.sum() == 0:
                stats["infeasible"] += 1
                continue
            estimate = best_window(scores, post)
            truth, mean = world.scores[(t.pid, rid, f.key)], cohort_means.get((rid, f.key))
            if estimate is not None:
                tally.add(estimate, truth, mean)
                prior_only.add(best_window(scores, prior), truth, mean)


# ----- exactness of what the lead may see one by one ----------------------------------------------


def exact_check(world: World, sel: Sel, parsed: Parsed) -> tuple[int, int, list[str]]:
    """Compare every mean, SD, n, paired n and mean before/after/change with the database."""
    compared, withheld, wrong = 0, 0, []
    if parsed.protected:
        wrong.append(f"{sel.query([])}: report says figures are adjusted")
    members = world.members(sel)
    before, later = world.round_ids

    def same(label, shown, exact, digits=2):
        nonlocal compared, withheld
        if shown is None:
            withheld += 1  # suppression (documented), not an adjustment
            return
        compared += 1
        ok = shown == exact if digits is None else abs(shown - exact) <= 0.5 * 10 ** -digits + 1e-9
        if not ok:
            wrong.append(f"{sel.query([])} {label}: shown {shown}, exact {exact}")

    for f in world.factors:
        for rid in (before, later):
            values = [world.scores[(p, rid, f.key)] for p in members if (p, rid, f.key) in world.scores]
            m = parsed.means.get((MAIN, rid, f.key))
            if m is None or not values:
                continue
            n = len(values)
            same(f"{f.key} r{rid} n", m.n, n, None)
            if n >= 5:
                mean = sum(values) / n
                sd = math.sqrt(max(0.0, (sum(v * v for v in values) - sum(values) ** 2 / n) / (n - 1)))
                same(f"{f.key} r{rid} mean", m.mean, mean)
                same(f"{f.key} r{rid} sd", m.sd, sd)
        c = parsed.change.get((MAIN, f.key))
        pairs = [(world.scores[(p, before, f.key)], world.scores[(p, later, f.key)]) for p in members
                 if (p, before, f.key) in world.scores and (p, later, f.key) in world.scores]
        if c is None or len(pairs) < 5:
            continue
        n = len(pairs)
        same(f"{f.key} paired n", c["n"], n, None)
        same(f"{f.key} mean before", c["before"], sum(b for b, _ in pairs) / n)
        same(f"{f.key} mean after", c["after"], sum(a for _, a in pairs) / n)
        same(f"{f.key} mean change", c["change"], sum(a - b for b, a in pairs) / n)
    return compared, withheld, wrong


# ----- selections --------------------------------------------------------------------------------------


def around(world: World, pid: int, rng: random.Random, k: int, single: bool) -> list[Sel]:
    """Random selections (schools x years x gender x FSM x EAL x SEN) that include pupil pid;
    with `single`, only those whose one unshared pupil is pid."""
    p = world.pupils[pid]
    others = [s for s in world.schools if s != p.school]
    found: dict[frozenset, tuple[int, Sel]] = {}
    rounds = [r for r in world.round_ids if any((pid, r, f.key) in world.scores for f in world.factors)]
    for _ in range(600):
        if len(found) >= 4 * k:
            break
        schools = tuple(sorted({p.school, *rng.sample(others, rng.choice((0, 1, 1, 2, 3)))}))
        years = tuple(sorted({p.year, *rng.sample([y for y in YEARS if y != p.year], rng.choice((0, 0, 1, 2)))}))
        sel = Sel(schools=schools, years=years,
                  genders=(p.gender,) if rng.random() < 0.5 and p.gender else (),
                  sen=(p.sen,) if rng.random() < 0.25 else (),
                  fsm=p.fsm if rng.random() < 0.4 else None, eal=p.eal if rng.random() < 0.3 else None)
        members = world.members(sel)
        hidden = {m for m in members if not world.pupils[m].shared}
        if single and hidden != {pid}:
            continue
        n = min(len([m for m in members if any((m, r, f.key) in world.scores for f in world.factors)])
                for r in rounds) if rounds else 0
        if not 5 <= n <= (30 if single else 40):
            continue
        found.setdefault(frozenset(members), (n, sel))
    ordered = sorted(found.values(), key=lambda item: item[0])
    return [sel for _, sel in ordered[:k]]


# ----- the run ---------------------------------------------------------------------------------------


def run(backend: str, n_targets: int, seed: int) -> int:
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {message}", flush=True)

    print(f"disclosure benchmark: {backend}, {n_targets} targets, seed {seed}")
    try:
        database = Database(backend)
    except BenchError as exc:
        print(f"!!! could not run: {exc}")
        return 2
    server = None
    try:
        progress("fresh database: db upgrade, demo-data, generated pupils (app models and store_scores)")
        world = build_world(database.url, database.tmpdir, n_targets, seed)
        hidden_all = [p.id for p in world.pupils.values() if not p.shared]
        progress(f"{len(world.pupils)} pupils in {len(world.schools)} schools, {len(hidden_all)} not shared "
                 f"({len(world.targets)} generated targets, {sum(t.late for t in world.targets)} of them only in "
                 f"the later round); rounds {', '.join(n for _, n in world.rounds)}")
        server = Server(database.url, WORKERS, "gthread", THREADS, database.tmpdir, "wsgi:app")
        server.wait_ready(timeout=90)
        lead, admin = Staff(server.base), Staff(server.base)
        lead.sign_in(LEAD, world.passwords[LEAD])
        admin.sign_in(ADMIN, world.passwords[ADMIN])
        progress(f"gunicorn ready at {server.base}; lead and admin signed in through the sign-in form")
        result = attack(world, lead, admin, seed, progress)
        errors = [line for line in server.log_tail(100000).splitlines()
                  if any(w in line for w in ("Traceback", "ERROR", "CRITICAL", "WORKER TIMEOUT"))]
        if errors:
            print(f"server log: {len(errors)} error lines, e.g. {errors[0][:200]}")
        print(f"Wall time {time.monotonic() - started:.0f} s.")
        print(result)
        return 0
    except (BenchError, OSError) as exc:
        print(f"!!! could not run: {exc}")
        if server is not None:
            print(server.log_tail())
        return 2
    finally:
        if server is not None:
            server.stop()
        database.close()
        clear_sessions()  # the staff sessions this run kept in the benchmarks' Redis database


def attack(world: World, lead: Staff, admin: Staff, seed: int, progress) -> str:
    rng = random.Random(seed + 7)
    before, later = world.round_ids
    all_years = set(YEARS)
    plan: dict[int, dict[str, Sel]] = {}
    for t in world.targets:
        plan[t.pid] = {
            "flag_a": Sel(flags=(t.flag,)),
            "flag_b": Sel(flags=(t.flag,), years=tuple(sorted(all_years - {t.year}))),
            "group_a": Sel(groups=(t.group,)),
            "group_b": Sel(groups=(t.group,), schools=tuple(sorted(set(world.schools) - {t.school}))),
            "year_a": Sel(schools=(t.school,), years=tuple(sorted({t.year, *t.shared_years}))),
            "year_b": Sel(schools=(t.school,), years=t.shared_years),
        }
        plan[t.pid]["split"] = Sel(schools=(t.school,), years=plan[t.pid]["year_a"].years, split="fsm")
    families = {t.pid: around(world, t.pid, rng, FAMILY, single=True) for t in world.targets}
    ls_sels = [s for p in sorted(p.id for p in world.pupils.values() if not p.shared)
               for s in around(world, p, rng, LS_PER_PUPIL, single=False)]
    whole = Sel()
    shared_school = next(sid for sid, name in sorted(world.schools.items()) if name.startswith("Riverside Sports"))
    first = world.targets[0]
    extra_exact = [Sel(schools=(shared_school,)), Sel(schools=(first.school,), years=first.shared_years)]

    # ---- fetch everything the lead asks for (three at a time) ----
    csv_sels = [whole, *extra_exact, *[s for entry in plan.values() for s in entry.values()],
                *[s for fam in families.values() for s in fam], *ls_sels]
    csv_sels = list(dict.fromkeys(csv_sels))
    q = lambda s: s.query(world.round_ids)  # noqa: E731
    paths = [csv_path(world, s) for s in csv_sels]
    paths.append(csv_path(world, whole))  # the same query again, later (attack 6a)
    for t in world.targets:
        paths.append("/staff/cohort/download/xlsx?" + q(plan[t.pid]["flag_a"]))
        paths.append("/staff/cohort/?" + q(plan[t.pid]["flag_a"]))
        paths.append("/staff/cohort/?" + q(plan[t.pid]["flag_b"]))
        paths.append(f"/staff/groups/{t.group}/heatmap?round={later}")
    for t in world.targets[:HTML_TARGETS]:
        for key in ("flag_a", "flag_b"):
            paths.append("/staff/cohort/download/html?" + q(plan[t.pid][key]) + "&chart=means")
    for t in world.targets[:2]:
        for chart in ("change", "bands", "distribution"):
            paths.append("/staff/cohort/download/html?" + q(plan[t.pid]["flag_a"]) + f"&chart={chart}")
        paths.append("/staff/cohort/download/html?" + q(plan[t.pid]["split"]) + "&chart=subgroups")
    t0 = time.monotonic()
    got = lead.many(paths)
    repeat = lead.many([csv_path(world, plan[t.pid]["flag_a"]) + "&" for t in world.targets])
    progress(f"lead: {sum(lead.statuses.values())} requests in {time.monotonic() - t0:.0f} s "
             f"({len(csv_sels)} selections as CSV, plus XLSX, pages, HTML, heatmaps)")

    def parsed(s: Sel) -> Parsed | None:
        status, body = got[csv_path(world, s)]
        return parse_csv(world, body.decode("utf-8-sig")) if status == 200 else None

    reports = {s: parsed(s) for s in csv_sels}
    fetched = [(s, r) for s, r in reports.items() if r is not None and s.split is None]
    whole_r = reports[whole]
    cohort_means = {(rid, f): m.mean for (c, rid, f), m in (whole_r.means.items() if whole_r else []) if c == MAIN}
    cohort_change = {f: c["change"] for (c0, f), c in (whole_r.change.items() if whole_r else []) if c0 == MAIN}

    tallies = {key: Tally(label) for key, label in [
        ("1fs", "1  flag differencing, counts shown"), ("1fk", "1  flag differencing, counts known"),
        ("1gs", "1  group differencing, counts shown"), ("1gk", "1  group differencing, counts known"),
        ("1ys", "1  year-filter differencing, counts shown"), ("1yk", "1  year-filter differencing, counts known"),
        ("2s", "2  later round only (all x mean - paired x mean after), shown"),
        ("2k", "2  later round only, counts known"),
        ("3ps", "3  page chart JSON (bars + hover n), counts shown"),
        ("3pk", "3  page chart JSON, counts known"),
        ("3hs", "3  interactive HTML hover data, counts shown"), ("3hk", "3  interactive HTML, counts known"),
        ("4ss", "4a split (FSM): whole - other side - shared, shown"), ("4sk", "4a split, counts known"),
        ("4b", "4b band movement A vs B (band middle)"),
        ("4bb", "4b band movement A vs B, Bayes (normal offsets, prior)"),
        ("4h", "4c heatmap of the target's group"),
        ("5s", "5  least squares, counts shown"), ("5k", "5  least squares, counts known"),
        ("6a", "6a same selection by CSV x2, XLSX, page: averaged"),
        ("6b", "6b rounds averaged (least squares)"),
        ("6c", "6c Bayes on least squares: normal offsets, joint rounds"),
        ("6d", "6d score grid: single-target constraints, normal offsets"),
        ("6e", "6e Cronbach's alpha (shared pupils only): a check"),
    ]}
    context = {"a1": Tally("1  differencing (flag, group, year), admin", False),
               "a5": Tally("5  least squares, admin", False),
               "cls": Tally("change between rounds, Bayes on least squares (lead)", False),
               "cgrid": Tally("change between rounds, score grid (lead)", False),
               "prior": Tally("prior alone, no figure (for 6c's estimates)", False)}
    # The prior's own best guess for the estimates of each Bayes attack: what the figures add.
    prior_only = {key: Tally(f"prior alone for {key}", False) for key in ("4bb", "6c", "6d", "6e")}
    attacker = Attacker(world)

    # ---- attacks 1-4 ----
    missing = 0
    heat_listed = heat_same = 0
    routes_checked = routes_differ = 0
    precision_checked, precision_found = 0, []
    chart_vs_csv = 0
    for t in world.targets:
        sels = plan[t.pid]
        r = {k: reports.get(s) for k, s in sels.items()}
        if any(v is None for v in r.values()):
            missing += 1
            continue
        members_a = world.members(sels["flag_a"])

        def differs(x: Mean | None, y: Mean | None, key, members_a=members_a) -> bool:
            """Two routes' figures disagree: protected ones must be identical; exact ones may
            differ only by the routes' rounding (the page shows 1 decimal, files 2)."""
            if x is None or y is None or x.n != y.n or (x.mean is None) != (y.mean is None):
                return True
            tolerance = 1e-9 if world.hidden(members_a, *key) else 0.05 + 1e-9
            return x.mean is not None and abs(x.mean - y.mean) > tolerance
        for key, (a, b) in {"f": ("flag_a", "flag_b"), "g": ("group_a", "group_b"), "y": ("year_a", "year_b")}.items():
            differencing(world, t, r[a], r[b], sels[a], sels[b], tallies[f"1{key}s"], tallies[f"1{key}k"])
        if t.late:
            later_only(world, t, r["group_a"], sels["group_a"], tallies["2s"], tallies["2k"])
        # 3: the page's chart JSON
        pages = {k: got["/staff/cohort/?" + q(sels[k])] for k in ("flag_a", "flag_b")}
        if all(s == 200 for s, _ in pages.values()):
            texts = {k: body.decode("utf-8") for k, (_, body) in pages.items()}
            figs = {k: chart_json(texts[k], "means") for k in texts}
            if all(figs.values()):
                cm = {k: means_from_chart(world, figs[k]) for k in figs}
                differencing(world, t, r["flag_a"], r["flag_b"], sels["flag_a"], sels["flag_b"], tallies["3ps"],
                             tallies["3pk"], cm["flag_a"], cm["flag_b"])
                csv_a = {(rid, f): m for (c, rid, f), m in r["flag_a"].means.items() if c == MAIN}
                chart_vs_csv += sum(1 for k, m in cm["flag_a"].items() if differs(csv_a.get(k), m, k))
            for name in ("change", "means", "bands", "distribution"):
                fig = chart_json(texts["flag_a"], name)
                if fig:
                    n, found = chart_precision(name, fig, protected_points(world, sels["flag_a"], name))
                    precision_checked += n
                    precision_found += found
            # 6a: the same selection by other routes, and again
            routes = [{(rid, f): m for (c, rid, f), m in r["flag_a"].means.items() if c == MAIN}]
            status, body = repeat.get(csv_path(world, sels["flag_a"]) + "&", (0, b""))
            if status == 200:
                routes.append({(rid, f): m for (c, rid, f), m in
                               parse_csv(world, body.decode("utf-8-sig")).means.items() if c == MAIN})
            status, body = got["/staff/cohort/download/xlsx?" + q(sels["flag_a"])]
            if status == 200:
                routes.append(xlsx_means(world, body))
            routes.append(page_means(world, texts["flag_a"]))
            averaged = {}
            for key, m in routes[0].items():
                others = [rt.get(key) for rt in routes[1:]]
                for o in others:
                    routes_checked += 1
                    routes_differ += differs(m, o, key)
                values = [o for o in [m, *others] if o is not None and o.mean is not None and o.n is not None]
                if values:
                    averaged[key] = Mean(round(sum(v.n for v in values) / len(values)),
                                         sum(v.mean for v in values) / len(values), None)
            csv_b = {(rid, f): m for (c, rid, f), m in r["flag_b"].means.items() if c == MAIN}
            differencing(world, t, r["flag_a"], r["flag_b"], sels["flag_a"], sels["flag_b"], None, tallies["6a"],
                         averaged, csv_b)
        # 3: the interactive HTML downloads
        html_a = got.get("/staff/cohort/download/html?" + q(sels["flag_a"]) + "&chart=means")
        html_b = got.get("/staff/cohort/download/html?" + q(sels["flag_b"]) + "&chart=means")
        if html_a and html_b and html_a[0] == 200 and html_b[0] == 200:
            fa, fb = html_figure(html_a[1].decode("utf-8")), html_figure(html_b[1].decode("utf-8"))
            if fa and fb:
                differencing(world, t, r["flag_a"], r["flag_b"], sels["flag_a"], sels["flag_b"], tallies["3hs"],
                             tallies["3hk"], means_from_chart(world, fa), means_from_chart(world, fb))
                n, found = chart_precision("means", fa, protected_points(world, sels["flag_a"], "means"))
                precision_checked += n
                precision_found += [f"HTML {x}" for x in found]
        for chart, key in (("change", "flag_a"), ("bands", "flag_a"), ("distribution", "flag_a"),
                           ("subgroups", "split")):
            h = got.get("/staff/cohort/download/html?" + q(sels[key]) + f"&chart={chart}")
            if h and h[0] == 200:
                fig = html_figure(h[1].decode("utf-8"))
                if fig:
                    n, found = chart_precision(chart, fig, protected_points(world, sels[key], chart))
                    precision_checked += n
                    precision_found += [f"HTML {x}" for x in found]
        # 4
        if r["split"] is not None:
            split_attack(world, t, r["split"], sels["split"].plain(), tallies["4ss"], tallies["4sk"])
        band_attack(world, t, r["year_a"], r["year_b"], attacker, tallies["4b"], tallies["4bb"], prior_only["4bb"])
        status, body = got[f"/staff/groups/{t.group}/heatmap?round={later}"]
        if status == 200:
            listed, same = heatmap_check(world, t, body.decode("utf-8"), tallies["4h"])
            heat_listed += listed
            heat_same += same
    progress("attacks 1-4 scored; least squares and the grid attack next")

    # ---- 5 and 6b-6d ----
    for counts, key in (("shown", "5s"), ("known", "5k")):
        solved = least_squares(world, fetched, counts)
        for (pid, rid, fkey), (y, _sd) in solved.items():
            tallies[key].add(y, world.scores.get((pid, rid, fkey)), cohort_means.get((rid, fkey)))
        if counts == "known":
            ls_known = solved
    for (pid, rid, fkey), (y, _sd) in ls_known.items():
        truth = world.scores.get((pid, rid, fkey))
        other = later if rid == before else before
        if (pid, other, fkey) in ls_known:
            tallies["6b"].add((y + ls_known[(pid, other, fkey)][0]) / 2, truth, cohort_means.get((rid, fkey)))
    bayes_stats: Counter = Counter()
    bayes_attack(world, attacker, ls_known, tallies["6c"], prior_only["6c"], context["cls"], cohort_means,
                 cohort_change, bayes_stats)
    context["prior"].rows = list(prior_only["6c"].rows)
    grid_stats: Counter = Counter()
    constraint_counts = []
    for t in world.targets:
        cons = single_target_constraints(world, t, fetched)
        constraint_counts.append(sum(len(v) for v in cons.values()) / max(1, len(world.factors)))
        grid_attack(world, attacker, t, cons, tallies["6d"], prior_only["6d"], context["cgrid"], cohort_means,
                    cohort_change, grid_stats)
    alpha_stats: Counter = Counter()
    for t in world.targets:
        alpha_attack(world, attacker, t, fetched, tallies["6e"], prior_only["6e"], cohort_means, alpha_stats)
    progress("attacks 5-6 scored; the admin's view next")

    # ---- the admin (context) ----
    admin_sels = list(dict.fromkeys([s for t in world.targets for k, s in plan[t.pid].items()
                                     if k not in ("split",)] + ls_sels))
    admin_got = admin.many([csv_path(world, s) for s in admin_sels])
    admin_reports = {}
    for s in admin_sels:
        status, body = admin_got[csv_path(world, s)]
        if status == 200:
            admin_reports[s] = parse_csv(world, body.decode("utf-8-sig"))
    for t in world.targets:
        sels = plan[t.pid]
        for a, b in (("flag_a", "flag_b"), ("group_a", "group_b"), ("year_a", "year_b")):
            if sels[a] in admin_reports and sels[b] in admin_reports:
                differencing(world, t, admin_reports[sels[a]], admin_reports[sels[b]], sels[a], sels[b], None,
                             context["a1"])
    solved = least_squares(world, [(s, admin_reports[s]) for s in ls_sels if s in admin_reports], "shown")
    for (pid, rid, fkey), (y, _) in solved.items():
        context["a5"].add(y, world.scores.get((pid, rid, fkey)), cohort_means.get((rid, fkey)))

    # ---- exactness of the lead's unprotected figures ----
    exact_sels = [*extra_exact, *[plan[t.pid][k] for t in world.targets for k in ("flag_b", "group_b", "year_b")]]
    compared, withheld, wrong = 0, 0, []
    for s in dict.fromkeys(exact_sels):
        rep = reports.get(s)
        if rep is None:
            wrong.append(f"{s.query([])}: no CSV")
            continue
        n, h, w = exact_check(world, s, rep)
        compared += n
        withheld += h
        wrong += w
    exact = not wrong and compared > 0

    # ---- the report ----
    lines = []
    statuses = lead.statuses + admin.statuses
    by_status = ", ".join(f"HTTP {k}: {v}" for k, v in sorted(statuses.items()))
    lines.append(f"requests: {sum(statuses.values())} ({by_status}); lead {lead.seconds:.0f} s, "
                 f"admin {admin.seconds:.0f} s of request time (three at a time)")
    for status, path, body in (lead.failures + admin.failures)[:5]:
        lines.append(f"  !! HTTP {status} {path[:120]} {body[:120]!r}")
    if missing:
        lines.append(f"  !! {missing} targets without all their reports")
    lines.append(f"  {'attack (estimates of one target, factor and round)':<58} {'est.':>6} {'P %':>7} {'G %':>7} "
                 f"{'MAE':>7}")
    counted = [tl for tl in tallies.values()]
    lines += [tl.line() for tl in counted]
    lines.append("  context, not in N:")
    lines += [tl.line() for tl in context.values()]
    total_n = sum(tl.n for tl in counted)
    p_all = sum(tl.p() * tl.n for tl in counted) / total_n if total_n else 0.0
    g_all = sum(tl.g() * tl.n for tl in counted) / total_n if total_n else 0.0
    lines.append(f"offsets (survey_app.privacy.keys): normal, SD {LEVEL_SD:g} kept at every round and {ROUND_SD:g} new "
                 f"each round: SD {math.sqrt(OFFSET_VAR):.1f} at one round, correlation {OFFSET_COV / OFFSET_VAR:.2f} "
                 f"between two rounds of a pupil and factor")
    lines.append(f"Bayes on least squares (6c): {bayes_stats['joint']} pupil-factor pairs jointly over both rounds, "
                 f"{bayes_stats['single round']} single rounds")
    lines.append(f"grid attack: {grid_stats['posteriors']} posteriors ({grid_stats['joint']} factor pairs solved "
                 f"jointly over both rounds, {grid_stats['single round']} single rounds); adjusted scores pinned to "
                 f"ranges {grid_stats['pinned width'] / max(1, grid_stats['pinned rounds']):.2f} points wide on "
                 f"average, {grid_stats['infeasible']} infeasible; "
                 f"{sum(constraint_counts) / max(1, len(constraint_counts)):.1f} constraints per target and factor")
    checked_alphas = max(1, alpha_stats["alphas"])
    lines.append(f"alpha check: {alpha_stats['posteriors']} rounds x factors, {alpha_stats['alphas']} shown alphas of "
                 f"selections whose one unshared complete-case pupil is the target; {alpha_stats['model holds']} equal "
                 f"the alpha of their shared pupils alone, {alpha_stats['model fails']} do not; "
                 f"were the target counted, {alpha_stats['fit if t counted'] / checked_alphas:.1f} answer patterns "
                 f"(of 4^statements) would fit each, the true one in {alpha_stats['true fits if t counted']}; "
                 f"{alpha_stats['infeasible']} infeasible")
    comparisons = []
    beats_prior: dict[str, bool] = {}
    for key, prior_tally in prior_only.items():
        mine = tallies[key]
        wins = sum(1 for (e, t_, _), (g, _, _) in zip(mine.rows, prior_tally.rows, strict=True)
                   if abs(e - t_) <= WITHIN < abs(g - t_))
        losses = sum(1 for (e, t_, _), (g, _, _) in zip(mine.rows, prior_tally.rows, strict=True)
                     if abs(g - t_) <= WITHIN < abs(e - t_))
        p_prior = binomial_tail(wins, wins + losses)
        beats_prior[key] = mine.p() > prior_tally.p() and p_prior < SIGNIFICANCE
        comparisons.append(f"{key} {mine.p():.1f}% vs {prior_tally.p():.1f}% (better {wins}, worse {losses}, "
                           f"sign test p={p_prior:.2g})")
    lines.append("Bayes attacks against the prior alone (the prior's best guess for the same scores, no figure): "
                 + "; ".join(comparisons))
    lines.append(f"charts of protected reports (page JSON and HTML): {precision_checked} numbers checked, "
                 f"{len(precision_found)} with more precision than the page"
                 + (f" (e.g. {precision_found[0]})" if precision_found else "")
                 + f"; chart means/n differing from the CSV: {chart_vs_csv}")
    lines.append(f"same selection by other routes and again: {routes_checked} values compared, {routes_differ} differ")
    lines.append(f"heatmaps: target listed in {heat_listed} of {len(world.targets)}; group medians equal the shared "
                 f"members' medians in {heat_same} of {len(world.targets)}")
    lines.append(f"unprotected figures: {compared} figures of {len(set(exact_sels))} selections of shared pupils "
                 f"compared with the database, {len(wrong)} differ ({withheld} withheld by suppression, not "
                 f"compared)" + (f"; e.g. {wrong[0]}" if wrong else ""))
    # An attack that uses the prior (a Bayes attack) beats guessing only when it also beats the
    # prior's own guess for the same scores: the prior alone, with no protected figure, can beat
    # the cohort mean (see the docstring), so that excess is not the figures' doing.
    winners = [" ".join(tl.label.split()) for key, tl in tallies.items()
               if tl.beats() and beats_prior.get(key, True)]
    pooled = [row for tl in counted for row in tl.rows]
    pooled_beats = p_all > g_all and sign_test(pooled) < SIGNIFICANCE
    ok = p_all <= g_all and not winners and not pooled_beats
    verdict = f"P {p_all:.1f}% vs G {g_all:.1f}% over {total_n} estimates"
    if winners:
        verdict += f"; {len(winners)} attacks beat guessing (sign test p < {SIGNIFICANCE}): " + "; ".join(winners)
    lines.append(f"{'PASS' if ok else 'FAIL'} P no better than G ({verdict})")
    lines.append(f"{'PASS' if exact else 'FAIL'} unprotected figures exact ({compared} compared)")
    lines.append(f"disclosure: {total_n} attacks, recovered within 5 points {p_all:.1f}%, guessing the cohort mean "
                 f"{g_all:.1f}%, unprotected figures exact: {'yes' if exact else 'no'}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--targets", type=int, default=24, help="generated unshared pupils to attack (default 24)")
    parser.add_argument("--seed", type=int, default=1)
    o = parser.parse_args()
    if o.targets < 1:
        parser.error("--targets must be at least 1")
    return run(o.backend, o.targets, o.seed)


if __name__ == "__main__":
    sys.exit(main())
