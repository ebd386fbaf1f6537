"""Request and response models of communities and their members."""

import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from gsm_cloud.api.schemas.common import JsonObject, Model, Out, Text, UtcDateTime

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
