from ninja import Schema


class ErrorOut(Schema):
    """The one error shape of the API."""

    code: str
    message: str
    fields: dict[str, list[str]] = {}
