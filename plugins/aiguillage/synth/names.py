"""Name pools for synthetic persons (upper-case, as CAF writes them; accents kept on purpose).

Names are grouped by family origin so that a household gets coherent names and birthplaces, and the
mix resembles Seine-Saint-Denis. Every string is Latin-1 encodable (files are written in ISO-8859-1
too) and free of XML/CSV special characters: `check_pool` enforces it at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiguillage.synth.rng import WeightedPicker


@dataclass(frozen=True, slots=True)
class OriginGroup:
    """Names and foreign birthplaces typical of one family origin."""

    key: str
    weight: float
    last_names: tuple[str, ...]
    male_first_names: tuple[str, ...]
    female_first_names: tuple[str, ...]
    # (NOMCOMNAI as CAF writes it, INSEE country code: 3 digits after department 99)
    foreign_birthplaces: tuple[tuple[str, str], ...]
    # share of adults of this group born abroad
    born_abroad: float


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


ORIGIN_GROUPS: tuple[OriginGroup, ...] = (
    OriginGroup(
        "france",
        30,
        _t(
            "MARTIN,BERNARD,DUBOIS,THOMAS,ROBERT,RICHARD,PETIT,DURAND,LEROY,MOREAU,SIMON,LAURENT,"
            "LEFÈVRE,MICHEL,DAVID,BERTRAND,ROUX,VINCENT,FOURNIER,MOREL,GIRARD,ANDRÉ,MERCIER,DUPONT,"
            "LAMBERT,BONNET,FRANÇOIS,LEGRAND,GARNIER,FAURE,ROUSSEAU,BLANC,GUÉRIN,MULLER,HENRY,ROUSSEL,"
            "NICOLAS,PERRIN,MORIN,MATHIEU,CLÉMENT,GAUTHIER,DUMONT,FONTAINE,CHEVALIER,ROBIN,MASSON,NOËL,"
            "BENOÎT,LEMAÎTRE,DUPRÉ,HÉBERT,CARON,COLIN,VASSEUR,LE GALL,LE BIHAN,GRÉGOIRE,LECLERC,BRUNET"
        ),
        _t(
            "JEAN,PIERRE,MICHEL,PHILIPPE,NICOLAS,CHRISTOPHE,FRÉDÉRIC,STÉPHANE,JÉRÔME,SÉBASTIEN,"
            "JULIEN,DAVID,LAURENT,THIERRY,OLIVIER,FRANÇOIS,CÉDRIC,LOÏC,JOËL,GAËL,KÉVIN,ANTHONY,MAXIME,"
            "THOMAS,GUILLAUME,VINCENT,ROMAIN,MATHIEU,FABRICE,JEAN-PIERRE,JEAN-MARC,RÉMI,GRÉGORY"
        ),
        _t(
            "MARIE,NATHALIE,ISABELLE,SYLVIE,CATHERINE,SANDRINE,CÉLINE,ÉLODIE,AURÉLIE,STÉPHANIE,"
            "VÉRONIQUE,HÉLÈNE,LAËTITIA,MÉLANIE,AMÉLIE,CHLOÉ,MANON,JULIE,CAROLINE,SOPHIE,VALÉRIE,"
            "CHRISTELLE,NOËLLE,MAËLLE,ANAÏS,JOSÉPHINE,AGNÈS,BÉATRICE,FRANÇOISE,MÉGANE,MARIE-CLAIRE"
        ),
        (("BRUXELLES", "131"), ("GENEVE", "140"), ("MONTREAL", "401")),
        0.03,
    ),
    OriginGroup(
        "maghreb",
        25,
        _t(
            "BENALI,HADDAD,MANSOURI,BOUZID,CHERIF,BENSALAH,AMRANI,BELKACEM,BOUAZIZ,BRAHIMI,DJEBBAR,"
            "EL AMRANI,FERHAT,GHARBI,HAMDI,KACI,LAHLOU,MEZIANE,OUALI,RAHMANI,SAÏDI,TAHAR,ZERROUKI,"
            "BENMOUSSA,AÏT OUARAB,BELHADJ,CHAOUI,HAMIDI,KHELIFI,MESSAOUDI,BOUCHAÏB,EL IDRISSI"
        ),
        _t(
            "MOHAMED,KARIM,YANIS,RACHID,SAMIR,NABIL,MEHDI,SOFIANE,BILAL,HAMZA,ILYÈS,YOUSSEF,AHMED,"
            "MOURAD,KAMEL,FARID,ABDELKADER,SAÏD,ISMAËL,AYOUB,MUSTAPHA,NORDINE"
        ),
        _t(
            "FATIMA,SAMIRA,NADIA,AÏCHA,MERIEM,KHADIJA,LEÏLA,SALMA,YASMINE,INÈS,SONIA,KARIMA,HOURIA,"
            "NAÏMA,SARAH,AMINA,ZOHRA,LINA,MALIKA,WAFA,DJAMILA,HANANE"
        ),
        (
            ("ALGER", "352"),
            ("ORAN", "352"),
            ("CONSTANTINE", "352"),
            ("TIZI OUZOU", "352"),
            ("CASABLANCA", "350"),
            ("OUJDA", "350"),
            ("TUNIS", "351"),
            ("SFAX", "351"),
        ),
        0.55,
    ),
    OriginGroup(
        "afrique_ouest",
        14,
        _t(
            "DIALLO,TRAORÉ,KONATÉ,CAMARA,COULIBALY,DIARRA,KEÏTA,SYLLA,CISSÉ,DIOP,NDIAYE,FALL,SOW,BA,"
            "DIAKITÉ,TOURÉ,SISSOKO,DOUCOURÉ,KANTÉ,FOFANA,SANGARÉ,DEMBÉLÉ,BAMBA,KOUASSI,KONÉ,YAO"
        ),
        _t(
            "MAMADOU,MOUSSA,IBRAHIMA,OUSMANE,SEYDOU,ABDOULAYE,BOUBACAR,ALIOU,CHEIKH,MODIBO,SÉKOU,"
            "LAMINE,ADAMA,DAOUDA,SOULEYMANE,BAKARY"
        ),
        _t(
            "AMINATA,FATOUMATA,AÏSSATA,MARIAM,KADIATOU,HAWA,OUMOU,AWA,BINTOU,DJÉNÉBA,RAMATA,"
            "SALIMATA,COUMBA,ASSA,NAFISSATOU,MARIAMA"
        ),
        (
            ("BAMAKO", "335"),
            ("KAYES", "335"),
            ("DAKAR", "341"),
            ("ABIDJAN", "326"),
            ("CONAKRY", "330"),
            ("NOUAKCHOTT", "336"),
        ),
        0.70,
    ),
    OriginGroup(
        "afrique_centrale",
        6,
        _t(
            "MBEMBA,NGOMA,KABONGO,MUKENDI,ILUNGA,TSHIBANDA,NZINGA,MAKOSSO,ETOUNDI,NJOYA,FOTSO,"
            "TCHAKOUNTÉ,MBALLA,OKOMBI,LOUAMBA"
        ),
        _t("CHRISTIAN,PATRICK,BLAISE,JUNIOR,PRINCE,GLOIRE,EXAUCÉ,DIEUDONNÉ,FRANCK,ARISTIDE,JEAN-PAUL"),
        _t("GRÂCE,ESTHER,MERVEILLE,PRISCILLE,DORCAS,CHANCELLE,NADÈGE,RUTH,BÉNÉDICTE,SARAH,GLADYS"),
        (
            ("KINSHASA", "312"),
            ("LUBUMBASHI", "312"),
            ("BRAZZAVILLE", "324"),
            ("DOUALA", "322"),
            ("YAOUNDE", "322"),
        ),
        0.75,
    ),
    OriginGroup(
        "portugal",
        4,
        _t(
            "DA SILVA,DOS SANTOS,PEREIRA,FERREIRA,RODRIGUES,GONÇALVES,FERNANDES,OLIVEIRA,CARVALHO,"
            "MONTEIRO,CONCEIÇÃO,RIBEIRO,TEIXEIRA,MARQUES,ALVES"
        ),
        _t("JOSÉ,ANTÓNIO,MANUEL,JOAQUIM,RUI,PAULO,NUNO,CARLOS,FERNANDO,JOÃO"),
        _t("MARIA,ANA,FÁTIMA,SÓNIA,PAULA,CÁTIA,INÊS,LUÍSA,ROSA,CONCEIÇÃO"),
        (("LISBONNE", "139"), ("PORTO", "139"), ("BRAGA", "139")),
        0.50,
    ),
    OriginGroup(
        "asie_sud",
        4,
        _t(
            "SIVAKUMAR,KANAGARATNAM,THARMALINGAM,SELVARAJAH,JEYAKUMAR,RAJENDRAN,MURUGAN,"
            "PARAMESWARAN,SRIKANTHAN,KHAN,HOSSAIN,RAHMAN"
        ),
        _t("SIVA,KUMAR,RAJAN,SURESH,GANESH,PRAKASH,VIJAY,RAMESH,IMRAN"),
        _t("PRIYA,DEVI,LAKSHMI,KAVITHA,MEENA,SANGEETHA,NISHA,THARSHIKA,NASRIN"),
        (("JAFFNA", "235"), ("COLOMBO", "235"), ("CHENNAI", "223"), ("DACCA", "246")),
        0.75,
    ),
    OriginGroup(
        "chine",
        3,
        _t("CHEN,WANG,LI,ZHANG,LIU,HUANG,LIN,ZHOU,WU,YANG,ZHENG,XU"),
        _t("WEI,JUN,HAO,LEI,MING,JIAN,TAO,YONG"),
        _t("MEI,XIU,YING,HUI,FANG,JING,LAN,YAN"),
        (("WENZHOU", "216"), ("PEKIN", "216"), ("SHANGHAI", "216")),
        0.70,
    ),
    OriginGroup(
        "turquie",
        3,
        _t("YILMAZ,KAYA,DEMIR,SAHIN,ÇELIK,YILDIZ,YILDIRIM,ÖZTÜRK,AYDIN,ÖZDEMIR,ARSLAN,DOGAN,KILIÇ"),
        _t("MEHMET,MUSTAFA,AHMET,ALI,HÜSEYIN,HASAN,IBRAHIM,MURAT,EMRE,ÖMER"),
        _t("AYSE,FATMA,EMINE,HATICE,ZEYNEP,ELIF,MERVE,ÖZLEM,SEVGI"),
        (("ISTANBUL", "208"), ("ANKARA", "208"), ("KAYSERI", "208")),
        0.55,
    ),
    OriginGroup(
        "europe_est",
        3,
        _t("POPESCU,IONESCU,POPA,RADU,STAN,DUMITRU,CONSTANTIN,MUNTEANU,GHEORGHE,SERBAN,NOWAK,KOWALSKI"),
        _t("ION,GHEORGHE,VASILE,CONSTANTIN,MARIAN,FLORIN,IONUT,MIHAI"),
        _t("MARIA,ELENA,IOANA,ANDREEA,MIHAELA,GABRIELA,FLORENTINA,RAMONA"),
        (("BUCAREST", "114"), ("CONSTANTA", "114"), ("IASI", "114"), ("VARSOVIE", "122")),
        0.80,
    ),
    OriginGroup(
        "caraibes",
        5,
        _t(
            "JEAN-BAPTISTE,PIERRE-LOUIS,JOSEPH,LOUIS-JEUNE,CÉLESTIN,DORVAL,FLEURANT,SAINT-FLEUR,"
            "LAGUERRE,ÉTIENNE,BELFORT,JEAN-LOUIS,MONDÉSIR"
        ),
        _t("JEAN-CLAUDE,WILSON,FRANTZ,JOCELYN,RICHARDSON,WIDNER,FRITZ,JUNIOR"),
        _t("MARIE-ANGE,ROSELINE,GUERLINE,NADÈGE,MYRLANDE,FABIOLA,JUDITH,WIDELINE"),
        (("PORT AU PRINCE", "436"), ("CAP HAITIEN", "436")),
        0.45,
    ),
    OriginGroup(
        "comores",
        3,
        _t("ABDALLAH,MADI,SOILIHI,ATTOUMANI,AHAMADA,HAMADI,MOHAMED,SAÏD"),
        _t("ALI,ANLI,MOUSSA,HAMIDOU,ABDOU,ISSOUF"),
        _t("ZAÏNABA,ANLIA,ROUKIA,MARIAMA,SITTI,FAOUZIA"),
        (("MORONI", "397"), ("MUTSAMUDU", "397")),
        0.60,
    ),
)

ORIGIN_PICKER: WeightedPicker[OriginGroup] = WeightedPicker(ORIGIN_GROUPS, [g.weight for g in ORIGIN_GROUPS])

# Children's first names: what parents choose today in the département, whatever their origin.
CHILD_MALE_FIRST_NAMES = _t(
    "GABRIEL,RAPHAËL,LÉO,LOUIS,ADAM,NOAH,MOHAMED,YANIS,ISSA,AYOUB,ILYAN,NOÉ,TIMÉO,AARON,ELIJAH,"
    "MAËL,MOUSSA,IBRAHIM,SOHAN,NAËL,ISMAËL,RAYAN,LYAM,KYLIAN,ETHAN"
)
CHILD_FEMALE_FIRST_NAMES = _t(
    "JADE,LOUISE,EMMA,ALICE,INÈS,LÉNA,MARYAM,AYA,SARAH,LINA,MYRIAM,FATOUMATA,ZOÉ,CHLOÉ,ANNA,NOUR,"
    "MAËLYS,ADÈLE,MANON,AÏCHA,ROSE,ASSIA,KHADIJA,NAÏA,CÉLIA"
)

# First names carried by men and women alike: couples sometimes share one (a known matching trap).
UNISEX_FIRST_NAMES = _t("CAMILLE,DOMINIQUE,CLAUDE,SACHA,MORGAN,CHARLIE,ALIX")


def check_pool(values: Iterable[str], max_length: int, codec: str = "iso-8859-1") -> None:
    """Raise ValueError if a value cannot be written as-is in every output format it goes to."""
    for value in values:
        if not value or len(value) > max_length:
            raise ValueError(f"bad length for {value!r} (max {max_length})")
        if any(char in value for char in '&<>;"\r\n\t'):
            raise ValueError(f"special character in {value!r}")
        value.encode(codec)  # raises UnicodeEncodeError if the narrowest encoding cannot write it


def _check_all() -> None:
    for group in ORIGIN_GROUPS:
        check_pool(group.last_names, 28)
        check_pool(group.male_first_names + group.female_first_names, 32)
        check_pool((place for place, _ in group.foreign_birthplaces), 26)
    check_pool(CHILD_MALE_FIRST_NAMES + CHILD_FEMALE_FIRST_NAMES + UNISEX_FIRST_NAMES, 32)


_check_all()
