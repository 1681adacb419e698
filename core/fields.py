from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models

UINT256_MAX = 2**256 - 1
UINT256_DIGITS = 78  # len(str(2**256 - 1))


class Uint256Field(models.CharField):
    """A token amount (uint256, in base units) exact on every database.

    SQLite keeps large NUMERICs as floats, so amounts are stored as zero-padded
    78-digit strings: equality, ordering and range lookups (`amount__gte=price`)
    stay exact and numeric. Python sees `int`. Sums are done in Python.
    """

    description = "Unsigned 256-bit integer"

    def __init__(self, *args, **kwargs):
        kwargs["max_length"] = UINT256_DIGITS
        super().__init__(*args, **kwargs)

    def check(self, **kwargs):
        return [*super().check(**kwargs), *self._check_default()]

    def _check_default(self):
        if self.has_default() and not callable(self.default) and not isinstance(self.default, int):
            return [checks.Error("Uint256Field default must be an int.", obj=self)]
        return []

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        return name, path, args, kwargs

    def to_python(self, value):
        if value is None or isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                raise ValidationError(f"{value!r} is not a whole number.", code="invalid") from None
        if number is not None and not 0 <= number <= UINT256_MAX:
            raise ValidationError("Amounts are between 0 and 2**256 - 1.", code="out_of_range")
        return number

    def from_db_value(self, value, expression, connection):
        return None if value is None else int(value)

    def get_prep_value(self, value):
        value = self.to_python(value)
        return None if value is None else str(value).zfill(UINT256_DIGITS)

    def validate(self, value, model_instance):
        # CharField's max_length validator would see the int; the range is checked in to_python.
        models.Field.validate(self, value, model_instance)

    def run_validators(self, value):
        pass

    def formfield(self, **kwargs):
        from django import forms

        options = {"form_class": forms.IntegerField, "min_value": 0, "max_value": UINT256_MAX, **kwargs}
        return models.Field.formfield(self, **options)
