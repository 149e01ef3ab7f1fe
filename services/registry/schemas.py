"""Schemas of the registry's internal RPC inputs (its public ones are in `shared.api`)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields

from shared.codes import IdType


class IdentityQuerySchema(Schema):
    """One identity to resolve: `{"id_type": "01", "id_number": "11010519491231002X"}`."""

    class Meta:
        unknown = EXCLUDE

    id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value)
    id_number = fields.Str(load_default=None, allow_none=True)
