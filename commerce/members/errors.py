"""Members' typed refusals: an unknown member, and the verified phone's (codes, limits, SMS, the identity
level an action needs)."""

from __future__ import annotations

from commerce.errors import CommerceError
from ledger.errors import NotFound


class UnknownMember(NotFound):
    code = "unknown_member"


class PhoneInUse(CommerceError):
    code = "phone_in_use"


class WrongCode(CommerceError):
    code = "wrong_verification_code"


class CodeRequestedRecently(CommerceError):
    code = "verification_code_requested_recently"
    http_status = 429


class CodeExpired(CommerceError):
    code = "verification_code_expired"


class PhoneCodeLimit(CommerceError):
    """Too many codes sent to one phone number within the hour (whoever asked): ``wait_s`` until the next."""

    code = "verification_code_limit"
    http_status = 429


class IdentityRequired(CommerceError):
    """The action needs a higher identity level (``needed``: phone | operator) than the member has (``have``)."""

    code = "identity_required"
    http_status = 403


class SmsError(CommerceError):
    """The SMS gateway failed to take a message (see ``commerce.members.sms``)."""

    code = "sms_failed"
    http_status = 502


class SmsNotConfigured(SmsError):
    """No SMS sender is configured and codes may not be shown: sign-up by typed number is closed."""

    code = "sms_not_configured"
    http_status = 503
