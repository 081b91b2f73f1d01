"""OAuth authenticator that refreshes HubSpot access tokens before they expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from airbyte_cdk.sources.declarative.auth.oauth import DeclarativeOauth2Authenticator
from airbyte_cdk.utils.datetime_helpers import AirbyteDateTime, ab_datetime_now

MAX_REFRESH_MARGIN = timedelta(minutes=5)
REFRESH_MARGIN_SHARE = 0.1


@dataclass
class PartnerClientOAuthAuthenticator(DeclarativeOauth2Authenticator):
    """DeclarativeOauth2Authenticator that treats a token as expired a little before expires_in.

    HubSpot access tokens last 30 minutes. Refreshing when 10% of a token's lifetime is left (at
    most 5 minutes) keeps requests that are already on their way from arriving with a token that
    has just expired. One instance serves every worker, so the whole sync shares one token.
    """

    _refresh_margin = timedelta(0)

    def set_token_expiry_date(self, value: AirbyteDateTime) -> None:
        super().set_token_expiry_date(value)
        lifetime = self.get_token_expiry_date() - ab_datetime_now()
        self._refresh_margin = max(
            timedelta(0), min(MAX_REFRESH_MARGIN, lifetime * REFRESH_MARGIN_SHARE)
        )

    def token_has_expired(self) -> bool:
        return ab_datetime_now() + self._refresh_margin > self.get_token_expiry_date()
