"""Request and response models of communities and their members."""

import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from gsm_cloud.api.schemas.common import Email, JsonObject, Model, Out, Text, UtcDateTime

MemberRole = Literal["Owner", "Admin", "Moderator", "Member"]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Name = Annotated[
    Text(max_length=200, min_length=1),
    AfterValidator(_not_blank),
    Field(description="1 to 200 characters, not only spaces"),
]
Url = Annotated[
    Text(max_length=500),
    StringConstraints(pattern=r"^https?://\S+$"),
    Field(description="An http(s) URL of at most 500 characters"),
]
Description = Annotated[Text(max_length=10_000), Field(description="At most 10,000 characters")]


class CommunityCreate(Model):
    name: Name
    description: Description | None = None
    logo_url: Url | None = None
    banner_url: Url | None = None
    is_public: bool = True
    settings: JsonObject | None = None


class CommunityUpdate(Model):
    """Only the fields sent change. name and is_public cannot be null; the others can be
    cleared with null."""

    name: Name | None = None
    description: Description | None = None
    logo_url: Url | None = None
    banner_url: Url | None = None
    is_public: bool | None = None
    settings: JsonObject | None = None

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> "CommunityUpdate":
        for field in ("name", "is_public"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class CommunityOut(Out):
    id: uuid.UUID
    name: str
    description: str | None
    logo_url: str | None
    banner_url: str | None
    is_public: bool
    member_count: int
    settings: dict[str, Any] | None
    created_at: UtcDateTime | None
    owner_id: uuid.UUID | None
    my_role: MemberRole | None = Field(
        default=None, description="The caller's role in this community; null if not a member"
    )


class MemberOut(Out):
    user_id: uuid.UUID
    display_name: str
    role: MemberRole
    joined_at: UtcDateTime | None


class MemberRoleUpdate(Model):
    role: MemberRole


class JoinRequest(Model):
    code: Text(max_length=200, min_length=1) | None = Field(
        default=None, description="An invitation's code: needed to join a private community"
    )


class InvitationCreate(Model):
    email: Email | None = Field(
        default=None, description="Only the user with this email (any case) may use the code"
    )
    expires_in_seconds: int = Field(
        default=7 * 24 * 3600, ge=60, le=90 * 24 * 3600, description="60 s to 90 days"
    )
    max_uses: int = Field(default=1, ge=1, le=1000, description="How many users it admits")


InvitationState = Literal["active", "expired", "used", "revoked"]


class InvitationOut(Out):
    id: uuid.UUID
    community_id: uuid.UUID
    email: str | None
    max_uses: int
    uses: int
    expires_at: UtcDateTime
    revoked_at: UtcDateTime | None
    created_at: UtcDateTime
    created_by: uuid.UUID | None
    state: InvitationState = Field(
        description="revoked, used (no use left), expired or active: the first that holds"
    )


class InvitationCreated(InvitationOut):
    code: str = Field(
        description="The code to give the invitee: shown only here, the cloud keeps its hash"
    )
