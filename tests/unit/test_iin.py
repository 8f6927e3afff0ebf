"""IIN/BIN validation (REFERENCE.md §5)."""
from datetime import date

import pytest

from shared.errors import ApiError
from shared.iin import (
    BinInfo,
    IinInfo,
    check_digit_ok,
    make_bin,
    make_iin,
    validate_bin,
    validate_iin,
    validate_iin_or_bin,
)

# REFERENCE.md worked examples.
IIN_EXAMPLE = "860717450455"  # woman, born 17 July 1986: s = 258, 258 mod 11 = 5
BIN_EXAMPLE = "810840000017"  # s = 73, 73 mod 11 = 7

# Second weight set: digits 8,6,0,7,1,7,4,0,0,3,0
#   weights 1..11:  8+12+0+28+5+42+28+0+0+30+0 = 153, 153 mod 11 = 10 -> recompute
#   weights 3..11,1,2: 24+24+0+42+7+56+36+0+0+3+0 = 192, 192 mod 11 = 5 -> check digit 5
IIN_SECOND_WEIGHTS = "860717400305"
# digits 8,1,0,8,4,0,0,0,0,8,0: weights 1..11 give 142 (mod 11 = 10);
#   second set gives 112, 112 mod 11 = 2 -> check digit 2
BIN_SECOND_WEIGHTS = "810840000802"
# digits 8,6,0,7,1,7,4,0,0,3,8: weights 1..11 give 241 (mod 11 = 10),
#   second set gives 208 (mod 11 = 10 again) -> no check digit exists
IIN_PREFIX_NO_CHECK_DIGIT = "86071740038"


@pytest.mark.parametrize("number", [IIN_EXAMPLE, BIN_EXAMPLE, IIN_SECOND_WEIGHTS, BIN_SECOND_WEIGHTS])
def test_check_digit_ok_valid(number):
    assert check_digit_ok(number)


@pytest.mark.parametrize(
    "number",
    [
        "860717450456",  # IIN example, last digit altered
        "860717450355",  # IIN example, 10th digit altered (s = 248, mod 11 = 6)
        # (altering only the 11th digit is invisible: its weight 11 is 0 mod 11)
        "810840000018",  # BIN example, last digit altered
        "810840000117",  # BIN example, serial digit altered
        "860717400304",  # second-weights example, check digit altered
        *[IIN_PREFIX_NO_CHECK_DIGIT + str(d) for d in range(10)],  # remainder 10 twice
        "86071745045",  # 11 digits
        "8607174504550",  # 13 digits
        "",
        "86071745045a",
        " 60717450455",
        "８６０７１７４５０４５５",  # full-width digits are not ASCII digits
    ],
)
def test_check_digit_ok_invalid(number):
    assert not check_digit_ok(number)


def test_validate_iin_example():
    assert validate_iin(IIN_EXAMPLE) == IinInfo(IIN_EXAMPLE, date(1986, 7, 17), "F", 1900)


def test_validate_bin_example():
    assert validate_bin(BIN_EXAMPLE) == BinInfo(BIN_EXAMPLE, 81, 8, 4, 0)


@pytest.mark.parametrize(
    "birth,sex,century",
    [
        (date(1899, 12, 31), "M", 1800),
        (date(1800, 1, 1), "F", 1800),
        (date(1986, 7, 17), "F", 1900),
        (date(2000, 2, 29), "M", 2000),  # leap day in 2000
        (date(2024, 2, 29), "F", 2000),
    ],
)
def test_make_iin_round_trip(birth, sex, century):
    for serial in (0, 1, 38, 1234, 9990):
        iin = make_iin(birth, sex, serial)
        assert len(iin) == 12 and check_digit_ok(iin)
        assert validate_iin(iin) == IinInfo(iin, birth, sex, century)
        assert validate_iin_or_bin(iin) == "IIN"


def test_make_iin_advances_serial_when_no_check_digit():
    # serial 0038 for this prefix admits no check digit (see IIN_PREFIX_NO_CHECK_DIGIT)
    assert make_iin(date(1986, 7, 17), "F", 38)[:11] == "86071740039"
    assert make_iin(date(1986, 7, 17), "F", 30) == IIN_SECOND_WEIGHTS


@pytest.mark.parametrize("entity_type", [4, 5, 6])
@pytest.mark.parametrize("kind", [0, 1, 2, 3])
def test_make_bin_round_trip(entity_type, kind):
    for year, month, serial in ((2004, 1, 1), (1981, 8, 1), (25, 12, 99999), (2010, 6, 80)):
        bin_ = make_bin(year, month, entity_type, kind, serial)
        assert validate_bin(bin_) == BinInfo(bin_, year % 100, month, entity_type, kind)
        assert validate_iin_or_bin(bin_) == "BIN"


def test_make_bin_defaults_and_example():
    assert make_bin(1981, 8) == BIN_EXAMPLE
    assert make_bin(1981, 8, serial=80) == BIN_SECOND_WEIGHTS


def test_make_rejects_bad_arguments():
    with pytest.raises(ValueError):
        make_iin(date(1986, 7, 17), "X", 1)
    with pytest.raises(ValueError):
        make_iin(date(2100, 1, 1), "M", 1)
    with pytest.raises(ValueError):
        make_bin(2020, 13)
    with pytest.raises(ValueError):
        make_bin(2020, 1, entity_type=7)


def _iin_with_check(first11: str) -> str:
    """Complete 11 digits with a correct check digit, so only the structure is wrong."""
    for d in range(10):
        if check_digit_ok(first11 + str(d)):
            return first11 + str(d)
    raise AssertionError(f"no check digit for {first11}")


@pytest.mark.parametrize(
    "value",
    [
        "860717450456",  # bad check digit
        "86071745045",  # wrong length
        "8607174504551",
        "86071745045x",
        _iin_with_check("86131745045"),  # month 13
        _iin_with_check("86023045045"),  # 30 February
        _iin_with_check("86000145045"),  # month 00
        _iin_with_check("86071745045"[:4] + "00" + "45045"),  # day 00
        _iin_with_check("87022945045"),  # 29 February 1987 (not a leap year)
        _iin_with_check("86071705045"),  # century/sex digit 0
        _iin_with_check("86071775045"),  # century/sex digit 7
        BIN_EXAMPLE,  # a BIN is not an IIN (day 40)
    ],
)
def test_validate_iin_invalid(value):
    with pytest.raises(ApiError) as exc:
        validate_iin(value)
    assert exc.value.code == "IIN_BIN_INVALID"
    assert exc.value.detail


@pytest.mark.parametrize(
    "value",
    [
        "810840000018",  # bad check digit
        "81084000001",  # wrong length
        _iin_with_check("81134000001"),  # month 13
        _iin_with_check("81004000001"),  # month 00
        _iin_with_check("81083000001"),  # entity-type digit 3
        _iin_with_check("81087000001"),  # entity-type digit 7
        _iin_with_check("81084400001"),  # kind digit 4
        IIN_EXAMPLE,  # an IIN is not a BIN (5th digit 1)
    ],
)
def test_validate_bin_invalid(value):
    with pytest.raises(ApiError) as exc:
        validate_bin(value)
    assert exc.value.code == "IIN_BIN_INVALID"


@pytest.mark.parametrize(
    "value,kind",
    [
        (IIN_EXAMPLE, "IIN"),
        (IIN_SECOND_WEIGHTS, "IIN"),
        (BIN_EXAMPLE, "BIN"),
        (BIN_SECOND_WEIGHTS, "BIN"),
    ],
)
def test_validate_iin_or_bin(value, kind):
    assert validate_iin_or_bin(value) == kind


@pytest.mark.parametrize(
    "value",
    [
        "860717450456",
        "810840000018",
        "",
        "abcdefghijkl",
        _iin_with_check("86131745045"),  # neither: month 13
        _iin_with_check("86073775045"),  # day 37 and 5th digit 3: neither reading
    ],
)
def test_validate_iin_or_bin_invalid(value):
    with pytest.raises(ApiError) as exc:
        validate_iin_or_bin(value)
    assert exc.value.code == "IIN_BIN_INVALID"
    assert exc.value.status == 422
