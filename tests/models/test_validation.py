"""Validators for personal data and money, shared by forms, models and imports."""

import datetime as dt
from decimal import Decimal

import pytest

from app.validation import (
    InvalidValue,
    birth_date_from_id,
    gender_from_id,
    id_check_digit,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_money,
    normalize_phone,
)

# Published GB 11643 examples and numbers built with the check-digit rule.
VALID_IDS = ["11010519491231002X", "440524188001010014", "340102199001011236"]


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_id_numbers_are_accepted(number):
    assert normalize_id_number(number) == number


def test_id_number_is_stored_upper_case_without_spaces():
    assert normalize_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check digit
        "11010519491231002",  # 17 characters
        "1101051949123100211",  # 19 characters
        "11010519491331002X",  # month 13
        "110105194902300028",  # 30 February
        "11010530000101002X",  # born in the year 3000
        "A1010519491231002X",  # letter
        "",
    ],
)
def test_invalid_id_numbers_are_refused_with_a_message(number):
    with pytest.raises(InvalidValue) as exc:
        normalize_id_number(number)
    assert str(exc.value)


def test_check_digit_x():
    assert id_check_digit("11010519491231002") == "X"


def test_gender_and_birth_date_come_from_the_id_number():
    assert birth_date_from_id("11010519491231002X") == dt.date(1949, 12, 31)
    assert gender_from_id("11010519491231002X") == "female"  # 17th digit 2 is even
    assert gender_from_id("440524188001010014") == "male"


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "0551-64200001"])
def test_valid_phones(phone):
    assert normalize_phone(phone)


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "phone", "138123456789"])
def test_invalid_phones(phone):
    with pytest.raises(InvalidValue):
        normalize_phone(phone)


def test_money_is_non_negative_with_two_decimals():
    assert normalize_money("450") == Decimal("450")
    assert normalize_money("15.50") == Decimal("15.50")
    for bad in ("-1", "1.234", "abc", "NaN", "Infinity", "1e20"):
        with pytest.raises(InvalidValue):
            normalize_money(bad)


def test_masks_keep_only_what_identifies_nobody():
    assert mask_id_number("340102199001011236") == "340102********1236"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number(None) == "" and mask_phone("") == ""
