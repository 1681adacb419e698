from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

wallet_address_validator = RegexValidator(
    regex=r"^0x[0-9a-fA-F]{40}$",
    message="A wallet address is 0x followed by 40 hexadecimal digits.",
)


def normalize_wallet_address(address: str | None) -> str | None:
    """Addresses are stored lower-case, so one wallet can never be linked twice in two spellings."""
    if not address:
        return None
    address = address.strip()
    wallet_address_validator(address)
    return address.lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser needs is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person on Flowcast: signs in with an email address, may link one wallet."""

    username = None
    email = models.EmailField("email address", unique=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    wallet_address = models.CharField(
        max_length=42,
        unique=True,
        null=True,
        blank=True,
        validators=[wallet_address_validator],
        help_text="Linked Ethereum address, stored lower-case.",
    )
    display_name = models.CharField(max_length=80, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        constraints = [
            # Emails compare case-insensitively: Alice@x and alice@x are one person.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(wallet_address__isnull=True) | models.Q(wallet_address__regex=r"^0x[0-9a-f]{40}$"),
                name="accounts_user_wallet_lowercase_hex",
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)
        try:
            self.wallet_address = normalize_wallet_address(self.wallet_address)
        except ValidationError as error:
            raise ValidationError({"wallet_address": error.messages}) from None

    def save(self, *args, **kwargs):
        self.wallet_address = normalize_wallet_address(self.wallet_address)
        # set_password() keeps the new raw password until the save; every path that changes a password
        # (API, admin form, `changepassword`) ends here. Other sessions end by themselves: their
        # session hash no longer matches (the changing session keeps its own via update_session_auth_hash).
        password_changed = self._password is not None and self.pk is not None
        super().save(*args, **kwargs)
        if password_changed:
            from accounts.services import api_tokens_revoke_all

            api_tokens_revoke_all(user=self)


class TokenScope(models.TextChoices):
    """What a personal API token may do. Session users may do everything."""

    READ = "read", "read: every GET"
    UPLOAD = "upload", "upload: add videos and IPFS files"
    WRITE = "write", "write: change or delete what exists (videos, IPFS records), sign out"
    MANAGE_TOKENS = "manage-tokens", "manage-tokens: list, create and revoke tokens, change the password"


DEFAULT_TOKEN_SCOPES = [TokenScope.READ.value, TokenScope.UPLOAD.value]


def default_token_scopes() -> list[str]:
    return list(DEFAULT_TOKEN_SCOPES)


class ApiToken(models.Model):
    """A personal API token: shown once at creation, stored only as a SHA-256 hash.

    Tokens are 256-bit random strings, so a fast hash is enough (as GitHub and
    others do); `prefix` identifies a token in lists without revealing it.
    `scopes` (TokenScope values) say what it may do.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=default_token_scopes, help_text="TokenScope values, e.g. [\"read\", \"upload\"].")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class SiweNonce(models.Model):
    """A Sign-In with Ethereum nonce: issued to one session, used once, expires."""

    nonce = models.CharField(max_length=64, unique=True)
    session_key = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
