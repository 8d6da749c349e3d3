"""Geo restriction's country codes: which ``Location`` values CloudFront takes.

Plain Python (no moto). CloudFront's ``GeoRestriction.Items`` are "two-letter, uppercase"
ISO 3166-1 alpha-2 codes, one per country, the codes MaxMind uses
(https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GeoRestriction.html); a code that
is not one of them (``"UK"``, a country's name, a lower-case ``"cu"``) is answered with
``InvalidLocationCode`` ("The location code specified is not valid"), as the UpdateDistribution
error list names it (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistribution.html).
The API reference asks for upper case and documents no folding, so labkit refuses a lower-case
code rather than guessing: a learner learns the spelling the API documents, and never sees a
list that is stored but matches nobody.
"""

from __future__ import annotations

_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
"""
#: The officially assigned ISO 3166-1 alpha-2 codes (249).
ISO_3166_ALPHA2: frozenset[str] = frozenset(_CODES.split())

#: The restriction types the API takes (``blacklist``: a block list; ``whitelist``: an allow list).
RESTRICTION_TYPES = ("blacklist", "whitelist", "none")


def location_problem(code: object) -> str | None:
    """Why ``code`` is not a location CloudFront takes, or ``None`` when it is one."""
    if not isinstance(code, str) or not code:
        return f"{code!r} is not a country code"
    if code.upper() in ISO_3166_ALPHA2 and code != code.upper():
        return f"{code!r} is lower case: locations are upper-case ISO codes ({code.upper()!r})"
    if code not in ISO_3166_ALPHA2:
        return f"{code!r} is not an ISO 3166-1 alpha-2 country code (like 'CU' or 'GB')"
    return None


def blocks(restriction_type: str, locations: frozenset[str] | set[str], country: str) -> bool:
    """Whether a geo restriction refuses a viewer in ``country``."""
    if restriction_type == "whitelist":
        return country not in locations
    if restriction_type == "blacklist":
        return country in locations
    return False


__all__ = ["ISO_3166_ALPHA2", "RESTRICTION_TYPES", "blocks", "location_problem"]
