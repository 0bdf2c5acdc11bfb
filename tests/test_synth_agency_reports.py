"""The synthetic agencies' reports: realistic, deterministic, and read by the real readers as agencies'
files are (the CSV by the ALI reader, the WebRSA XML by the partner's public XSD)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from aiguillage.extracts.columns import EXTRACT_COLUMNS
from aiguillage.ingest.ali_reader import read_ali_report
from aiguillage.synth.agency_reports import write_agency_reports
from aiguillage.synth.agency_stories import HORIZON_DAYS, AgencyEvent, story
from aiguillage.synth.ali_webrsa_report import XmlDossier, report_document, webrsa_codes
from tests.conftest import partner_schema, run_cli

FIRST = date(2026, 11, 2)


def _events_by_referral(count: int, seed: int = 93) -> list[list[AgencyEvent]]:
    return [story(seed, "ALI03", f"OR{index:010x}", FIRST) for index in range(count)]


def _first(events: list[AgencyEvent], *codes: str) -> int | None:
    """Days from the start to the first of these events, None when it never happens."""
    days = [(event.day - FIRST).days for event in events if event.evenement in codes]
    return min(days) if days else None


def _within(events: list[AgencyEvent], days: int, *codes: str) -> bool:
    first = _first(events, *codes)
    return first is not None and first <= days


def test_stories_are_deterministic_for_a_seed():
    first = _events_by_referral(200)
    story.cache_clear()  # drawn again, not read back from the cache
    assert first == _events_by_referral(200)
    assert _events_by_referral(200) != _events_by_referral(200, seed=94)
    # A referral that comes back later (a right reopened) lives another story.
    assert story(93, "ALI03", "OR1", FIRST) != story(93, "ALI03", "OR1", FIRST + timedelta(days=200))


def test_rates_on_a_few_thousand_referrals_are_realistic():
    stories = _events_by_referral(4000)
    n = len(stories)

    def share(predicate) -> float:
        return sum(1 for events in stories if predicate(events)) / n

    taken = share(lambda e: _within(e, 3, "PRISE_EN_CHARGE"))
    first_meeting = share(lambda e: _within(e, 14, "RDV_HONORE", "RDV_NON_HONORE"))
    no_show = share(lambda e: _first(e, "RDV_NON_HONORE") is not None)
    contract_month = share(lambda e: _within(e, 30, "CONTRAT_SIGNE"))
    contract_ever = share(lambda e: _first(e, "CONTRAT_SIGNE") is not None)
    exits = share(lambda e: _first(e, "SORTIE") is not None)
    reorientation = share(lambda e: _first(e, "REORIENTATION_DEMANDEE") is not None)
    refused = share(lambda e: _first(e, "CONTRAT_REFUSE") is not None)
    not_kept = share(lambda e: _first(e, "ENGAGEMENT_NON_TENU") is not None)
    assert 0.90 <= taken <= 0.99
    assert 0.70 <= first_meeting <= 0.90  # most within about two weeks
    assert 0.10 <= no_show <= 0.30
    assert 0.40 <= contract_month <= 0.75  # many within a month
    assert contract_ever <= 0.80
    assert 0.05 <= exits <= 0.15
    assert 0.01 <= reorientation <= 0.06
    assert 0.01 <= refused <= 0.06
    assert 0.005 <= not_kept <= 0.06
    for events in stories:
        assert [event.day for event in events] == sorted(event.day for event in events)
        assert all(0 <= (event.day - FIRST).days <= HORIZON_DAYS for event in events)
        exit_days = [event.day for event in events if event.evenement == "SORTIE"]
        assert not exit_days or max(event.day for event in events) == exit_days[0]  # nothing after an exit


def _extract(path: Path, rows: list[dict[str, str]]) -> None:
    """An extract as the pipeline delivers it (data contract §5: BOM, ';', the contract's columns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXTRACT_COLUMNS, delimiter=";", lineterminator="\n",
                                restval="")
        writer.writeheader()
        writer.writerows(rows)


def _line(id_orientation: str, movement: str, decided: date, code: str, **extra: str) -> dict[str, str]:
    return {"id_orientation": id_orientation, "type_mouvement": movement, "date_orientation": decided.isoformat(),
            "parcours": "PSO", "code_structure": code, "nom": "N", "prenom": "P", "date_notification":
            decided.isoformat(), **extra}


@pytest.fixture(scope="module")
def outbox(tmp_path_factory) -> Path:
    """ALI03 and ALI04 served from FIRST: a stock of 1,500 referrals each decided in the last two months,
    then new referrals, and closures, on the second day. SSD01 receives extracts but sends no report."""
    root = tmp_path_factory.mktemp("outbox")
    for code in ("ALI03", "ALI04"):
        stock = [_line(f"{code}S{index:05d}", "STOCK", FIRST - timedelta(days=index % 60), code)
                 for index in range(1500)]
        _extract(root / code / FIRST.isoformat() / f"stock_{code}_{FIRST:%Y%m%d}.csv", stock)
        _extract(root / code / FIRST.isoformat() / f"orientations_{code}_{FIRST:%Y%m%d}.csv", [])
        second = FIRST + timedelta(days=1)
        moves = [_line(f"{code}N{index:05d}", "NOUVELLE", second, code) for index in range(200)]
        moves += [_line(f"{code}S{index:05d}", "CLOTUREE", FIRST, code, motif_cloture="DEMENAGEMENT")
                  for index in range(0, 1500, 15)]
        _extract(root / code / second.isoformat() / f"orientations_{code}_{second:%Y%m%d}.csv", moves)
    _extract(root / "SSD01" / FIRST.isoformat() / f"stock_SSD01_{FIRST:%Y%m%d}.csv",
             [_line("SSD01S1", "STOCK", FIRST, "SSD01")])
    return root


def _read(path: Path, code: str, today: date):
    good, bad = [], {}
    for row in read_ali_report(path, code, today):
        if row.table == "ali_report_line":
            good.append(row.values)
        else:
            bad[row.values[0]] = row.values[1]
    return good, bad


def test_csv_reports_are_read_by_the_real_reader_with_only_the_intended_bad_lines(outbox, tmp_path):
    landing = tmp_path / "landing"
    days = [FIRST + timedelta(days=offset) for offset in range(30)]
    counts: Counter = Counter()
    bad_total = 0
    for day in days:
        summary = write_agency_reports(outbox, landing, day, seed=93)
        assert {report.code for report in summary.reports} <= {"ALI03", "ALI04"}  # no folder, no report
        for report in summary.reports:
            report_day = day + timedelta(days=1)
            assert report.path == landing / "ali" / report.code / f"ali_{report.code}_{report_day:%Y%m%d}.csv"
            good, bad = _read(report.path, report.code, today=report_day)
            assert bad == report.bad_lines  # the reader rejects exactly the lines made bad, for their reason
            bad_total += len(bad)
            for values in good:
                _, code, date_rapport, id_orientation, evenement, date_evenement, *_ = values
                assert (code, date_rapport, date_evenement) == (report.code, report_day, day)
                assert id_orientation.startswith(report.code)
                # Never on a referral the agency had not received yet, nor after it was closed.
                if "N" in id_orientation:
                    assert date_evenement >= FIRST + timedelta(days=1)
                if id_orientation[-5:].isdigit() and "S" in id_orientation and int(id_orientation[-5:]) % 15 == 0:
                    assert date_evenement < FIRST + timedelta(days=1)
                counts[evenement] += 1
    for event in ("PRISE_EN_CHARGE", "RDV_HONORE", "RDV_NON_HONORE", "CONTRAT_SIGNE", "SORTIE",
                  "REORIENTATION_DEMANDEE", "CONTRAT_REFUSE"):
        assert counts[event] > 0, event
    assert counts["RDV_HONORE"] > 3 * counts["RDV_NON_HONORE"] / 2
    assert 0 < bad_total < sum(counts.values()) / 30
    # The same day written again gives the same bytes.
    again = tmp_path / "again"
    first = write_agency_reports(outbox, landing, days[5], seed=93)
    second = write_agency_reports(outbox, again, days[5], seed=93)
    assert [r.path.read_bytes() for r in first.reports] == [r.path.read_bytes() for r in second.reports]
    assert [r.path.read_bytes() for r in write_agency_reports(outbox, again, days[5], seed=7).reports] != \
        [r.path.read_bytes() for r in first.reports]


def _export(path: Path, structure: int, persons: range, decided: date, statut: str = "50") -> None:
    """A WebRSA-ALI export as the agency receives it (only what the agency reads of it matters here)."""
    dossiers = "".join(
        f"<dossier><id_personne>{person}</id_personne><orientations><orientation>"
        f"<id_orient_webrsa>{person}</id_orient_webrsa>"
        f"<date_orient>{decided - timedelta(days=person % 20)}</date_orient>"
        f"<origine_orient>40</origine_orient><statut_orient>{statut}</statut_orient><type_orient>60</type_orient>"
        f"<structure_referente>{structure}</structure_referente><tag_entretien_diag>0</tag_entretien_diag>"
        f"</orientation></orientations></dossier>" for person in persons)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<?xml version='1.0' encoding='UTF-8'?><WebRSA-ALI><entete><date_generation>{decided} "
                    f"06:00:00</date_generation><id_structure_ali>{structure}</id_structure_ali><libelle_ali>C2DI"
                    f"</libelle_ali><fichier_stock>1</fichier_stock></entete><dossiers>{dossiers}</dossiers>"
                    f"</WebRSA-ALI>", encoding="utf-8")


def test_xml_reports_validate_against_the_partners_public_xsd(tmp_path):
    schema = etree.XMLSchema(etree.parse(str(partner_schema("webrsa-ALI-WebRSA.xsd"))))
    outbox, landing = tmp_path / "outbox", tmp_path / "landing"
    _export(outbox / "ALI05" / FIRST.isoformat() / f"export_webrsa_ali_ALI05_stock_{FIRST:%Y%m%d}.xml", 104,
            range(1, 1201), FIRST)
    _extract(outbox / "ALI06" / FIRST.isoformat() / f"stock_ALI06_{FIRST:%Y%m%d}.csv",
             [_line("ALI06S1", "STOCK", FIRST, "ALI06")])
    second = FIRST + timedelta(days=1)  # the diff of the second day closes the first hundred
    _export(outbox / "ALI05" / second.isoformat() / f"export_webrsa_ali_ALI05_diff_{second:%Y%m%d}.xml", 104,
            range(1, 101), FIRST, statut=_seed_identifiant("webrsa_correspondances", "orient_statut", "CLOTUREE"))
    elements: Counter = Counter()
    bad_dossiers = 0
    for offset in range(25):
        day = FIRST + timedelta(days=offset)
        summary = write_agency_reports(outbox, landing, day, seed=93, xml_agencies={"ALI05", "ALI06"})
        for report in summary.reports:
            if report.code == "ALI06":  # no WebRSA export received: it reports in CSV
                assert report.path.suffix == ".csv"
                continue
            assert report.path.name == f"ali_webrsa_ALI05_{day + timedelta(days=1):%Y%m%d}.xml"
            document = etree.parse(str(report.path))
            schema.assertValid(document)
            assert document.findtext("entete/id_structure_ali") == "104"
            persons = [int(text) for text in document.xpath("//dossier/id_personne/text()")]
            unknown = {place + 1 for place, person in enumerate(persons) if person not in range(1, 1201)}
            assert unknown == set(report.bad_lines) and set(report.bad_lines.values()) <= {"personne_inconnue"}
            bad_dossiers += len(unknown)
            if day >= second:
                assert not set(persons) & set(range(1, 101))
            for name in ("referent_parcours", "rendez_vous", "cer", "changement_orientation", "formulaire_d2"):
                elements[name] += len(document.xpath(f"//{name}"))
            assert set(document.xpath("//rendez_vous/date_rdv/text()")) <= {day.isoformat()}
    assert all(elements[name] > 0 for name in ("referent_parcours", "rendez_vous", "cer", "changement_orientation",
                                               "formulaire_d2")), elements
    assert 0 < bad_dossiers < elements["rendez_vous"] / 20


def _seed_identifiant(seed: str, referentiel: str, code: str) -> str:
    with open(Path(__file__).parents[1] / "dbt_project" / "seeds" / f"{seed}.csv", encoding="utf-8") as handle:
        return next(row["identifiant"] for row in csv.DictReader(handle)
                    if row["referentiel"] == referentiel and row["code"] == code)


def test_every_event_the_exchange_carries_makes_a_valid_document_in_the_readers_codes():
    schema = etree.XMLSchema(etree.parse(str(partner_schema("webrsa-ALI-WebRSA.xsd"))))
    events = [AgencyEvent(FIRST, "PRISE_EN_CHARGE"), AgencyEvent(FIRST, "RDV_HONORE"),
              AgencyEvent(FIRST + timedelta(days=1), "RDV_NON_HONORE"), AgencyEvent(FIRST, "CONTRAT_SIGNE"),
              AgencyEvent(FIRST, "REORIENTATION_DEMANDEE", "PARCOURS_SOCIAL"), AgencyEvent(FIRST, "SORTIE", "EMPLOI"),
              AgencyEvent(FIRST, "CONTRAT_REFUSE", "ELABORATION"), AgencyEvent(FIRST, "ENGAGEMENT_NON_TENU")]
    generated = datetime(2026, 11, 2, 19, 5)
    document = report_document(102, generated, [XmlDossier(7, 301, events)], webrsa_codes())
    assert document == report_document(102, generated, [XmlDossier(7, 301, events)], webrsa_codes())
    parsed = etree.fromstring(document)
    schema.assertValid(parsed)
    rapports = "webrsa_correspondances_rapports"
    assert parsed.xpath("//rendez_vous/id_statut_rdv/text()") == [
        _seed_identifiant(rapports, "rdv_statut", "RDV_HONORE"), _seed_identifiant(rapports, "rdv_statut", "RDV_NON_HONORE")]
    assert parsed.findtext(".//sortie_accompagnement/id_motif_sortie_accompagnement") == _seed_identifiant(
        rapports, "motif_sortie_obligation_accompagnement", "EMPLOI")
    assert parsed.findtext(".//changement_orientation/id_type_orientation") == _seed_identifiant(
        "webrsa_correspondances", "typesorients", "PSP")  # the social parcours asked for
    assert parsed.findtext(".//referent_parcours/date_designation") == FIRST.isoformat()
    # A contract refused, commitments not kept: the exchange has no element for them.
    assert b"ELABORATION" not in document and len(parsed.xpath("//dossier/*")) == 6


def test_the_command_writes_the_next_days_reports_from_an_outbox(outbox, tmp_path):
    landing = tmp_path / "landing"
    day = FIRST + timedelta(days=3)
    result = run_cli("agency-reports", "--date", day.isoformat(), "--outbox", str(outbox), "--landing", str(landing))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Agencies (synthetic): 2 report(s) for 2026-11-06: " in result.stdout
    written = sorted(path.relative_to(landing).as_posix() for path in landing.rglob("*") if path.is_file())
    assert written == ["ali/ALI03/ali_ALI03_20261106.csv", "ali/ALI04/ali_ALI04_20261106.csv"]
    assert (landing / written[0]).read_bytes() == write_agency_reports(outbox, tmp_path / "again", day, 93) \
        .reports[0].path.read_bytes()
    refused = run_cli("agency-reports", "--date", day.isoformat(), "--outbox", str(outbox), "--landing", str(landing),
                      "--webrsa-agencies", "SSD01")
    assert refused.returncode == 2 and "SSD01: not an agency code (ALI01 to ALI22)" in refused.stderr


def test_xml_reports_load_through_the_real_webrsa_reader_with_only_the_intended_rejects(conn, tmp_path, monkeypatch):
    """The synthetic agency's XML, loaded as the day's run loads it: every event becomes a report line,
    and only the dossiers on a person never sent are rejected (personne_inconnue)."""
    from aiguillage.ingest.loader import load_pending
    from aiguillage.landing.registry import scan_and_record
    from aiguillage.pipeline_tasks import _reader_for
    from aiguillage.synth.agency_reports import publish_counsellors

    monkeypatch.delenv("AIGUILLAGE_PARTNER_SCHEMAS_DIR", raising=False)
    people = [f"P{index:04d}" for index in range(300)]
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.referral_movements (id_orientation text, date_mouvement date,"
                 " type_mouvement text, code_structure text, person_id text)")
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO marts.referral_movements VALUES (%s, %s, 'STOCK', 'ALI05', %s)",
                           [(f"OR-{person}", FIRST, person) for person in people])
        numbers = [cursor.execute("INSERT INTO identifiants.webrsa_identifiant (kind, identifiant, premier_jour)"
                                  " VALUES ('personne', %s, %s) RETURNING numero", (person, FIRST)).fetchone()[0]
                   for person in people]
    publish_counsellors(conn, 93, {"ALI05"})
    conn.commit()
    outbox, landing = tmp_path / "outbox", tmp_path / "landing"
    folder = outbox / "ALI05" / FIRST.isoformat()
    _export(folder / f"export_webrsa_ali_ALI05_stock_{FIRST:%Y%m%d}.xml", 104, range(0), FIRST)
    text = (folder / f"export_webrsa_ali_ALI05_stock_{FIRST:%Y%m%d}.xml").read_text(encoding="utf-8")
    dossiers = "".join(f"<dossier><id_personne>{number}</id_personne><orientations><orientation><date_orient>"
                       f"{FIRST - timedelta(days=index % 20)}</date_orient><statut_orient>50</statut_orient>"
                       f"</orientation></orientations></dossier>" for index, number in enumerate(numbers))
    (folder / f"export_webrsa_ali_ALI05_stock_{FIRST:%Y%m%d}.xml").write_text(
        text.replace("<dossiers></dossiers>", f"<dossiers>{dossiers}</dossiers>"), encoding="utf-8")
    events = bad = 0
    for offset in range(20):
        day = FIRST + timedelta(days=offset)
        for report in write_agency_reports(outbox, landing, day, seed=93, xml_agencies={"ALI05"}).reports:
            events += sum(report.events.values())
            bad += len(report.bad_lines)
        scan_and_record(conn, landing, day + timedelta(days=1), f"run-{day}", settle_seconds=0)
        load_pending(conn, "ali", landing, _reader_for("ali", day + timedelta(days=1), conn))
        conn.commit()
    statuses = {status for (status,) in conn.execute("SELECT status FROM registry.landing_file")}
    assert statuses <= {"loaded", "loaded_with_rejects"}, statuses
    loaded = conn.execute("SELECT count(*) FROM raw.ali_report_line").fetchone()[0]
    rejects = dict(conn.execute("SELECT reason_code, count(*) FROM raw.ali_report_reject GROUP BY 1").fetchall())
    assert events > 200 and loaded == events
    assert bad > 0 and rejects == {"personne_inconnue": bad}
