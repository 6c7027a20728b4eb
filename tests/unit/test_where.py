"""Districts and delivery windows: reading where an address is, and which windows a buyer is offered."""

from __future__ import annotations

import datetime as dt

import pytest

from commerce.delivery import addresses, districts, windows
from commerce.delivery.errors import WindowUnavailable
from commerce.delivery.windows import KST, Window
from commerce.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("서울특별시 마포구 월드컵로 12, 101동 1203호", "서울 마포구"),
        ("마포구 망원로 3", "서울 마포구"),  # the table knows one 마포구
        ("경기도 수원시 팔달구 정조로 5", "경기 수원시 팔달구"),
        ("수원시 팔달구 매산로 1", "경기 수원시 팔달구"),
        ("부산 중구 자갈치해안로 52", "부산 중구"),
        ("중구 을지로 1", "중구"),  # Seoul or Busan? left as typed: no shop area matches it by accident
        ("망원동 12-3", None),
    ],
)
def test_the_region_of_a_typed_address(typed: str, region: str | None) -> None:
    assert districts.region_of(typed) == region


def test_a_shop_area_serves_the_addresses_inside_it_only() -> None:
    assert districts.serves("수원시", "경기 수원시 팔달구")
    assert districts.serves("서울 마포구", "서울특별시 마포구")
    assert not districts.serves("부산 중구", "서울 중구")
    assert not districts.serves("서울 마포구", "서울 종로구")
    assert not districts.serves("", "서울 마포구")


def test_a_shared_location_lands_in_the_nearest_known_district() -> None:
    assert districts.region_near(37.5559, 126.9060) == "서울 마포구"  # 망원시장
    assert districts.region_near(37.2790, 127.0203) == "경기 수원시 팔달구"  # 못골시장
    assert districts.region_near(35.0967, 129.0306) == "부산 중구"  # 자갈치시장
    assert districts.region_near(36.5, 127.9) is None  # the middle of the country: type the address
    assert districts.region_near(91.0, 0.0) is None


@pytest.mark.parametrize(
    ("typed", "reason"), [("", "empty"), ("가" * 201, "too_long"), ("?!.,", "no_letters"), ("망원동 1", "no_district")]
)
def test_an_address_check_names_what_is_wrong(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        addresses.check_text(typed)
    assert caught.value.code == "invalid_address" and caught.value.data["reason"] == reason


def test_a_typed_address_splits_street_and_flat_by_line() -> None:
    assert addresses.split_typed("마포구 월드컵로 12\n101동 1203호") == ("마포구 월드컵로 12", "101동 1203호")
    assert addresses.split_typed("마포구 월드컵로 12, 101동") == ("마포구 월드컵로 12, 101동", "")


def test_a_recipient_is_a_name_and_a_mobile_number_in_either_order() -> None:
    assert addresses.parse_recipient("이영자 010-1234-5678") == ("이영자", "01012345678")
    assert addresses.parse_recipient("01012345678 김 영자") == ("김 영자", "01012345678")
    with pytest.raises(InvalidInput):
        addresses.parse_recipient("이영자")


def _at(day: int, hour: int, minute: int = 0) -> int:
    return int(dt.datetime(2026, 12, day, hour, minute, tzinfo=KST).timestamp() * 1000)


def test_windows_of_today_and_tomorrow_while_today_still_has_one() -> None:
    offered = windows.offered("09:00-19:00", "09-13,13-19", _at(8, 10))
    assert offered == [
        Window(_at(8, 9), _at(8, 13)),
        Window(_at(8, 13), _at(8, 19)),
        Window(_at(9, 9), _at(9, 13)),
        Window(_at(9, 13), _at(9, 19)),
    ]


def test_late_in_the_day_the_next_two_days_are_offered() -> None:
    offered = windows.offered("09:00-19:00", "", _at(8, 18, 30))  # 19:00 closes within the hour's lead
    assert offered == [Window(_at(9, 9), _at(9, 19)), Window(_at(10, 9), _at(10, 19))]


def test_a_past_or_unoffered_window_is_refused_with_what_is_offered() -> None:
    with pytest.raises(WindowUnavailable) as past:
        windows.check("09:00-19:00", "", Window(_at(7, 9), _at(7, 19)), _at(8, 10))
    assert past.value.data["reason"] == "past" and len(past.value.data["offered"]) == 2
    with pytest.raises(WindowUnavailable) as odd:
        windows.check("09:00-19:00", "", Window(_at(8, 20), _at(8, 22)), _at(8, 10))
    assert odd.value.data["reason"] == "not_offered"


@pytest.mark.parametrize("hours", ["9-18", "19:00-09:00", "25:00-26:00", ""])
def test_opening_hours_that_do_not_read_are_refused(hours: str) -> None:
    with pytest.raises(InvalidInput):
        windows.parse_hours(hours)
