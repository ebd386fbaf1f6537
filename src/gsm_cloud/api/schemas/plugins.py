"""Request and response models of the plugin marketplace and of a server's installed plugins.

Money and ratings leave the API as strings with two decimals ("4.99", "4.50"), so no client
rounds them through a float. Prices are accepted as strings or integers (never JSON numbers
with decimals), with a currency (ISO 4217, USD unless given) whose decimals they fit.
"""

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from gsm_cli.services.plugin_package import CATEGORIES, NAME_PATTERN
from gsm_cloud.api.schemas.common import Model, Out, Text, UtcDateTime
from gsm_cloud.api.schemas.money import AmountIn, Currency, check

MAX_PRICE = Decimal("99999999.99")  # DECIMAL(10,2)
MAX_GAMES = 50
MAX_LONG_TEXT = 20_000  # description, installation guide, review
MAX_CHANGELOG = 20_000
NO_VERSION = "0.0.0"  # plugins.version of a listing that has no published version yet

_NUM = r"(0|[1-9][0-9]*)"
_PRE = r"(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
# Semantic versioning without build metadata: MAJOR.MINOR.PATCH[-prerelease]; two different
# strings never have the same precedence, so "the latest version" is always one version.
VERSION_PATTERN = rf"^{_NUM}\.{_NUM}\.{_NUM}(-{_PRE}(\.{_PRE})*)?$"
GAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _two_places(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _default_if_none(default: Any) -> BeforeValidator:
    return BeforeValidator(lambda value: default if value is None else value)


GameId = Annotated[
    Text(max_length=50, min_length=1),
    Field(pattern=GAME_PATTERN),
    AfterValidator(str.lower),
]
# A listing's name is its packages' name (gsm-plugin.toml's name): 1-128 letters, digits, _ or
# -, unique in the marketplace whatever the case (services/plugins.py checks it).
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=NAME_PATTERN),
    Field(description="1-128 letters, digits, _ or -; unique, any case"),
]
# The package format's categories (plugin_package.CATEGORIES). Listings made before keep theirs
# until an edit changes it.
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
LongText = Text(max_length=MAX_LONG_TEXT)
Price = AmountIn  # 0 (free) or more: checked with the currency (money.check)
Games = Annotated[list[GameId], Field(max_length=MAX_GAMES)]
Version = Annotated[Text(max_length=20, min_length=5), Field(pattern=VERSION_PATTERN)]
# Output: two decimals as a JSON string.
Decimal2 = Annotated[
    Decimal,
    PlainSerializer(_two_places, return_type=str, when_used="json"),
    _default_if_none(Decimal("0.00")),
]


def _unique(games: list[str]) -> list[str]:
    return list(dict.fromkeys(games))


class PluginCreate(Model):
    name: Name
    description: LongText | None = None
    category: Category
    price: Price = Decimal("0.00")
    currency: Currency = "USD"
    supported_games: Annotated[Games, AfterValidator(_unique)] = Field(
        default_factory=list, description="Game ids, e.g. minecraft, valheim"
    )
    installation_guide: LongText | None = None

    @model_validator(mode="after")
    def _price_fits_currency(self) -> "PluginCreate":
        self.price = check(self.price, self.currency, allow_zero=True)
        return self


class PluginUpdate(Model):
    """Only the fields given change; name, category, price, currency and supported_games
    cannot be null. A new price or currency must fit together (services.plugins checks it
    against the listing's other one)."""

    name: Name | None = None
    description: LongText | None = None
    category: Category | None = None
    price: Price | None = None
    currency: Currency | None = None
    supported_games: Annotated[Games, AfterValidator(_unique)] | None = None
    installation_guide: LongText | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> "PluginUpdate":
        for name in ("name", "category", "price", "currency", "supported_games"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PluginOut(Out):
    id: uuid.UUID
    name: str
    description: str | None
    version: str = Field(description=f'The latest published version; "{NO_VERSION}" until one')
    category: str
    price: Decimal2
    currency: Annotated[str, _default_if_none("USD")] = Field(description="ISO 4217")
    downloads: Annotated[int, _default_if_none(0)]
    rating: Decimal2 = Field(description="The average rating, 0.00 without ratings")
    review_count: Annotated[int, _default_if_none(0)]
    supported_games: Annotated[list[str], _default_if_none([])]
    is_verified: Annotated[bool, _default_if_none(False)]
    package_url: str | None = Field(
        description="The latest version's download path, relative to the API's base URL"
    )
    installation_guide: str | None
    created_at: UtcDateTime | None
    developer_id: uuid.UUID | None


class PluginSort(StrEnum):
    downloads = "downloads"
    rating = "rating"
    newest = "newest"


class PluginVersionOut(Out):
    id: uuid.UUID
    plugin_id: uuid.UUID
    version: str
    changelog: str | None
    sha256: str
    size_bytes: int
    created_at: UtcDateTime
    download_url: str = Field(description="Relative to the API's base URL")
    dependencies: dict[str, str] | None = Field(
        description="The package manifest's dependencies: plugin name -> semver range; null "
        "for a version published before packages were validated"
    )
    games: list[str] | None = Field(
        description="The game ids the package's manifest lists; null for a version published "
        "before packages were validated"
    )


class VersionForm(Model):
    """The form fields of POST /v1/plugins/{id}/versions, besides the file. The version is the
    package manifest's; when the form names one too, it must be the same."""

    version: Version | None = None
    changelog: Text(max_length=MAX_CHANGELOG) | None = None


# The multipart body of POST /v1/plugins/{id}/versions, for the OpenAPI document (the route
# streams the body itself rather than letting the framework spool it).
PUBLISH_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {
                    "version": {
                        "type": "string",
                        "minLength": 5,
                        "maxLength": 20,
                        "pattern": VERSION_PATTERN,
                        "description": "MAJOR.MINOR.PATCH[-prerelease], new for this "
                        "plugin; optional: the package manifest's version, which it must equal",
                    },
                    "changelog": {"type": "string", "maxLength": MAX_CHANGELOG},
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The package (docs/plugin-format.md), valid by "
                        "every rule; at most the server's limit",
                    },
                },
            }
        }
    },
}


class VerifyRequest(Model):
    verified: bool = True


class RatingIn(Model):
    rating: int = Field(ge=1, le=5)
    review: LongText | None = None


class RatingOut(Out):
    plugin_id: uuid.UUID
    user_id: uuid.UUID
    rating: int
    review: str | None
    created_at: UtcDateTime


class RatingResult(Model):
    """The caller's rating and the plugin's aggregate after it."""

    rating: RatingOut
    plugin_rating: Decimal2
    review_count: int


class InstallationOut(Out):
    id: uuid.UUID
    server_id: uuid.UUID | None
    plugin_id: uuid.UUID | None
    plugin_name: str | None = Field(description="The plugin's catalog name")
    latest_version: str | None = Field(description="The plugin's latest published version")
    installed_version: str | None
    installed_at: UtcDateTime | None
    configuration: dict[str, Any] | None
