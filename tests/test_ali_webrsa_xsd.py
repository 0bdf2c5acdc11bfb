"""The project's ALI-WebRSA schema checks what WebRSA's own checks, no more, no less.

WebRSA's schema is the reference (read from the partners' schemas folder, never copied into the
project). Ours is written from the interface's facts; the two must give the same verdict on a report
holding every element of the exchange and on every mutation of it: each element removed, repeated,
given a foreign child or text, each value replaced by values of the wrong type or shape.
"""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path

import pytest
from lxml import etree

from aiguillage.partner_schemas import ALI_WEBRSA, schema_in_use
from tests.conftest import partner_schema

OURS = Path(__file__).resolve().parent.parent / "plugins" / "aiguillage" / "schemas" / "ali_webrsa.xsd"

# Every element of the exchange, once (lists twice where they may repeat), in a valid report.
COMPLETE = """<ALI-WebRSA>
<entete><date_generation>2026-11-05 18:30:00.250</date_generation><id_structure_ali>118</id_structure_ali>
<fichier_stock>false</fichier_stock></entete>
<dossiers><dossier>
<id_personne>12</id_personne>
<liste_referents_parcours><referent_parcours><id_webrsa>7</id_webrsa><id_ali>1</id_ali>
<date_designation>2026-11-03</date_designation></referent_parcours></liste_referents_parcours>
<liste_rendez_vous><rendez_vous><id_webrsa>4</id_webrsa><id_ali>2</id_ali><id_structurereferente>118</id_structurereferente>
<id_referent>7</id_referent><id_objet_rdv>1</id_objet_rdv><thematiques><id_thematique_rdv>3</id_thematique_rdv>
<id_thematique_rdv>4</id_thematique_rdv></thematiques><id_statut_rdv>2</id_statut_rdv><date_rdv>2026-11-04</date_rdv>
<heure_rdv>10:30:00</heure_rdv><objectif_rdv>Bilan</objectif_rdv><commentaire_rdv>Venu</commentaire_rdv>
<a_revoir_le>2027-01</a_revoir_le></rendez_vous><rendez_vous><id_ali>3</id_ali><id_structurereferente>118</id_structurereferente>
<id_objet_rdv>2</id_objet_rdv><thematiques><id_thematique_rdv>1</id_thematique_rdv></thematiques>
<id_statut_rdv>1</id_statut_rdv><date_rdv>2026-11-20</date_rdv><heure_rdv>14:00:00</heure_rdv></rendez_vous></liste_rendez_vous>
<liste_dsps><dsp><id_webrsa>5</id_webrsa><id_ali>4</id_ali><niveau_etude><id_niveau_etudes>2</id_niveau_etudes>
<id_diplome_plus_eleve>3</id_diplome_plus_eleve><annee_obtention>2001</annee_obtention><qualifications_pro>1</qualifications_pro>
<precisions_qualifications_pro>CACES</precisions_qualifications_pro><competences_extrapro>0</competences_extrapro>
<precisions_competences_extrapro>-</precisions_competences_extrapro></niveau_etude></dsp></liste_dsps>
<liste_cers><cer><id_webrsa>6</id_webrsa><id_ali>5</id_ali><id_referent>7</id_referent><incoherence>non</incoherence>
<inscrit_PE>1</inscrit_PE><id_cmu>1</id_cmu><id_cmu_c>2</id_cmu_c><id_niveau_etude>3</id_niveau_etude>
<liste_diplomes><diplome><intitule>CAP</intitule><date_obtention>1999</date_obtention><etranger>0</etranger></diplome>
<diplome><intitule>BEP</intitule><date_obtention>2000</date_obtention><etranger>true</etranger></diplome></liste_diplomes>
<liste_experiences_pro><experience_pro><id_code_famille>1</id_code_famille><id_code_domaine>2</id_code_domaine>
<id_code_metier>3</id_code_metier><id_appellation_metier>4</id_appellation_metier><id_nature_contrat>5</id_nature_contrat>
<annee_debut>2010</annee_debut><duree>3</duree><id_type_duree>1</id_type_duree></experience_pro></liste_experiences_pro>
<autre_experience>Bénévolat</autre_experience><emploi_trouve>1</emploi_trouve><detail_emploi_trouve>
<id_code_famille>1</id_code_famille><id_code_domaine>2</id_code_domaine><id_code_metier>3</id_code_metier>
<id_appellation_metier>4</id_appellation_metier><id_secteur_activite>5</id_secteur_activite><id_metier_exerce>6</id_metier_exerce>
<duree_hedbo>35</duree_hedbo><id_nature_contrat>1</id_nature_contrat><id_duree_cdd>2</id_duree_cdd></detail_emploi_trouve>
<bilan_actions_prec>Bien</bilan_actions_prec><mois_a_venir>Formation</mois_a_venir><liste_sujets><sujets>
<id_sujet_cer>1</id_sujet_cer><id_sous_sujet_cer>2</id_sous_sujet_cer><id_valeur_sous_sujet_cer>3</id_valeur_sous_sujet_cer>
<champ_libre>x</champ_libre></sujets></liste_sujets><id_duree_cer>6</id_duree_cer><id_point_parcours>1</id_point_parcours>
<date_reprise_contact>2026-10-01</date_reprise_contact><observations>RAS</observations><date_debut>2026-11-05</date_debut>
<date_saisie>2026-11-05</date_saisie><id_forme_cer>1</id_forme_cer><liste_commentaires><commentaires>
<id_commentaire>1</id_commentaire><commentaire_libre>ok</commentaire_libre></commentaires></liste_commentaires>
<date_signature>2026-11-05</date_signature></cer></liste_cers>
<liste_changements_orientation><changement_orientation><id_webrsa>8</id_webrsa><id_ali>6</id_ali><id_referent>7</id_referent>
<date_demande>2026-11-05</date_demande><id_origine>1</id_origine><reorientation><id_motif_reorientation>2</id_motif_reorientation>
<accord_referent>1</accord_referent><motif_refus>aucun</motif_refus><accord_allocataire>1</accord_allocataire>
<urgence>0</urgence></reorientation><id_type_orientation>61</id_type_orientation>
<id_structure_referente_accueil>122</id_structure_referente_accueil><id_referent_accueil>9</id_referent_accueil>
<id_statut>1</id_statut></changement_orientation></liste_changements_orientation>
<formulaire_d1><id_webrsa>9</id_webrsa><id_ali>7</id_ali><id_nationalite>1</id_nationalite><inscrit_pe>0</inscrit_pe>
<id_statut_marche_travail>2</id_statut_marche_travail><id_groupes_vulnerables>3</id_groupes_vulnerables>
<diplome_etranger_reconnu_france>0</diplome_etranger_reconnu_france><id_cat_sociopro>4</id_cat_sociopro>
<id_condition_logement>5</id_condition_logement><condition_logement_autre>hôtel</condition_logement_autre></formulaire_d1>
<formulaire_d2><id_webrsa>10</id_webrsa><id_ali>8</id_ali><id_statut_accompagnement>2</id_statut_accompagnement>
<sortie_accompagnement><id_motif_sortie_accompagnement>1</id_motif_sortie_accompagnement><id_temps_travail>1</id_temps_travail>
<id_code_famille>1</id_code_famille><id_code_domaine>2</id_code_domaine><id_code_metier>3</id_code_metier>
<id_appellation_metier>4</id_appellation_metier></sortie_accompagnement><sortie_changement_admin>1</sortie_changement_admin>
</formulaire_d2>
<formulaire_b7><id_webrsa>11</id_webrsa><id_ali>9</id_ali><id_type_emploi>1</id_type_emploi><id_temps_travail>2</id_temps_travail>
<date_embauche>2026-11-01</date_embauche><id_code_famille>1</id_code_famille><id_code_domaine>2</id_code_domaine>
<id_code_metier>3</id_code_metier><id_appellation_metier>4</id_appellation_metier></formulaire_b7>
</dossier></dossiers></ALI-WebRSA>"""

# Values every leaf is tried with: some valid for one type, invalid for the others.
PROBES = ("", "0", "-3", "1", "2", "true", "x", "2026-11-05", "2026-13-05", "10:30:00", "2027-01", "2001",
          "2026-11-05 18:30:00", "2026-11-05T18:30:00", "2026-11-05 18:30:00.1234", "１２")


@pytest.fixture(scope="module")
def schemas() -> tuple[etree.XMLSchema, etree.XMLSchema]:
    official = etree.XMLSchema(etree.parse(str(partner_schema("webrsa-ALI-WebRSA.xsd"))))
    return official, etree.XMLSchema(etree.parse(str(OURS)))


def _mutations(root: etree._Element):
    """(label, document) for each mutation of the complete report."""
    paths = [root.getroottree().getpath(element) for element in root.iter() if element is not root]
    for path in paths:
        def mutated(change, path=path):
            copy = deepcopy(root)
            change(copy.xpath(path)[0])
            return copy

        yield f"{path} removed", mutated(lambda e: e.getparent().remove(e))
        yield f"{path} repeated", mutated(lambda e: e.addnext(deepcopy(e)))
        yield f"{path} foreign child", mutated(lambda e: etree.SubElement(e, "inconnu"))
        if len(root.xpath(path)[0]):
            yield f"{path} text", mutated(lambda e: setattr(e, "text", "texte"))
        else:
            for probe in PROBES:
                yield f"{path} = {probe!r}", mutated(lambda e, probe=probe: setattr(e, "text", probe))


def test_the_complete_report_is_valid_for_both(schemas):
    official, ours = schemas
    document = etree.fromstring(COMPLETE)
    official.assertValid(document)
    ours.assertValid(document)


def test_both_schemas_give_the_same_verdict_on_every_mutation(schemas):
    official, ours = schemas
    root = etree.fromstring(COMPLETE)
    differing, tried, refused = [], 0, 0
    for label, document in _mutations(root):
        tried += 1
        verdict = official.validate(document)
        refused += not verdict
        if verdict != ours.validate(document):
            differing.append(f"{label}: WebRSA says {verdict}")
    assert not differing, "\n".join(differing[:20])
    # The corpus exercises both verdicts widely (a corpus of valid files only would prove nothing).
    assert tried > 2000 and refused > tried // 2


def test_the_schema_in_use_is_webrsa_s_when_the_operator_provides_it(monkeypatch, partner_schemas_dir):
    monkeypatch.delenv("AIGUILLAGE_PARTNER_SCHEMAS_DIR", raising=False)
    assert schema_in_use(ALI_WEBRSA) == OURS
    monkeypatch.setenv("AIGUILLAGE_PARTNER_SCHEMAS_DIR", str(partner_schemas_dir))
    assert schema_in_use(ALI_WEBRSA) == partner_schema("webrsa-ALI-WebRSA.xsd")
