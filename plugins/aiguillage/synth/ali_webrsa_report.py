"""An agency's report in the WebRSA exchange format ``ALI-WebRSA`` (the partner's public XSD), as a pure
function of the events to report.

The exchange speaks in integers: the person is the ``id_personne`` the agency received in its
``WebRSA-ALI`` export, the agency is its ``id_structure_ali`` there. What each of our events becomes:

| event | element |
|---|---|
| PRISE_EN_CHARGE | ``liste_referents_parcours/referent_parcours`` (the référent designated that day) |
| RDV_HONORE, RDV_NON_HONORE | ``liste_rendez_vous/rendez_vous`` with ``id_statut_rdv`` |
| CONTRAT_SIGNE | ``liste_cers/cer`` with ``date_signature`` |
| REORIENTATION_DEMANDEE | ``liste_changements_orientation/changement_orientation``, ``id_type_orientation`` the parcours asked |
| SORTIE | ``formulaire_d2/sortie_accompagnement`` with ``id_motif_sortie_accompagnement`` |

The integers are those of the WebRSA correspondence seeds (:func:`webrsa_codes`), read where the
ALI-WebRSA reader reads them; the référent is the agency's counsellor under the number the
Département's référentiel gives it (``registry.webrsa_referent``). The exchange has no element for a refused contract or commitments not kept (CONTRAT_REFUSE,
ENGAGEMENT_NON_TENU): :func:`carried` says so, and the agency reports those in its CSV report.
The schema allows one référent and one re-orientation request per person and file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from lxml import etree

from aiguillage.synth.agency_stories import (
    APPOINTMENT_KEPT,
    APPOINTMENT_MISSED,
    CONTRACT_SIGNED,
    EXIT,
    REORIENTATION,
    TAKEN_IN_CHARGE,
    AgencyEvent,
    referral_number,
)

ROOT = "ALI-WebRSA"
# Fixed answers of the synthetic counsellor where the schema wants a code and our events carry none.
_THEMATIQUE_RDV = 1
_STATUT_ACCOMPAGNEMENT_SORTIE = 2
_ORIGINE_REORIENTATION = 1
_MOTIF_REORIENTATION = 1
_STATUT_DEMANDE = 1
_CER_DEFAULTS = (("inscrit_PE", "0"), ("id_cmu", "1"), ("id_cmu_c", "1"), ("id_niveau_etude", "1"))
_CER_DUREE, _CER_POINT_PARCOURS = 3, 1


@dataclass(frozen=True)
class WebrsaCodes:
    """The exchange's integers for what our events say, from the seeds where the reader finds them."""

    rdv_status: dict[str, int]  # RDV_HONORE / RDV_NON_HONORE → id_statut_rdv
    rdv_object: int  # an individual appointment
    exit_motifs: dict[str, int]  # SORTIE motif → id_motif_sortie_accompagnement
    reorientation_types: dict[str, int]  # REORIENTATION_DEMANDEE motif → id_type_orientation asked


def webrsa_codes() -> WebrsaCodes:
    """Read from the seeds ``webrsa_correspondances_rapports`` (appointments, exits),
    ``webrsa_correspondances`` (types of orientation) and ``codes_motif_ali`` (the parcours a
    re-orientation motif asks for): the lists the ALI-WebRSA reader maps back with."""
    from aiguillage.ingest.csv_fields import seed_rows

    def listed(seed: str, name: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in seed_rows(seed):
            if row.get("referentiel") == name:
                found.setdefault(row["code"], int(row["identifiant"]))
        return found

    statuses = listed("webrsa_correspondances_rapports", "rdv_statut")
    types = listed("webrsa_correspondances", "typesorients")
    asked = {row["code"]: row["parcours_demande"] for row in seed_rows("codes_motif_ali")
             if row.get("evenement") == REORIENTATION and row.get("parcours_demande")}
    try:
        return WebrsaCodes(
            rdv_status={event: statuses[event] for event in (APPOINTMENT_KEPT, APPOINTMENT_MISSED)},
            rdv_object=listed("webrsa_correspondances_rapports", "rdv_objet")["INDIVIDUEL"],
            exit_motifs=listed("webrsa_correspondances_rapports", "motif_sortie_obligation_accompagnement"),
            reorientation_types={motif: types[parcours] for motif, parcours in asked.items()},
        )
    except KeyError as missing:
        raise RuntimeError(f"the WebRSA correspondence seeds have no identifiant for {missing}") from None


def carried(evenement: str) -> bool:
    """Whether the ALI-WebRSA exchange has an element for this event."""
    return evenement in {TAKEN_IN_CHARGE, CONTRACT_SIGNED, REORIENTATION, EXIT, APPOINTMENT_KEPT,
                         APPOINTMENT_MISSED}


@dataclass
class XmlDossier:
    """What one person's ``dossier`` reports: the WebRSA person id, the référent, the events."""

    id_personne: int
    referent: int
    events: list[AgencyEvent] = field(default_factory=list)


def report_document(id_structure_ali: int, generated_at: datetime, dossiers: Iterable[XmlDossier],
                    codes: WebrsaCodes) -> bytes:
    """The ``ALI-WebRSA`` document (UTF-8 bytes) reporting ``dossiers``' events carried by the exchange."""
    root = etree.Element(ROOT)
    head = etree.SubElement(root, "entete")
    _text(head, "date_generation", generated_at.strftime("%Y-%m-%d %H:%M:%S"))
    _text(head, "id_structure_ali", id_structure_ali)
    _text(head, "fichier_stock", "false")
    folders = etree.SubElement(root, "dossiers")
    for dossier in dossiers:
        events = [event for event in dossier.events if carried(event.evenement)]
        if events:
            _dossier(folders, dossier, events, id_structure_ali, codes)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _dossier(parent, dossier: XmlDossier, events: list[AgencyEvent], structure: int, codes: WebrsaCodes) -> None:
    element = etree.SubElement(parent, "dossier")
    _text(element, "id_personne", dossier.id_personne)
    designated = [event for event in events if event.evenement == TAKEN_IN_CHARGE][:1]
    if designated:
        referent = etree.SubElement(etree.SubElement(element, "liste_referents_parcours"), "referent_parcours")
        _fields(referent, id_webrsa=dossier.referent, id_ali=dossier.referent,
                date_designation=designated[0].day)
    appointments = [event for event in events if event.evenement in codes.rdv_status]
    if appointments:
        listed = etree.SubElement(element, "liste_rendez_vous")
        for event in appointments:
            rdv = etree.SubElement(listed, "rendez_vous")
            _fields(rdv, id_ali=_element_id(dossier, event), id_structurereferente=structure,
                    id_referent=dossier.referent, id_objet_rdv=codes.rdv_object)
            _text(etree.SubElement(rdv, "thematiques"), "id_thematique_rdv", _THEMATIQUE_RDV)
            _fields(rdv, id_statut_rdv=codes.rdv_status[event.evenement], date_rdv=event.day,
                    heure_rdv=f"{9 + _element_id(dossier, event) % 8:02d}:30:00")
    contracts = [event for event in events if event.evenement == CONTRACT_SIGNED]
    if contracts:
        listed = etree.SubElement(element, "liste_cers")
        for event in contracts:
            _contract(etree.SubElement(listed, "cer"), dossier, event)
    requests = [event for event in events if event.evenement == REORIENTATION][:1]
    if requests:
        _reorientation(element, dossier, requests[0], structure, codes)
    exits = [event for event in events if event.evenement == EXIT][:1]
    if exits:
        form = etree.SubElement(element, "formulaire_d2")
        _fields(form, id_ali=_element_id(dossier, exits[0]), id_statut_accompagnement=_STATUT_ACCOMPAGNEMENT_SORTIE)
        _text(etree.SubElement(form, "sortie_accompagnement"), "id_motif_sortie_accompagnement",
              codes.exit_motifs[exits[0].motif])


def _contract(cer, dossier: XmlDossier, event: AgencyEvent) -> None:
    _fields(cer, id_ali=_element_id(dossier, event), id_referent=dossier.referent)
    for name, value in _CER_DEFAULTS:
        _text(cer, name, value)
    _fields(cer, emploi_trouve=0, mois_a_venir="Recherche d'emploi accompagnée", id_duree_cer=_CER_DUREE,
            id_point_parcours=_CER_POINT_PARCOURS, date_debut=event.day, date_saisie=event.day,
            date_signature=event.day)


def _reorientation(element, dossier: XmlDossier, event: AgencyEvent, structure: int, codes: WebrsaCodes) -> None:
    change = etree.SubElement(etree.SubElement(element, "liste_changements_orientation"), "changement_orientation")
    _fields(change, id_ali=_element_id(dossier, event), id_referent=dossier.referent, date_demande=event.day,
            id_origine=_ORIGINE_REORIENTATION)
    _fields(etree.SubElement(change, "reorientation"), id_motif_reorientation=_MOTIF_REORIENTATION,
            accord_referent=1, accord_allocataire=1, urgence=0)
    # The structure that will receive the person is the Département's choice: the request names its own.
    _fields(change, id_type_orientation=codes.reorientation_types[event.motif],
            id_structure_referente_accueil=structure, id_statut=_STATUT_DEMANDE)


def _element_id(dossier: XmlDossier, event: AgencyEvent) -> int:
    """The agency's own id of an appointment, contract or request: stable for the same event."""
    return referral_number(f"{dossier.id_personne}|{event.evenement}|{event.day}") % 999_999_999 + 1


def _fields(parent, **values) -> None:
    for name, value in values.items():
        _text(parent, name, value)


def _text(parent, name: str, value) -> None:
    etree.SubElement(parent, name).text = value.isoformat() if isinstance(value, date) else str(value)
