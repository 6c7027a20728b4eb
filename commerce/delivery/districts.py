"""Districts (시·군·구): where an address is, in the words shops use for the areas they serve.

A region is a few words — "서울 마포구", "경기 수원시 팔달구", "부산 중구" — and a shop serves an
address when every word of one of its areas is among the address's words: an area "수원시" serves
"경기 수원시 팔달구", "부산 중구" does not serve "서울 중구".

Typed addresses are read for their province (서울특별시 → 서울) and their 시/군/구 words. A shared
location (Telegram) is placed in the nearest district of a small built-in table of district centres
(Seoul, Busan and Suwon, where the cooperative's markets are), within ``NEAR_KM``; elsewhere the member
types the address instead. A location near a border may land in the neighbouring district: the member
sees the district on the confirmation and can change the address there.
"""

from __future__ import annotations

import math
import re

# Full province names as people write them → the short form shops and the table use.
PROVINCES = {
    "서울특별시": "서울",
    "서울시": "서울",
    "서울": "서울",
    "부산광역시": "부산",
    "부산시": "부산",
    "부산": "부산",
    "대구광역시": "대구",
    "대구": "대구",
    "인천광역시": "인천",
    "인천": "인천",
    "광주광역시": "광주",
    "대전광역시": "대전",
    "대전": "대전",
    "울산광역시": "울산",
    "울산": "울산",
    "세종특별자치시": "세종",
    "세종시": "세종",
    "경기도": "경기",
    "경기": "경기",
    "강원도": "강원",
    "강원특별자치도": "강원",
    "강원": "강원",
    "충청북도": "충북",
    "충북": "충북",
    "충청남도": "충남",
    "충남": "충남",
    "전라북도": "전북",
    "전북특별자치도": "전북",
    "전북": "전북",
    "전라남도": "전남",
    "전남": "전남",
    "경상북도": "경북",
    "경북": "경북",
    "경상남도": "경남",
    "경남": "경남",
    "제주특별자치도": "제주",
    "제주도": "제주",
    "제주": "제주",
}
_DISTRICT = re.compile(r"^[가-힣]{1,6}[시군구]$")

NEAR_KM = 6.0

# District centres (latitude, longitude): near the middle of where people live in each district.
CENTRES: dict[str, tuple[float, float]] = {
    "서울 종로구": (37.5735, 126.9790),
    "서울 중구": (37.5641, 126.9979),
    "서울 용산구": (37.5326, 126.9905),
    "서울 성동구": (37.5633, 127.0371),
    "서울 광진구": (37.5385, 127.0823),
    "서울 동대문구": (37.5744, 127.0400),
    "서울 중랑구": (37.6066, 127.0927),
    "서울 성북구": (37.5894, 127.0167),
    "서울 강북구": (37.6396, 127.0257),
    "서울 도봉구": (37.6688, 127.0471),
    "서울 노원구": (37.6542, 127.0568),
    "서울 은평구": (37.6027, 126.9291),
    "서울 서대문구": (37.5791, 126.9368),
    "서울 마포구": (37.5663, 126.9019),
    "서울 양천구": (37.5170, 126.8665),
    "서울 강서구": (37.5509, 126.8495),
    "서울 구로구": (37.4954, 126.8874),
    "서울 금천구": (37.4569, 126.8955),
    "서울 영등포구": (37.5264, 126.8962),
    "서울 동작구": (37.5124, 126.9393),
    "서울 관악구": (37.4784, 126.9516),
    "서울 서초구": (37.4837, 127.0324),
    "서울 강남구": (37.5172, 127.0473),
    "서울 송파구": (37.5145, 127.1059),
    "서울 강동구": (37.5301, 127.1238),
    "부산 중구": (35.1033, 129.0345),
    "부산 서구": (35.0875, 129.0150),
    "부산 동구": (35.1293, 129.0454),
    "부산 영도구": (35.0911, 129.0679),
    "부산 부산진구": (35.1631, 129.0532),
    "부산 동래구": (35.2049, 129.0837),
    "부산 남구": (35.1366, 129.0843),
    "부산 북구": (35.1972, 128.9903),
    "부산 해운대구": (35.1631, 129.1635),
    "부산 사하구": (35.1046, 128.9749),
    "부산 금정구": (35.2429, 129.0922),
    "부산 강서구": (35.2122, 128.9806),
    "부산 연제구": (35.1763, 129.0799),
    "부산 수영구": (35.1456, 129.1132),
    "부산 사상구": (35.1526, 128.9910),
    "부산 기장군": (35.2446, 129.2222),
    "경기 수원시 장안구": (37.3040, 127.0102),
    "경기 수원시 권선구": (37.2577, 126.9718),
    "경기 수원시 팔달구": (37.2826, 127.0197),
    "경기 수원시 영통구": (37.2595, 127.0465),
}


def words(region: str | None) -> frozenset[str]:
    """A region's words with provinces in their short form: "서울특별시 마포구" → {서울, 마포구}."""
    return frozenset(PROVINCES.get(w, w) for w in (region or "").split())


def serves(area: str, region: str | None) -> bool:
    """Whether a shop's area covers a region (every word of the area is one of the region's)."""
    needed = words(area)
    return bool(needed) and needed <= words(region)


def region_of(text: str) -> str | None:
    """The region an address names — its province and its 시/군/구 words, in order — or None when it
    names no 시/군/구 at all ("망원동 12" alone could be anywhere)."""
    province: str | None = None
    districts: list[str] = []
    for raw in re.split(r"[\s,()]+", text):
        word = raw.strip(".")
        if word in PROVINCES and not districts:
            province = PROVINCES[word]
        elif _DISTRICT.match(word) and word not in PROVINCES:
            districts.append(word)
        elif districts and word:
            break  # the road or 동 after the district: the region is complete
    if not districts:
        return None
    province = province or _province_of(districts)
    return " ".join([province, *districts] if province else districts)


def _province_of(districts: list[str]) -> str | None:
    """A district named without its province ("마포구 월드컵로"): the province, when the table knows
    exactly one district of that name."""
    matches = {name.split()[0] for name in CENTRES if words(name) >= frozenset(districts)}
    return matches.pop() if len(matches) == 1 else None


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def region_near(latitude: float, longitude: float) -> str | None:
    """The district whose centre is nearest a shared location, if one is within ``NEAR_KM``."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    name, distance = min(
        ((name, _km((latitude, longitude), centre)) for name, centre in CENTRES.items()), key=lambda x: x[1]
    )
    return name if distance <= NEAR_KM else None
