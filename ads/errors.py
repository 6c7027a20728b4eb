"""The ads' typed refusals: each has a stable code and the figures a chat needs to phrase it."""

from __future__ import annotations

from ledger.errors import ChestnutError, NotFound


class AdsError(ChestnutError):
    code = "ads_error"


class InvalidCampaign(AdsError):
    """A campaign field out of range (reward ≤ 0, a budget below one reward, an over-long message …)."""

    code = "ad_invalid_campaign"


class EmptyAudience(AdsError):
    """Nobody in the chosen audience has a valid consent for this ad: nothing to send, nothing moved."""

    code = "ad_empty_audience"


class BudgetOverBalance(AdsError):
    code = "ad_budget_over_balance"


class CampaignState(AdsError):
    """The campaign is not in a state that allows this (pausing an ended one, starting twice …)."""

    code = "ad_campaign_state"
    http_status = 409


class UnknownCampaign(AdsError, NotFound):
    code = "unknown_campaign"


class NoConsent(AdsError):
    """No valid consent for this ad now: missing, withdrawn, older than two years, or quiet hours."""

    code = "ad_no_consent"
    http_status = 403


class InvalidConsent(AdsError):
    code = "ad_invalid_consent"


class OpenTokenInvalid(AdsError):
    """An open button that no ad of ours carried for this member (forged, or another member's)."""

    code = "ad_open_token_invalid"
    http_status = 403


class OpenTokenReused(AdsError):
    """This member already opened this ad: the first open was paid (or thanked); later ones never are."""

    code = "ad_open_token_reused"
    http_status = 409


class InvalidBid(AdsError):
    code = "ad_invalid_bid"
