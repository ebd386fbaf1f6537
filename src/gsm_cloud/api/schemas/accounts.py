"""Request and response models of auth, /v1/me and tokens."""

import uuid
from typing import Any

from pydantic import Field

from gsm_cloud.api.schemas.common import Email, JsonObject, Model, Out, Text, UtcDateTime


class LoginRequest(Model):
    email: Email
    password: Text(max_length=1024, min_length=1)


class TokenResponse(Out):
    access_token: str
    token_type: str = "bearer"
    token_id: uuid.UUID
    expires_at: UtcDateTime | None


class UserOut(Out):
    id: uuid.UUID
    email: str
    display_name: str
    role: str
    created_at: UtcDateTime | None
    last_seen: UtcDateTime | None
    profile: dict[str, Any] | None
    settings: dict[str, Any] | None


class UserUpdate(Model):
    display_name: Text(max_length=100, min_length=1) | None = None
    profile: JsonObject | None = None
    settings: JsonObject | None = None


class PersonalTokenCreate(Model):
    name: Text(max_length=100, min_length=1)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(Out):
    id: uuid.UUID
    name: str
    kind: str
    created_at: UtcDateTime
    expires_at: UtcDateTime | None
    last_used_at: UtcDateTime | None


class DeviceOut(Out):
    device_id: uuid.UUID = Field(description="The X-GSM-Device-Id it sent (its gsm store's id)")
    device_name: str | None = Field(description="The X-GSM-Device-Name it sent last")
    first_seen_at: UtcDateTime
    last_seen_at: UtcDateTime = Field(description="Moves at most once a minute")


class CurrentTokenOut(TokenOut):
    devices: list[DeviceOut] = Field(
        description="The devices that used this token, most recently seen first (at most 100)"
    )


class CreatedToken(TokenOut):
    token: str = Field(description="The token itself. Shown only in this response.")
