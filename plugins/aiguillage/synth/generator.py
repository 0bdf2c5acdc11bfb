"""Orchestration: write a landing zone of synthetic CAF and France Travail deliveries, day by day.

Day 1 (the start date): the CAF monthly flow with every household and the France Travail stock,
written in one streaming pass. Each following day: the CAF daily flow (dossiers with events) and the
three France Travail movement files. Memory stays flat: one household at a time, plus the compact
movement schedule (see movements.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from aiguillage.synth.caf_xml import FlowHeader, VrsbWriter
from aiguillage.synth.contacts import CONTACTS_DIR, ContactsWriter, contacts_file_name
from aiguillage.synth.defects import (
    CafDossierDefects,
    DefectPlan,
    FtLineCorruptor,
    duplicate_file,
    truncate_in_dossier,
    wrong_trailer_count,
)
from aiguillage.synth.files import (
    CAF_DIR,
    FT_DIR,
    caf_encoding,
    caf_file_name,
    flow_time,
    ft_file_name,
    ft_variant,
)
from aiguillage.synth.france_travail import FtWriter, person_fields
from aiguillage.synth.movements import Kind, Timeline
from aiguillage.synth.population import GenerationContext, build_ft_only_person
from aiguillage.synth.rng import STREAM_FT_FILE, derived_random

Progress = Callable[[str], None]

_PROGRESS_STEP = 100_000


@dataclass(slots=True)
class SynthSummary:
    """What `generate` wrote. All paths are absolute (the landing directory is resolved first)."""

    landing: Path
    start: date
    days: int
    seed: int
    files: list[Path] = field(default_factory=list)
    households: int = 0  # dossiers generated: the initial ones plus those created by movements
    persons: int = 0  # persons of the monthly flow plus those of new demands
    per_day: dict[date, list[Path]] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    caf_dossiers: dict[date, int] = field(default_factory=dict)  # InfosFoyerRSA written per day
    ft_lines: dict[date, int] = field(default_factory=dict)  # France Travail data lines per day
    bytes_written: int = 0

    def _add(self, day: date, path: Path) -> None:
        self.files.append(path)
        self.per_day.setdefault(day, []).append(path)
        self.bytes_written += path.stat().st_size


def generate(
    landing: Path,
    start: date,
    households: int,
    days: int,
    seed: int,
    defects: bool = False,
    progress: Progress | None = None,
) -> SynthSummary:
    """Write `days` days of synthetic partner deliveries for `households` RSA dossiers into `landing`.

    Layout (docs/data-contracts.md §1): `caf/VRSB0801_931_<YYYYMMDD>_<M|I>.xml` and
    `france_travail/{stock,inscriptions,cessations,radiations}_<YYYYMMDD>.csv`. The same arguments
    always produce byte-identical files; `SynthSummary.files` holds absolute paths.

    Without `defects`, every CAF file validates against the CNAF's schema (and so against
    `schemas/vrsb0801.xsd`, which checks the same rules) and every France
    Travail line follows the contract. With `defects`, the faults listed in `SynthSummary.defects`
    are injected: wrong NIR keys and missing blocks in the monthly flow, broken lines in the France
    Travail stock, the monthly flow delivered twice (`..._M_bis.xml`), a lying trailer count (day 2's
    daily flow; the monthly flow when `days` < 3) and a truncated flow (the last daily flow; none
    when `days` == 1). `progress`, if given, receives human-readable progress lines.
    """
    if households < 1:
        raise ValueError("households must be at least 1")
    if days < 1:
        raise ValueError("days must be at least 1")
    report: Progress = progress if progress is not None else _silent
    landing = Path(landing).resolve()
    (landing / CAF_DIR).mkdir(parents=True, exist_ok=True)
    (landing / FT_DIR).mkdir(parents=True, exist_ok=True)

    ctx = GenerationContext(seed=seed, start=start, n_initial=households)
    if days > 1:
        report(f"Drawing {days - 1} day(s) of movements for {households:,} households")
    timeline = Timeline(ctx, days)
    plan = DefectPlan.for_days(days) if defects else None
    summary = SynthSummary(landing=landing, start=start, days=days, seed=seed)

    monthly = _write_first_day(ctx, timeline, landing, summary, plan, report)
    for day_number in range(1, days):
        _write_day(ctx, timeline, day_number, landing, summary, plan, report)
    if plan is not None:
        copy = monthly.with_name(caf_file_name(start, "M", suffix="_bis"))
        summary.defects.append(duplicate_file(monthly, copy, landing))
        summary._add(start, copy)
    summary.households = timeline.households_total
    report(
        f"Done: {summary.households:,} dossiers, {summary.persons:,} persons, {len(summary.files)} files, "
        f"{summary.bytes_written / 1e6:,.1f} MB"
    )
    return summary


def _silent(_message: str) -> None:
    return None


def _label(landing: Path, path: Path) -> str:
    return path.relative_to(landing).as_posix()


def _write_first_day(
    ctx: GenerationContext,
    timeline: Timeline,
    landing: Path,
    summary: SynthSummary,
    plan: DefectPlan | None,
    report: Progress,
) -> Path:
    """Monthly CAF flow and France Travail stock, in one pass over the households."""
    seed, day, total = ctx.seed, ctx.start, ctx.n_initial
    caf_path = landing / CAF_DIR / caf_file_name(day, "M")
    stock_path = landing / FT_DIR / ft_file_name("stock", day)
    caf_faults = CafDossierDefects(seed, 0, _label(landing, caf_path)) if plan is not None else None
    corruptor = (
        FtLineCorruptor(seed, _label(landing, stock_path), spacing=max(1, total // 20))
        if plan is not None
        else None
    )
    names = derived_random(seed, STREAM_FT_FILE, 0)
    stock = FtWriter(stock_path, "stock", ft_variant(seed, 0, 0))
    writer = VrsbWriter(
        caf_path, caf_encoding(seed, 0), FlowHeader("M", day, flow_time(seed, 0), day.replace(day=1))
    )
    # The CNAF's contact details of the caseload, extracted the same day as the monthly flow.
    (landing / CONTACTS_DIR).mkdir(parents=True, exist_ok=True)
    contacts = ContactsWriter(landing / CONTACTS_DIR / contacts_file_name(day), seed, defects=plan is not None)
    extras_total, extras_done, persons = timeline.ft_extra_stock, 0, 0

    def stock_line(fields: list[str]) -> None:
        if corruptor is not None:
            fields = corruptor.process(stock.next_line_number, fields)
        stock.write_fields(fields)

    for index in range(total):
        household = timeline.initial_household(index)
        persons += len(household.persons)
        writer.write(household, caf_faults.faults_for(household) if caf_faults is not None else None)
        contacts.write(household)
        address = household.addresses[0]
        for person in household.persons:
            registration = person.ft
            if registration is not None and registration.active:
                stock_line(person_fields(names, person, address, registration.date, registration.code, None))
        # Job seekers unknown to CAF are spread evenly through the stock.
        while extras_done * total < (index + 1) * extras_total:
            person, address = build_ft_only_person(ctx, extras_done, None)
            assert person.ft is not None
            stock_line(person_fields(names, person, address, person.ft.date, person.ft.code, None))
            extras_done += 1
        if (index + 1) % _PROGRESS_STEP == 0 or index + 1 == total:
            report(f"CAF monthly flow: {index + 1:,}/{total:,} households")

    if corruptor is not None:
        extra = 0
        while corruptor.pending:  # small stock: the remaining broken lines repeat known job seekers
            person, address = build_ft_only_person(ctx, extra, None)
            assert person.ft is not None
            fields = person_fields(names, person, address, person.ft.date, person.ft.code, None)
            stock.write_fields(corruptor.process(stock.next_line_number, fields, force=True))
            extra += 1
        summary.defects += corruptor.descriptions()
    declared = None
    if plan is not None and plan.trailer_mismatch_day == 0:
        declared = wrong_trailer_count(seed, writer.count)
        summary.defects.append(_trailer_description(landing, caf_path, declared, writer.count))
    writer.close(declared)
    stock.close()
    contacts.close()
    if caf_faults is not None:
        summary.defects += caf_faults.descriptions()
    summary.defects += contacts.defects
    summary.persons += persons
    summary.caf_dossiers[day] = writer.count
    summary.ft_lines[day] = stock.lines
    summary._add(day, caf_path)
    summary._add(day, stock_path)
    summary._add(day, contacts.path)
    return caf_path


def _write_day(
    ctx: GenerationContext,
    timeline: Timeline,
    day_number: int,
    landing: Path,
    summary: SynthSummary,
    plan: DefectPlan | None,
    report: Progress,
) -> None:
    """Daily CAF flow (dossiers with events) and the three France Travail movement files of one day."""
    seed = ctx.seed
    day = timeline.date_of(day_number)
    events = timeline.per_day[day_number]
    caf_path = landing / CAF_DIR / caf_file_name(day, "I")
    writer = VrsbWriter(
        caf_path,
        caf_encoding(seed, day_number),
        FlowHeader("I", day, flow_time(seed, day_number), day.replace(day=1)),
    )
    ft_writers = {
        kind: FtWriter(landing / FT_DIR / ft_file_name(kind, day), kind, ft_variant(seed, day_number, number))
        for number, kind in enumerate(("inscriptions", "cessations", "radiations"))
    }
    by_movement = {
        "inscription": ft_writers["inscriptions"],
        "cessation": ft_writers["cessations"],
        "radiation": ft_writers["radiations"],
    }
    names = derived_random(seed, STREAM_FT_FILE, day_number)
    for position, index in enumerate(events.households):
        household = timeline.household_at(index, day_number)
        if household.events:
            writer.write(household)
            if events.kinds[position] == Kind.NEW:
                summary.persons += len(household.persons)
        address = household.addresses[0]
        for movement in household.ft_movements:
            registration = movement.person.ft
            assert registration is not None
            motif = movement.motif if movement.kind != "inscription" else None
            by_movement[movement.kind].write_fields(
                person_fields(names, movement.person, address, movement.date, registration.code, motif)
            )
    for number in range(events.ft_extra_first, events.ft_extra_first + events.ft_extra_count):
        person, address = build_ft_only_person(ctx, number, timeline.date_of(day_number - 1))
        assert person.ft is not None
        ft_writers["inscriptions"].write_fields(
            person_fields(names, person, address, person.ft.date, person.ft.code, None)
        )

    declared = None
    if plan is not None and plan.trailer_mismatch_day == day_number:
        declared = wrong_trailer_count(seed, writer.count)
        summary.defects.append(_trailer_description(landing, caf_path, declared, writer.count))
    writer.close(declared)
    if plan is not None and plan.truncated_day == day_number:
        summary.defects.append(truncate_in_dossier(caf_path, _label(landing, caf_path), writer.count))
    summary.caf_dossiers[day] = writer.count
    summary._add(day, caf_path)
    lines = 0
    for ft_writer in ft_writers.values():
        ft_writer.close()
        lines += ft_writer.lines
        summary._add(day, ft_writer.path)
    summary.ft_lines[day] = lines
    report(
        f"Day {day.isoformat()}: {writer.count:,} CAF dossiers with events, {lines:,} France Travail lines"
    )


def _trailer_description(landing: Path, path: Path, declared: int, actual: int) -> str:
    return (
        f"{_label(landing, path)}: trailer NBTOTDOSRSATRANSM={declared} "
        f"but {actual} InfosFoyerRSA blocks were written"
    )
