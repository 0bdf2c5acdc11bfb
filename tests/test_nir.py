"""NIR helpers: key computation (with Corsica), structure checks, construction."""

from __future__ import annotations

import pytest

from aiguillage.nir import is_valid_nir, make_nir, nir13, nir_key


def test_key_of_a_mainland_nir():
    # 1 85 07 93 066 123: 1850793066123 mod 97 = 84, key = 97 - 84 = 13 (as in the reference sample)
    assert 1850793066123 % 97 == 84
    assert nir_key("1850793066123") == 13


def test_key_of_a_person_born_abroad():
    # department 99 (born abroad), country 350: 2900599350045 mod 97 = 91, key 6 (written "06")
    assert nir_key("2900599350045") == 6
    assert is_valid_nir("290059935004506")


def test_corsica_2a_counts_as_19():
    # 1 85 07 2A 004 123 -> 1850719004123; mod 97 = 9, key 88
    assert 1850719004123 % 97 == 9
    assert nir_key("185072A004123") == 88
    assert is_valid_nir("185072A00412388")


def test_corsica_2b_counts_as_18():
    # 2 92 04 2B 033 045 -> 2920418033045; mod 97 = 51, key 46
    assert 2920418033045 % 97 == 51
    assert nir_key("292042B033045") == 46
    assert is_valid_nir("292042B03304546")
    assert is_valid_nir("292042b03304546"), "lower-case department letters are accepted"


def test_key_ranges_from_1_to_97():
    assert nir_key("1000000000000") == 97 - 1000000000000 % 97
    for body in ("1850793066123", "2900599350045", "185072A004123", "292042B033045", "1000175056001"):
        assert 1 <= nir_key(body) <= 97


def test_valid_nirs():
    assert is_valid_nir("185079306612313")
    assert is_valid_nir("1850793066123"), "13 characters: structure only, no key"
    assert is_valid_nir(" 185079306612313 "), "surrounding spaces are ignored"
    assert is_valid_nir("7850793066123"), "temporary number (sex 7)"
    assert is_valid_nir("8850793066123")
    assert is_valid_nir("1852593066123"), "month 20-99: unknown or fictitious month"


@pytest.mark.parametrize(
    "nir",
    [
        "185079306612314",  # wrong key
        "185079306612300",  # key 00 never exists
        "385079306612313",  # sex 3
        "1851393066123",  # month 13
        "1850093066123",  # month 00
        "185072C004123",  # department 2C
        "18507930661231",  # 14 characters
        "1850793066123134",  # 16 characters
        "18507930661A3",  # letter in the order
        "",
        "ABCDEFGHIJKLM",
    ],
)
def test_invalid_nirs(nir):
    assert not is_valid_nir(nir)


def test_non_string_is_invalid():
    assert not is_valid_nir(None)  # type: ignore[arg-type]
    assert not is_valid_nir(185079306612313)  # type: ignore[arg-type]


def test_nir13_keeps_the_comparison_part():
    assert nir13("185079306612313") == "1850793066123"
    assert nir13(" 292042b03304546") == "292042B033045"
    with pytest.raises(ValueError):
        nir13("1850793")


def test_nir_key_rejects_bad_input():
    with pytest.raises(ValueError):
        nir_key("18507930661")
    with pytest.raises(ValueError):
        nir_key("18507930661X3")


def test_make_nir_builds_valid_numbers():
    assert make_nir(1, 1985, 7, "93", "066", 123) == "185079306612313"
    assert make_nir(2, 90, 5, "99", 350, 45) == "290059935004506"
    assert make_nir(1, 1985, 7, "2A", "004", 123) == "185072A00412388"
    assert make_nir(2, 1992, 4, "2b", "033", 45) == "292042B03304546"
    for nir in (make_nir(1, 2001, 1, "75", "111", 1), make_nir(2, 1960, 42, "97", "120", 999)):
        assert len(nir) == 15 and is_valid_nir(nir)


@pytest.mark.parametrize(
    "args",
    [
        (3, 1985, 7, "93", "066", 1),  # sex
        (1, 1985, 13, "93", "066", 1),  # month
        (1, 1985, 7, "93", "066", 0),  # order
        (1, 1985, 7, "2C", "066", 1),  # department
        (1, 1985, 7, "93", "66", 1),  # commune on 2 characters
    ],
)
def test_make_nir_rejects_bad_parts(args):
    with pytest.raises(ValueError):
        make_nir(*args)
